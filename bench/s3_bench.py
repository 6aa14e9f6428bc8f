"""S3 benchmark: trailgate against moto's server, a bare uvicorn app and the raw disk, in one run.

Measured (operations per second; nothing here asserts a number):

- GetObject and PutObject of 1 KiB and ListObjectsV2 over 1,000 keys, driven by boto3 clients
  in threads, against trailgate and against `moto_server`;
- presigned GET of a 1 KiB object under wrk, against trailgate, moto and a bare uvicorn app that
  answers 1 KiB from memory (the ceiling of the HTTP stack alone), one process and, with
  `--workers N`, also N processes like trailgate's;
- the raw rate of durably writing 1 KiB files (write, fsync, rename, fsync of the directory) on
  the disk holding trailgate's data, sequentially and with the same thread count as PutObject.

Then the ratios the project aims for are printed: GetObject >= 25x moto and >= 30% of the bare
app, durable PutObject >= 50% of the raw file rate.

    .venv/bin/python bench/s3_bench.py [--seconds 5] [--threads 4] [--wrk-connections 32]

Needs `wrk` (apt-get install wrk) and moto's server (pip install "moto[server]"); a missing one
is reported and its figures skipped.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trailgate.testing.server import ServerProcess, free_port, start_server

BODY = os.urandom(1024)
BUCKET = "bench-bucket"
LIST_KEYS = 1000


def client(endpoint: str, key: str, secret: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                      max_pool_connections=64),
    )


def rate(call: Callable[[Any, int], None], make_client: Callable[[], Any], threads: int,
         seconds: float) -> float:
    """Calls per second of `call(client, n)` from `threads` threads for `seconds`."""
    deadline = time.perf_counter() + seconds
    counts = [0] * threads
    errors: list[BaseException] = []

    def work(index: int) -> None:
        own = make_client()
        n = 0
        try:
            while time.perf_counter() < deadline:
                call(own, n)
                n += 1
        except BaseException as exc:  # reported after the run
            errors.append(exc)
        counts[index] = n

    start = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"benchmark call failed: {errors[0]!r}")
    return sum(counts) / elapsed


def boto_suite(name: str, make_client: Callable[[], Any], threads: int,
               seconds: float) -> dict[str, float]:
    setup = make_client()
    setup.create_bucket(Bucket=BUCKET)
    setup.put_object(Bucket=BUCKET, Key="one-kib", Body=BODY)
    for i in range(LIST_KEYS):
        setup.put_object(Bucket=BUCKET, Key=f"list/{i:05d}", Body=b"")
    prefix = secrets.token_hex(4)
    results = {
        "GetObject 1 KiB": rate(
            lambda c, n: c.get_object(Bucket=BUCKET, Key="one-kib")["Body"].read(),
            make_client, threads, seconds),
        "PutObject 1 KiB": rate(
            lambda c, n: c.put_object(Bucket=BUCKET, Key=f"put/{prefix}/{threading.get_ident()}"
                                      f"/{n}", Body=BODY),
            make_client, threads, seconds),
        "ListObjectsV2 1,000 keys": rate(
            lambda c, n: c.list_objects_v2(Bucket=BUCKET, Prefix="list/"),
            make_client, threads, seconds),
    }
    for op, value in results.items():
        print(f"  {name:10s} {op:26s} {value:10.1f} ops/s", flush=True)
    return results


PUT_SCRIPT = textwrap.dedent(
    """
    wrk.method = "PUT"
    wrk.body = string.rep("x", 1024)
    """
)


def wrk_rate(
    url: str, seconds: float, connections: int, script: Path | None = None
) -> float | None:
    if shutil.which("wrk") is None:
        return None
    args = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{max(1, int(seconds))}s", url]
    if script is not None:
        args[1:1] = ["-s", str(script)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non_2xx:
        print(f"  warning: {non_2xx.group(1)} failed responses from {url.split('?')[0]}")
    return float(match.group(1)) if match else None


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def start_moto() -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    if not Path(binary).exists():
        return None
    port = free_port()
    process = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    wait_http(f"{endpoint}/")
    return process, endpoint


BARE_APP = textwrap.dedent(
    """
    BODY = b"x" * 1024
    HEADERS = [(b"content-type", b"binary/octet-stream"), (b"content-length", b"1024")]

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": BODY})
    """
)


def start_bare_app(workdir: Path, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    (workdir / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    extra = ["--workers", str(workers)] if workers > 1 else []
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1", "--port",
         str(port), "--log-level", "warning", "--no-access-log", *extra],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_http(f"{endpoint}/")
    return process, endpoint


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def raw_file_rate(directory: Path, threads: int, seconds: float) -> float:
    """Durable 1 KiB file writes per second: write, fsync, rename, fsync the directory."""
    tmp = directory / "tmp"
    final = directory / "final"
    tmp.mkdir(parents=True, exist_ok=True)
    final.mkdir(parents=True, exist_ok=True)
    deadline = time.perf_counter() + seconds
    counts = [0] * threads

    def work(index: int) -> None:
        n = 0
        dir_fd = os.open(final, os.O_RDONLY | os.O_DIRECTORY)
        try:
            while time.perf_counter() < deadline:
                name = f"{index}-{n}"
                path = tmp / name
                with open(path, "wb") as f:
                    f.write(BODY)
                    f.flush()
                    os.fsync(f.fileno())
                os.rename(path, final / name)
                os.fsync(dir_fd)
                n += 1
        finally:
            os.close(dir_fd)
        counts[index] = n

    start = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - start)


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "n/a"
    return f"{a / b:.2f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--wrk-connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1,
                        help="trailgate serve --workers N (worker processes sharing one store)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="s3-bench-"))
    trailgate: ServerProcess | None = None
    moto: tuple[subprocess.Popen[bytes], str] | None = None
    bare: subprocess.Popen[bytes] | None = None
    results: dict[str, Any] = {}
    try:
        print("== boto3 clients, "
              f"{args.threads} threads, {args.seconds:.0f} s per operation", flush=True)
        extra = ["--workers", str(args.workers)] if args.workers > 1 else None
        trailgate = start_server(data_dir=workdir / "trailgate", extra_args=extra)
        print(f"  trailgate: {args.workers} worker process(es)")
        root = trailgate.root
        tg_client = lambda: client(trailgate.endpoint, root["RootAccessKeyId"],  # noqa: E731
                                   root["RootSecretAccessKey"])
        results["trailgate"] = boto_suite("trailgate", tg_client, args.threads, args.seconds)
        moto = start_moto()
        if moto is None:
            print("  moto_server not found: pip install 'moto[server]'")
        else:
            moto_client = lambda: client(moto[1], "testing", "testing")  # noqa: E731
            results["moto"] = boto_suite("moto", moto_client, args.threads, args.seconds)

        print(f"== presigned GET of 1 KiB under wrk, {args.wrk_connections} connections",
              flush=True)
        url = tg_client().generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": "one-kib"}, ExpiresIn=3600)
        wrk = {"trailgate": wrk_rate(url, args.seconds, args.wrk_connections)}
        if moto is not None:
            moto_url = client(moto[1], "testing", "testing").generate_presigned_url(
                "get_object", Params={"Bucket": BUCKET, "Key": "one-kib"}, ExpiresIn=3600)
            wrk["moto"] = wrk_rate(moto_url, args.seconds, args.wrk_connections)
        bare, bare_endpoint = start_bare_app(workdir)
        wrk["bare uvicorn"] = wrk_rate(f"{bare_endpoint}/one-kib", args.seconds,
                                       args.wrk_connections)
        stop(bare)
        bare = None
        if args.workers > 1:
            # The like-for-like ceiling: as many bare processes as trailgate has workers.
            bare, bare_endpoint = start_bare_app(workdir, args.workers)
            wrk[f"bare x{args.workers}"] = wrk_rate(f"{bare_endpoint}/one-kib", args.seconds,
                                                   args.wrk_connections)
            stop(bare)
            bare = None
        if shutil.which("wrk") is None:
            print("  wrk not found: apt-get install wrk")
        for name, value in wrk.items():
            if value is not None:
                print(f"  {name:14s} {value:10.1f} req/s", flush=True)

        print(f"== presigned PUT of 1 KiB (one key, overwritten) under wrk, {args.threads} "
              "connections", flush=True)
        script = workdir / "put.lua"
        script.write_text(PUT_SCRIPT)
        put_url = tg_client().generate_presigned_url(
            "put_object", Params={"Bucket": BUCKET, "Key": "wrk-put"}, ExpiresIn=3600)
        wrk_put = {"trailgate": wrk_rate(put_url, args.seconds, args.threads, script)}
        if moto is not None:
            moto_put = client(moto[1], "testing", "testing").generate_presigned_url(
                "put_object", Params={"Bucket": BUCKET, "Key": "wrk-put"}, ExpiresIn=3600)
            wrk_put["moto"] = wrk_rate(moto_put, args.seconds, args.threads, script)
        for name, value in wrk_put.items():
            if value is not None:
                print(f"  {name:14s} {value:10.1f} req/s", flush=True)

        print("== raw durable 1 KiB file writes on the data disk", flush=True)
        raw_one = raw_file_rate(workdir / "raw1", 1, args.seconds)
        raw_many = raw_file_rate(workdir / "rawn", args.threads, args.seconds)
        print(f"  1 thread       {raw_one:10.1f} files/s")
        print(f"  {args.threads} threads      {raw_many:10.1f} files/s")
        # Same concurrency as PutObject, one thread: what one client alone reaches.
        put_one = rate(
            lambda c, n: c.put_object(Bucket=BUCKET, Key=f"seq/{n}", Body=BODY),
            tg_client, 1, args.seconds)
        print(f"  trailgate PutObject, 1 thread {put_one:10.1f} ops/s")

        tg = results["trailgate"]
        mo = results.get("moto", {})
        print("== ratios (targets in brackets)")
        print(f"  GetObject trailgate/moto, boto3        {ratio(tg['GetObject 1 KiB'], mo.get('GetObject 1 KiB'))}")  # noqa: E501
        print(f"  GetObject trailgate/moto, wrk          {ratio(wrk['trailgate'], wrk.get('moto'))}  [>= 25x]")  # noqa: E501
        print(f"  GetObject trailgate/bare app, wrk      {ratio(wrk['trailgate'], wrk['bare uvicorn'])}  [>= 0.30x]")  # noqa: E501
        if args.workers > 1:
            same = wrk.get(f"bare x{args.workers}")
            print(f"  ... bare app with {args.workers} processes too    {ratio(wrk['trailgate'], same)}")  # noqa: E501
        print(f"  PutObject trailgate/moto, boto3        {ratio(tg['PutObject 1 KiB'], mo.get('PutObject 1 KiB'))}")  # noqa: E501
        print(f"  ListObjectsV2 trailgate/moto, boto3    {ratio(tg['ListObjectsV2 1,000 keys'], mo.get('ListObjectsV2 1,000 keys'))}")  # noqa: E501
        print(f"  PutObject/raw files, {args.threads} threads       {ratio(tg['PutObject 1 KiB'], raw_many)}  [>= 0.50x]")  # noqa: E501
        print(f"  PutObject (wrk)/raw, {args.threads} connections   {ratio(wrk_put['trailgate'], raw_many)}  [>= 0.50x]")  # noqa: E501
        print(f"  PutObject trailgate/moto, wrk          {ratio(wrk_put['trailgate'], wrk_put.get('moto'))}")  # noqa: E501
        print(f"  PutObject/raw files, 1 thread          {ratio(put_one, raw_one)}  [>= 0.50x]")
    finally:
        if bare is not None:
            stop(bare)
        if moto is not None:
            stop(moto[0])
        if trailgate is not None:
            if os.environ.get("S3_BENCH_SHOW_LOG"):
                print(trailgate.log()[-5000:])
            trailgate.stop(keep_state=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
