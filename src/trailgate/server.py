"""The ASGI application: ASGI messages in, HttpRequest through the pipeline, the reply out.

Everything AWS-specific happens in `pipeline.handle`; this module only speaks ASGI, serves the
`/_trailgate/` operator endpoints, and decides where a request runs: on SQLite, short requests
run on the event loop itself (their SQLite statements take microseconds; a thread hand-off and
GIL contention cost more), and streamed bodies, S3 writes of blob files (fsyncs), `blocking`
operations and, on PostgreSQL, every request run in worker threads (`pipeline.may_run_on_loop`).
Either way the request's commits do not wait for their WAL sync where they run: the response
waits for it here (`DeferredDurability`; store.walsync says who runs the sync).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

from trailgate.config import Config
from trailgate.http import Headers, HttpRequest, HttpResponse
from trailgate.store.db import DeferredDurability, deferring_durability

log = logging.getLogger("trailgate.server")

# Bodies above this size are streamed to the operation instead of read into memory.
_BUFFER_LIMIT = 1 << 20

Scope = dict[str, Any]


class TrailgateApp:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.runtime: Any = None
        # The loop serving this process's requests (set at startup): asyncio.get_running_loop()
        # costs a getpid system call per request.
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self.runtime is None:
            # Under a server without lifespan support, start on first request.
            await anyio.to_thread.run_sync(self._start)
        request = await self._build_request(scope, receive)
        if request.path.startswith("/_trailgate/"):
            response = await self._internal(request)
        elif _is_console(request, self.config.s3_host_suffixes):
            from trailgate.console.app import handle as console

            response = await anyio.to_thread.run_sync(console, self.runtime, request)
        else:
            response = await self._api(request)
        await self._send(send, response, head=request.method == "HEAD")

    async def _api(self, request: HttpRequest) -> HttpResponse:
        from trailgate import pipeline

        route = pipeline.route_request(self.runtime, request)
        # Commits do not wait for their WAL sync where the request runs; the response waits for
        # it here, and one sync serves every commit before it (store.walsync: once per loop
        # iteration, run by the helper process or the loop itself, or by the syncing thread).
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        deferred = DeferredDurability(loop)
        if self.runtime.serve_on_loop and pipeline.may_run_on_loop(route, request):
            # On the loop: no thread hand-off, and no contention with request threads for the
            # GIL while holding the database's write lock.
            with deferring_durability(deferred):
                response = pipeline.handle(self.runtime, request, route)
        else:

            def in_thread() -> HttpResponse:
                with deferring_durability(deferred):
                    return pipeline.handle(self.runtime, request, route)

            response = await anyio.to_thread.run_sync(in_thread)
        if deferred.pending:
            try:
                await deferred.wait()
            except Exception:
                log.exception("a commit could not be made durable")
                return pipeline.unacknowledged(request, route)
        return response

    def _start(self) -> None:
        if self.runtime is None:
            from trailgate.runtime import Runtime

            self.runtime = Runtime.open(self.config)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._loop = asyncio.get_running_loop()
                try:
                    await anyio.to_thread.run_sync(self._start)
                except Exception as exc:  # reported to uvicorn, which stops
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                self._start_syncer(self._loop)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.runtime is not None:
                    wal_sync = self.runtime.db.wal_sync
                    if wal_sync is not None:
                        wal_sync.stop_syncer()
                    await anyio.to_thread.run_sync(self.runtime.close)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _start_syncer(self, loop: asyncio.AbstractEventLoop) -> None:
        """SQLite: this loop's WAL fsyncs run in a helper process (store/syncer.py) unless
        TRAILGATE_WAL_SYNCER=off; if it cannot start, the loop and threads sync themselves."""
        from trailgate.store.walsync import syncer_enabled

        wal_sync = self.runtime.db.wal_sync
        if wal_sync is None or not syncer_enabled():
            return
        try:
            wal_sync.start_syncer(loop)
        except OSError:
            log.exception("the WAL syncer process did not start; fsyncs stay in this process")

    async def _build_request(self, scope: Scope, receive: Any) -> HttpRequest:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        raw = raw_path.decode("latin-1")
        absolute_host = None
        if raw.startswith(("http://", "https://")):
            # Proxy (absolute) form: route by the URI's host, sign over its path.
            parts = urlsplit(raw)
            absolute_host = parts.netloc
            raw = parts.path or "/"
        headers = Headers(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])
        )
        client = scope.get("client") or ("127.0.0.1", 0)
        request = HttpRequest(
            method=scope["method"],
            raw_path=raw,
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            client_ip=client[0],
            scheme=scope.get("scheme", "http"),
            absolute_host=absolute_host,
        )
        length = headers.get("content-length")
        chunked = "chunked" in (headers.get("transfer-encoding") or "").lower()
        if (length is not None and int(length) > _BUFFER_LIMIT) or chunked:
            request.body = None
            request.stream = _receive_stream(receive)
        else:
            request.body = await _read_body(receive)
        return request

    async def _internal(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if path == "/_trailgate/health":
            body = {"status": "ok", "managementAccountId": self.runtime.management_account_id}
            return _json(200, body)
        if path == "/_trailgate/clock" and request.method == "POST" and self.config.test_clock:
            data = json.loads(request.body or b"{}")
            now = self.runtime.clock.advance(float(data.get("advance", 0)))
            return _json(200, {"now": now.isoformat()})
        return _json(404, {"error": "not found"})

    async def _send(self, send: Any, response: HttpResponse, *, head: bool) -> None:
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        if response.stream is None and not any(k == b"content-length" for k, _ in headers):
            headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if head:
            await send({"type": "http.response.body", "body": b""})
            return
        if response.stream is not None:
            async for chunk in response.stream:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.body", "body": response.body})


def _is_console(request: HttpRequest, s3_host_suffixes: tuple[str, ...]) -> bool:
    """The web console's paths. Signed S3 requests (a bucket named "console"), proxy-form
    requests and virtual-hosted-style requests (<bucket>.<suffix>) stay S3."""
    path = request.path
    if path != "/console" and not path.startswith("/console/"):
        return False
    if "authorization" in request.headers or request.absolute_host is not None:
        return False
    hostname = request.host.rsplit(":", 1)[0].lower() if request.host else ""
    if any(hostname.endswith("." + suffix) for suffix in s3_host_suffixes):
        return False
    query = request.query_string
    return "X-Amz-Signature=" not in query and "Signature=" not in query


async def _read_body(receive: Any) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _receive_stream(receive: Any) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body = message.get("body", b"")
        if body:
            yield body
        if not message.get("more_body"):
            return


def _json(status: int, body: object) -> HttpResponse:
    data = json.dumps(body).encode()
    return HttpResponse(status, [("content-type", "application/json")], data)


def create_app() -> TrailgateApp:
    """uvicorn's factory: each worker process builds its app from the environment's config."""
    return TrailgateApp(Config.from_env())
