"""Test helpers: real SDK-signed requests turned into trailgate HttpRequests, and a resolver."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

from trailgate.auth import CredentialRecord, Principal
from trailgate.http import Headers, HttpRequest

ACCOUNT = "123456789012"
USER_KEY = "AKIAUSEREXAMPLE00001"
USER_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ROOT_KEY = "AKIAROOTEXAMPLE00001"
ROOT_SECRET = "rootSecret/+=with+special/chars"
SESSION_KEY = "ASIASESSIONEXAMPLE01"
SESSION_SECRET = "sessionSecretKeyExample/abc+def"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE//token+with/slashes=="
INACTIVE_KEY = "AKIAINACTIVEEXAMPLE1"


def now() -> datetime:
    return datetime.now(UTC)


def make_records(session_expires: datetime | None = None) -> dict[str, CredentialRecord]:
    issued = now() - timedelta(minutes=5)
    expires = session_expires or now() + timedelta(hours=1)
    user = Principal.iam_user(ACCOUNT, "alice", "AIDAALICEEXAMPLE0001", access_key_id=USER_KEY)
    session = Principal.assumed_role(
        ACCOUNT,
        "reader",
        "AROAREADEREXAMPLE001",
        "sess-1",
        access_key_id=SESSION_KEY,
        token_issue_time=issued,
        expires_at=expires,
    )
    return {
        USER_KEY: CredentialRecord(USER_KEY, USER_SECRET, user),
        ROOT_KEY: CredentialRecord(ROOT_KEY, ROOT_SECRET, Principal.root(ACCOUNT)),
        SESSION_KEY: CredentialRecord(
            SESSION_KEY, SESSION_SECRET, session, session_token=SESSION_TOKEN, expires_at=expires
        ),
        INACTIVE_KEY: CredentialRecord(INACTIVE_KEY, USER_SECRET, user, active=False),
    }


def resolver(records: dict[str, CredentialRecord] | None = None) -> Callable[[str], Any]:
    table = records if records is not None else make_records()
    return table.get


def host_of(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if parts.port is not None and parts.port != default:
        host = f"{host}:{parts.port}"
    return host


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def from_botocore(request: AWSRequest, *, body: bytes | None = None) -> HttpRequest:
    """What the server receives for a botocore request (urllib3 adds Host)."""
    parts = urlsplit(request.url)
    items = [(name, _text(value)) for name, value in request.headers.items()]
    if not any(name.lower() == "host" for name, _ in items):
        items.append(("Host", host_of(request.url)))
    if body is None:
        raw = request.body
        if hasattr(raw, "read"):
            position = raw.tell()
            raw = raw.read()
            request.body.seek(position)
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        body = raw or b""
    return HttpRequest(
        method=request.method,
        raw_path=parts.path or "/",
        query_string=parts.query,
        headers=Headers(items),
        body=body,
        scheme=parts.scheme,
    )


def from_url(method: str, url: str, headers: dict[str, str] | None = None) -> HttpRequest:
    """A presigned URL fetched by a plain HTTP client."""
    parts = urlsplit(url)
    items = [("Host", host_of(url)), *(headers or {}).items()]
    return HttpRequest(
        method=method,
        raw_path=parts.path or "/",
        query_string=parts.query,
        headers=Headers(items),
        body=b"",
        scheme=parts.scheme,
    )


def from_boto2(request: Any, host_header: str) -> HttpRequest:
    """A boto 2 HTTPRequest after add_auth, as httplib would send it."""
    path, _, query = request.path.partition("?")
    items = [(name, _text(str(value))) for name, value in request.headers.items()]
    if not any(name.lower() == "host" for name, _ in items):
        items.append(("Host", host_header))
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return HttpRequest(
        method=request.method,
        raw_path=path,
        query_string=query,
        headers=Headers(items),
        body=body,
    )


def credentials(key: str = USER_KEY, secret: str = USER_SECRET, token: str | None = None):
    return Credentials(key, secret, token)


def botocore_request(
    method: str, url: str, *, headers: dict[str, str] | None = None, data: bytes = b""
) -> AWSRequest:
    return AWSRequest(method=method, url=url, headers=headers or {}, data=data)


class _EmptyRaw:
    def stream(self, **_: object):
        return iter([b""])


def capture(
    service: str,
    call: Callable[[Any], Any],
    *,
    endpoint: str = "http://127.0.0.1:9000",
    key: str = USER_KEY,
    secret: str = USER_SECRET,
    token: str | None = None,
    region: str = "us-east-1",
    config: Config | None = None,
    status: int = 200,
    response_body: bytes = b"",
) -> list[HttpRequest]:
    """Run `call(client)` against a dummy endpoint; return exactly what the SDK would have sent."""
    sent: list[HttpRequest] = []

    def before_send(request: Any, **_: object) -> AWSResponse:
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif hasattr(body, "read"):
            body = body.read()
        elif body is not None and not isinstance(body, bytes | bytearray):
            body = b"".join(body)  # a generator-backed streaming body
        sent.append(from_botocore(request, body=bytes(body or b"")))
        raw = _EmptyRaw() if not response_body else _BodyRaw(response_body)
        return AWSResponse(request.url, status, {}, raw)

    session = boto3.session.Session(
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        region_name=region,
    )
    client = session.client(service, endpoint_url=endpoint, config=config)
    client.meta.events.register("before-send", before_send)
    # The fake response may not parse; the request has been captured by then.
    with contextlib.suppress(Exception):
        call(client)
    return sent


class _BodyRaw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: object):
        yield self._body


def body_stream(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
