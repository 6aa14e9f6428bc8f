"""`trailgate serve --workers N`: the supervisor and its worker processes."""

from __future__ import annotations

import os
import signal
import time

import boto3

from trailgate.testing.server import start_server


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_stop_when_the_supervisor_is_killed() -> None:
    server = start_server(extra_args=["--workers", "2"])
    workers: list[int] = []
    try:
        sts = boto3.client(
            "sts", endpoint_url=server.endpoint, region_name="us-east-1",
            aws_access_key_id=server.root["RootAccessKeyId"],
            aws_secret_access_key=server.root["RootSecretAccessKey"],
        )  # fmt: skip
        assert sts.get_caller_identity()["Account"] == server.management_account_id
        workers = _children(server.process.pid)
        assert len(workers) >= 2  # the two workers (and multiprocessing's resource tracker)
        server.kill()  # SIGKILL: the supervisor cannot stop them itself
        deadline = time.monotonic() + 20
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(p) for p in workers)
    finally:
        server.stop()
        for pid in workers:  # by PID, should the test fail with workers left over
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
