"""Shared harness of the endpoint and STS benchmarks: the servers compared, one SigV4-signed
request replayed by a load generator, CPU accounting, interleaved rounds and the report.

What is compared is started here, each on a free 127.0.0.1 port and stopped by its PID:
trailgate (`trailgate serve`, through trailgate.testing), moto's server (`moto_server`, its IAM
authentication switched on) and a bare uvicorn app that answers a fixed 200 body (the ceiling of
the HTTP stack alone).

The load is one request signed once with botocore and replayed unchanged, by wrk (C, a Lua
script sets method, headers and body) or by forked Python processes writing the same bytes on
raw sockets. Replaying is valid: a SigV4 signature is accepted for 15 minutes and neither server
refuses a repeated one. Every load is bounded by time and by a request count.

Throughput is noisy on a small machine shared with other work, so the targets are measured in
interleaved rounds (A, B, C, A, B, C, ...) and each figure is the median over rounds; next to it
the server's CPU time per request (from /proc), which other processes disturb much less, and how
busy the machine was, split into server, load generator and everything else.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trailgate.testing.server import ServerProcess, free_port, start_server

REGION = "us-east-1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# A bench that outlives this is stuck, not slow.
SUBPROCESS_GRACE = 60.0


# --- servers ---------------------------------------------------------------------------------


@dataclass
class Server:
    """A server under test: where it listens and the PID whose CPU time is its cost."""

    name: str
    port: int
    pid: int
    stop: Callable[[], None]
    note: str = ""

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers; the status does not matter here
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def start_trailgate(
    name: str = "trailgate", env: dict[str, str] | None = None, note: str = "", workers: int = 1
) -> tuple[Server, ServerProcess]:
    """`trailgate serve`; with `workers` > 1, uvicorn's supervisor and that many worker
    processes (their CPU is counted with the supervisor's: `process_cpu_seconds`)."""
    extra = ["--workers", str(workers)] if workers > 1 else None
    process = start_server(env=env, extra_args=extra)
    server = Server(name, process.port, process.process.pid, process.stop, note)
    return server, process


def moto_binary() -> str | None:
    found = shutil.which("moto_server")
    if found:
        return found
    beside = Path(sys.executable).with_name("moto_server")
    return str(beside) if beside.exists() else None


def start_moto(log_dir: Path) -> Server | None:
    """moto's server with its default (unauthenticated) mode; see `enable_moto_auth`."""
    binary = moto_binary()
    if binary is None:
        return None
    port = free_port()
    log = open(log_dir / f"moto-{port}.log", "ab")  # noqa: SIM115 - the child owns the handle
    process = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    server = Server("moto", port, process.pid, lambda: _stop_process(process))
    try:
        _wait_http(f"{server.endpoint}/moto-api/", process)
    except BaseException:
        server.stop()
        raise
    return server


def pin_server(server: Server, cpu: int) -> None:
    """Keep every thread of the server on one core (threads it starts later inherit it).

    A Python server runs one thread at a time (the GIL); with its threads spread over two cores
    every GIL hand-off crosses cores, which costs more CPU than the hand-off itself."""
    for tid in os.listdir(f"/proc/{server.pid}/task"):
        os.sched_setaffinity(int(tid), {cpu})
    server.note = f"pinned to core {cpu}"


def enable_moto_auth(server: Server) -> None:
    """From now on moto checks every request's signature against its IAM users' keys and the
    caller's policies (INITIAL_NO_AUTH_ACTION_COUNT = 0). Users and keys must exist first:
    create them before calling this, while moto still accepts anything."""
    request = urllib.request.Request(
        f"{server.endpoint}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        # Not a form: moto reads the raw body, which Flask leaves empty for form content types.
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    if answer.get("status") != "ok":
        raise RuntimeError(f"moto refused reset-auth: {answer}")


# Served by uvicorn exactly as trailgate is (same uvicorn, same defaults): the difference between
# the two is trailgate's own work.
BARE_BODY = b"<GetCallerIdentityResponse>bare</GetCallerIdentityResponse>"
_BARE_HEADERS = [
    (b"content-type", b"text/xml"),
    (b"content-length", str(len(BARE_BODY)).encode()),
]


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    # Drain the request body as any real app must.
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": _BARE_HEADERS})
    await send({"type": "http.response.body", "body": BARE_BODY})


def start_bare(log_dir: Path) -> Server:
    port = free_port()
    log = open(log_dir / f"bare-{port}.log", "ab")  # noqa: SIM115 - the child owns the handle
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "common:bare_app",
            "--app-dir", str(Path(__file__).resolve().parent),
            "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log", "--lifespan", "off",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    server = Server("bare uvicorn", port, process.pid, lambda: _stop_process(process))
    try:
        _wait_http(f"{server.endpoint}/", process)
    except BaseException:
        server.stop()
        raise
    return server


# --- one signed request ----------------------------------------------------------------------


@dataclass(frozen=True)
class SignedRequest:
    """An HTTP/1.1 request exactly as it goes on the wire, signed once."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def raw(self) -> bytes:
        head = f"{self.method} {self.path} HTTP/1.1\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in self.headers)
        return head.encode("latin-1") + b"\r\n" + self.body


def sign_query_call(
    server: Server,
    service: str,
    params: dict[str, str],
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None = None,
) -> SignedRequest:
    """A query-protocol POST (IAM/STS style form body) signed with SigV4 for `server`."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    host = f"127.0.0.1:{server.port}"
    body = urlencode(params).encode()
    request = AWSRequest(
        method="POST",
        url=f"http://{host}/",
        data=body,
        headers={
            "Host": host,
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "User-Agent": "trailgate-bench",
        },
    )
    credentials = Credentials(access_key_id, secret_access_key, session_token)
    SigV4Auth(credentials, service, REGION).add_auth(request)
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
    headers.append(("Content-Length", str(len(body))))
    return SignedRequest("POST", "/", tuple(headers), body)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def _read_reply(sock: socket.socket, pending: bytes) -> tuple[Reply, bytes, bool]:
    """One response off a keep-alive connection; returns it, the bytes after it, and whether
    the server will close the connection."""
    data = pending
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status = lines[0].split(" ", 2)[:2]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    closing = headers.get("connection", "").lower() == "close" or (
        version == "HTTP/1.0" and headers.get("connection", "").lower() != "keep-alive"
    )
    if "content-length" in headers:
        length = int(headers["content-length"])
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside the response body")
            rest += chunk
        body, rest = rest[:length], rest[length:]
    else:  # the body ends with the connection
        while chunk := sock.recv(65536):
            rest += chunk
        body, rest, closing = rest, b"", True
    return Reply(int(status), headers, body), rest, closing


def send_once(server: Server, request: SignedRequest, timeout: float = 30.0) -> Reply:
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request.raw())
        reply, _, _ = _read_reply(sock, b"")
    return reply


def xml_value(body: bytes, tag: str) -> str:
    match = re.search(rf"<{tag}>([^<]*)</{tag}>".encode(), body)
    if match is None:
        raise ValueError(f"no <{tag}> in {body[:500]!r}")
    return match.group(1).decode()


# --- CPU accounting --------------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process and its live descendants (a server's worker
    processes), all their threads."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: ppid is field 4, utime 14 and stime 15 (1-based, man 5 proc).
        children.setdefault(int(fields[1]), []).append(int(entry))
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- load generators -------------------------------------------------------------------------


@dataclass
class LoadResult:
    requests: int
    failures: int
    elapsed: float
    server_cpu: float
    client_cpu: float
    machine_busy: float
    cores: int
    generator: str
    sample_failure: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    @property
    def server_us_per_request(self) -> float:
        return self.server_cpu / self.requests * 1e6 if self.requests else float("nan")

    @property
    def server_cores(self) -> float:
        return self.server_cpu / self.elapsed if self.elapsed else 0.0

    @property
    def client_cores(self) -> float:
        return self.client_cpu / self.elapsed if self.elapsed else 0.0

    @property
    def other_cores(self) -> float:
        busy = self.machine_busy / self.elapsed if self.elapsed else 0.0
        return max(0.0, busy - self.server_cores - self.client_cores)


@dataclass(frozen=True)
class LoadSpec:
    seconds: float = 5.0
    max_requests: int = 200_000
    connections: int = 16
    generator: str = "auto"  # "wrk", "python" or "auto" (wrk when installed)

    def resolved_generator(self) -> str:
        if self.generator == "auto":
            return "wrk" if shutil.which("wrk") else "python"
        return self.generator


def run_load(server: Server, request: SignedRequest, spec: LoadSpec) -> LoadResult:
    generator = spec.resolved_generator()
    server_before = process_cpu_seconds(server.pid)
    busy_before, _ = machine_cpu_seconds()
    children_before = children_cpu_seconds()
    if generator == "wrk":
        requests, failures, elapsed, sample = _run_wrk(server, request, spec)
    else:
        requests, failures, elapsed, sample = _run_python(server, request, spec)
    client_cpu = children_cpu_seconds() - children_before
    busy_after, _ = machine_cpu_seconds()
    return LoadResult(
        requests=requests,
        failures=failures,
        elapsed=elapsed,
        server_cpu=process_cpu_seconds(server.pid) - server_before,
        client_cpu=client_cpu,
        machine_busy=busy_after - busy_before,
        cores=os.cpu_count() or 1,
        generator=generator,
        sample_failure=sample,
    )


def _lua_string(value: str | bytes) -> str:
    data = value.encode("latin-1") if isinstance(value, str) else value
    return '"' + "".join(f"\\{b:03d}" for b in data) + '"'


def _run_wrk(
    server: Server, request: SignedRequest, spec: LoadSpec
) -> tuple[int, int, float, str]:
    lines = [
        f"wrk.method = {_lua_string(request.method)}",
        f"wrk.path = {_lua_string(request.path)}",
        f"wrk.body = {_lua_string(request.body)}",
    ]
    lines.append("wrk.headers = {}")
    for key, value in request.headers:
        lines.append(f"wrk.headers[{_lua_string(key)}] = {_lua_string(value)}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    seconds = max(1, round(spec.seconds))
    cmd = [
        "wrk", "-t", "1", "-c", str(spec.connections), "-d", f"{seconds}s",
        "--timeout", "10s", "-s", script.name, server.endpoint + request.path,
    ]  # fmt: skip
    try:
        started = time.perf_counter()
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=seconds + SUBPROCESS_GRACE, check=True
        ).stdout
        elapsed = time.perf_counter() - started
    finally:
        os.unlink(script.name)
    total = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if total is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    requests = int(total.group(1))
    measured = float(total.group(2)) / (1000 if total.group(3) == "ms" else 1)
    failures = 0
    sample = ""
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non_2xx:
        failures += int(non_2xx.group(1))
        sample = "non-2xx responses"
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors:
        failures += sum(int(g) for g in errors.groups())
        sample = sample or errors.group(0)
    return requests, failures, measured or elapsed, sample


def _python_worker(
    args: tuple[int, bytes, float, float, int],
) -> tuple[int, int, float, str]:
    port, raw, start_at, deadline, limit = args
    sent = failures = 0
    sample = ""
    sock: socket.socket | None = None
    pending = b""
    while time.time() < start_at:
        time.sleep(0.001)
    try:
        while sent < limit and time.time() < deadline:
            if sock is None:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                pending = b""
            sock.sendall(raw)
            reply, pending, closing = _read_reply(sock, pending)
            sent += 1
            if reply.status != 200:
                failures += 1
                sample = sample or f"{reply.status}: {reply.body[:300]!r}"
            if closing:
                sock.close()
                sock = None
    except OSError as exc:
        failures += 1
        sample = sample or repr(exc)
    finally:
        if sock is not None:
            sock.close()
    return sent, failures, time.time(), sample


def _run_python(
    server: Server, request: SignedRequest, spec: LoadSpec
) -> tuple[int, int, float, str]:
    processes = spec.connections
    context = multiprocessing.get_context("fork")
    raw = request.raw()
    start_at = time.time() + 0.5  # every worker forked and connected before the clock runs
    deadline = start_at + spec.seconds
    limit = max(1, spec.max_requests // processes)
    with context.Pool(processes) as pool:
        results = pool.map(
            _python_worker, [(server.port, raw, start_at, deadline, limit)] * processes
        )
    requests = sum(r[0] for r in results)
    failures = sum(r[1] for r in results)
    elapsed = max(r[2] for r in results) - start_at
    sample = next((r[3] for r in results if r[3]), "")
    return requests, failures, elapsed, sample


# --- rounds and the report -------------------------------------------------------------------


@dataclass
class Scenario:
    """One load: a named request against one server."""

    label: str
    server: Server
    request: SignedRequest
    results: list[LoadResult] = field(default_factory=list)

    def median_rate(self) -> float:
        return statistics.median(r.rate for r in self.results)

    def median_us(self) -> float:
        return statistics.median(r.server_us_per_request for r in self.results)


def measure_rounds(scenarios: Sequence[Scenario], spec: LoadSpec, rounds: int) -> None:
    """Each scenario once per round, in turn, so slow phases of the machine hit all alike."""
    for number in range(1, rounds + 1):
        for scenario in scenarios:
            result = run_load(scenario.server, scenario.request, spec)
            if result.failures:
                raise RuntimeError(
                    f"{scenario.label}: {result.failures} failed requests "
                    f"(first: {result.sample_failure})"
                )
            scenario.results.append(result)
            print(
                f"  round {number}  {scenario.label:<38} {result.rate:>9,.0f} req/s  "
                f"server {result.server_us_per_request:>7,.0f} us CPU/req  "
                f"cores: server {result.server_cores:.2f} client {result.client_cores:.2f} "
                f"other {result.other_cores:.2f}",
                flush=True,
            )


def print_summary(scenarios: Sequence[Scenario]) -> None:
    width = max(len(s.label) for s in scenarios)
    print()
    print(f"  {'':<{width}} {'req/s (median)':>15} {'server CPU us/req':>18}")
    for s in scenarios:
        print(f"  {s.label:<{width}} {s.median_rate():>15,.0f} {s.median_us():>18,.0f}")


def ratio_line(label: str, numerator: Scenario, denominator: Scenario) -> str:
    """Median of the per-round throughput ratios, and the ratio of CPU cost per request."""
    per_round = [
        a.rate / b.rate for a, b in zip(numerator.results, denominator.results, strict=True)
    ]
    cpu = denominator.median_us() / numerator.median_us()
    return (
        f"  {label:<46} {statistics.median(per_round):>7.2f}x throughput "
        f"(rounds {min(per_round):.2f}-{max(per_round):.2f}), "
        f"{cpu:.2f}x requests per server CPU-second"
    )


def print_machine(spec: LoadSpec, pin: int | None = None) -> None:
    load1, load5, _ = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores shared by servers, load generator and any other work "
        f"(load average {load1:.2f} / {load5:.2f} before the run); generator "
        f"{spec.resolved_generator()}, {spec.connections} connections, {spec.seconds:g} s per "
        f"measurement; servers "
        + (f"each pinned to core {pin}" if pin is not None else "free to use every core")
    )


def bench_arguments(description: str) -> argparse.ArgumentParser:
    """The options every HTTP benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--no-moto", action="store_true", help="leave moto out")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="trailgate serve --workers N (uvicorn worker processes sharing one store)",
    )
    parser.add_argument(
        "--pin-servers",
        type=int,
        metavar="CORE",
        default=None,
        help="keep every server under test on this core (all alike)",
    )
    parser.add_argument(
        "--recording-off-too",
        action="store_true",
        help="also measure trailgate with CloudTrail recording off (what recording costs; "
        "never a production setting)",
    )
    return parser
