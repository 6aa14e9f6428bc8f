"""CloudTrail recording and delivery throughput, and what recording adds to a GetCallerIdentity.
No timed assertions; prints the figures.

(a) recorded events/s: many threads call `Recorder.record` at once on a real store (SQLite in a
    temp dir, or --database-url); each call returns only after its event is committed, and the
    writer commits whatever accumulated as one transaction (group commit);
(b) delivered events/s: the delivery worker turns the queued events into gzipped log files in
    a bucket, through S3's authorization, and confirms them;
(c) GetCallerIdentity over HTTP against two servers started from the same store layout, one
    recording and one with TRAILGATE_TRAIL_RECORDING=off (the baseline), measured in
    alternating rounds so load changes on the machine hit both alike. The request is signed
    once by botocore and replayed on keep-alive connections, so the client costs little CPU.

    python bench/trail_bench.py [--events 40000] [--threads 128] [--seconds 3] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import trailgate.pipeline  # noqa: F401 - registers every service's operations
from trailgate.auth.principal import Principal
from trailgate.calls import ApiCall
from trailgate.config import Config
from trailgate.runtime import Runtime
from trailgate.services import registry
from trailgate.services.registry import CallContext
from trailgate.services.s3.internal import call_as
from trailgate.store.db import deferring_durability
from trailgate.testing.server import (
    ServerProcess,
    create_database,
    drop_database,
    start_server,
)
from trailgate.trail.delivery import DeliveryWorker
from trailgate.trail.recorder import RECORDING_ENV

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import process_cpu_seconds


def _call(principal: Principal, i: int) -> ApiCall:
    return ApiCall(
        service="sts",
        operation="GetCallerIdentity",
        request_id=f"bench-{i}",
        event_time=datetime.now(UTC),
        principal=principal,
        access_key_id=principal.access_key_id,
        source_ip="127.0.0.1",
        user_agent="Boto3/1.44.8 md/Botocore#1.44.8 ua/2.1 os/linux lang/python#3.11.7",
        region="us-east-1",
        params={},
        output={"UserId": principal.principal_id, "Account": principal.account_id,
                "Arn": principal.arn},
        read_only=True,
    )


def _setup_trail(rt: Runtime) -> str:
    account = rt.management_account_id
    root = Principal.root(account)
    bucket = f"bench-trail-{account}"
    arn = f"arn:aws:cloudtrail:us-east-1:{account}:trail/bench"
    call_as(rt, root, "CreateBucket", {"Bucket": bucket}, record=False)
    policy = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":'
        '"cloudtrail.amazonaws.com"},"Action":["s3:GetBucketAcl","s3:PutObject"],"Resource":'
        f'["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/AWSLogs/{account}/*"]}}]}}'
    )
    call_as(rt, root, "PutBucketPolicy", {"Bucket": bucket, "Policy": policy}, record=False)
    ctx = CallContext(runtime=rt, principal=root, request_id="bench", now=rt.clock.now(),
                      region="us-east-1", source_ip="127.0.0.1", user_agent="bench")
    for op, params in (
        ("CreateTrail", {"Name": "bench", "S3BucketName": bucket}),
        ("StartLogging", {"Name": "bench"}),
    ):
        spec = registry.lookup("cloudtrail", op)
        assert spec is not None
        spec.func(ctx, params)
    del arn
    return bucket


def bench_in_process(events: int, threads: int, database_url: str | None) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="trail-bench-"))
    # A PostgreSQL URL names the server: the bench works in a database of its own.
    own_database = create_database(database_url) if database_url else None
    rt = Runtime.open(Config(data_dir=data_dir, database_url=own_database,
                             trail_delivery_interval=0.1, digest_interval=3600))
    rt.delivery.stop()  # delivery is measured on its own below
    try:
        _setup_trail(rt)
        principal = Principal.iam_user(
            rt.management_account_id, "bench", "AIDABENCHEXAMPLE00001",
            access_key_id="AKIABENCHEXAMPLE0001",
        )  # fmt: skip
        calls = [_call(principal, i) for i in range(events)]
        built = time.perf_counter()
        for call in calls[:2000]:
            rt.recorder.rows_for(call)
        build_us = (time.perf_counter() - built) / 2000 * 1e6

        per_thread = events // threads
        recorder = rt.recorder
        batches_before = recorder.stats.batches

        def work(chunk: list[ApiCall]) -> None:
            for call in chunk:
                recorder.record(call)

        workers = [
            threading.Thread(target=work, args=(calls[i * per_thread:(i + 1) * per_thread],))
            for i in range(threads)
        ]
        started = time.perf_counter()
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        elapsed = time.perf_counter() - started
        recorded = per_thread * threads
        batches = recorder.stats.batches - batches_before
        print(f"(a) recorded:  {recorded / elapsed:10,.0f} events/s  ({recorded} events, "
              f"{threads} threads, {batches} commits, {recorded / max(1, batches):.1f} "
              f"events/commit; building a record {build_us:.0f} us)")

        # (a2) The server's own path: calls served on the event loop hand their rows to the
        # committer thread and await durability without blocking the loop.
        loop_calls = [_call(principal, events + i) for i in range(events)]
        concurrency = threads
        per_task = events // concurrency

        async def serve(chunk: list[ApiCall]) -> None:
            for call in chunk:
                with deferring_durability() as deferred:
                    recorder.record(call)
                await deferred.wait()

        async def run_all() -> None:
            await asyncio.gather(*(
                serve(loop_calls[i * per_task:(i + 1) * per_task]) for i in range(concurrency)
            ))

        started = time.perf_counter()
        asyncio.run(run_all())
        elapsed = time.perf_counter() - started
        recorded = per_task * concurrency
        print(f"(a2) recorded on the event loop: {recorded / elapsed:10,.0f} events/s  "
              f"({recorded} events, {concurrency} concurrent calls, each awaiting its fsync)")

        worker = DeliveryWorker(rt)
        assert worker.take_lease()
        started = time.perf_counter()
        delivered = files = 0
        while True:
            report = worker.run_once(force=True)
            delivered += report.events
            files += report.log_files
            if report.events == 0:
                break
        elapsed = time.perf_counter() - started
        print(f"(b) delivered: {delivered / elapsed:10,.0f} events/s  ({delivered} events in "
              f"{files} files, {elapsed:.2f} s)")
        worker.stop()
    finally:
        rt.close()
        if own_database:
            drop_database(own_database)


# --- (c) over HTTP ------------------------------------------------------------------------------


def _signed_request(server: ServerProcess) -> tuple[str, str, dict[str, str], bytes]:
    creds = Credentials(server.root["RootAccessKeyId"], server.root["RootSecretAccessKey"])
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    request = AWSRequest(
        method="POST",
        url=f"{server.endpoint}/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(creds, "sts", "us-east-1").add_auth(request)
    headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
    parts = urlsplit(server.endpoint)
    return parts.netloc, "/", headers, body


def _round(
    server: ServerProcess, connections: int, seconds: float
) -> tuple[float, float, float]:
    """(requests/s, mean latency ms, server CPU us per request) of `connections` keep-alive
    clients for `seconds`."""
    host, path, headers, body = _signed_request(server)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    stop = time.perf_counter() + seconds

    def client(slot: list[float]) -> None:
        conn = http.client.HTTPConnection(host, timeout=30)
        while time.perf_counter() < stop:
            began = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GetCallerIdentity answered {response.status}")
            slot.append(time.perf_counter() - began)
        conn.close()

    threads = [threading.Thread(target=client, args=(slot,)) for slot in latencies]
    cpu_before = process_cpu_seconds(server.process.pid)
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    cpu = process_cpu_seconds(server.process.pid) - cpu_before
    every = [x for slot in latencies for x in slot]
    return len(every) / elapsed, statistics.fmean(every) * 1000, cpu / len(every) * 1e6


def bench_http(seconds: float, rounds: int, database_url: str | None) -> None:
    base = os.environ.copy()
    extra = ["--trail-delivery-interval", "300"]
    servers = {}
    for label, value in (("recording", "on"), ("baseline", "off")):
        env = {**base, RECORDING_ENV: value}
        kwargs: dict[str, Any] = {"extra_args": extra, "env": env}
        if database_url:
            kwargs["database_url"] = create_database(database_url)
        servers[label] = start_server(**kwargs)
    try:
        for connections in (1, 8, 32):
            figures: dict[str, list[tuple[float, float, float]]] = {
                "recording": [], "baseline": []
            }
            for server in servers.values():
                _round(server, connections, 0.5)  # warm-up
            for _ in range(rounds):
                for label in ("baseline", "recording"):
                    figures[label].append(_round(servers[label], connections, seconds))
            rate = {k: statistics.median(f[0] for f in v) for k, v in figures.items()}
            latency = {k: statistics.median(f[1] for f in v) for k, v in figures.items()}
            cpu = {k: statistics.median(f[2] for f in v) for k, v in figures.items()}
            added = (latency["recording"] - latency["baseline"]) / latency["baseline"] * 100
            drop = (rate["baseline"] - rate["recording"]) / rate["baseline"] * 100
            cpu_added = (cpu["recording"] - cpu["baseline"]) / cpu["baseline"] * 100
            print(
                f"(c) GetCallerIdentity, {connections} connection(s): baseline "
                f"{rate['baseline']:,.0f} req/s {latency['baseline']:.2f} ms "
                f"{cpu['baseline']:.0f} us CPU; recording {rate['recording']:,.0f} req/s "
                f"{latency['recording']:.2f} ms {cpu['recording']:.0f} us CPU -> recording "
                f"adds {added:+.1f}% latency, {drop:+.1f}% fewer requests/s, "
                f"{cpu_added:+.1f}% server CPU per call"
            )
    finally:
        for server in servers.values():
            server.stop()
            if server.database_url:
                drop_database(server.database_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--threads", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--database-url", default=os.environ.get("TRAILGATE_BENCH_DATABASE_URL"))
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    store = "PostgreSQL" if args.database_url else "SQLite"
    print(f"store: {store}")
    bench_in_process(args.events, args.threads, args.database_url)
    if not args.skip_http:
        bench_http(args.seconds, args.rounds, args.database_url)


if __name__ == "__main__":
    main()
