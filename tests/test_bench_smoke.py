"""Smoke runs of the endpoint and STS benchmarks with tiny counts: each starts its servers, checks
that every server answers the signed requests as it should, loads them, prints its figures and
ratios, and stops them. No timing is asserted (throughput depends on the machine).

Each benchmark runs as a user runs it, in its own process. moto is included when moto_server is
installed (the bench extras); the load generator is the Python one, which needs nothing extra,
and wrk too when it is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
TINY = ["--seconds", "1", "--rounds", "1", "--connections", "2", "--max-requests", "200"]
FIGURE = r"[\d,]+ req/s"
RATIO = r"\d+\.\d\dx throughput"


def _moto_installed() -> bool:
    beside = Path(sys.executable).with_name("moto_server")
    return shutil.which("moto_server") is not None or beside.exists()


def _generators() -> list[str]:
    return ["python", "wrk"] if shutil.which("wrk") else ["python"]


def _run(script: str, *args: str) -> str:
    moto = [] if _moto_installed() else ["--no-moto"]
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *TINY, *moto, *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _ratio(out: str, label: str) -> None:
    assert re.search(rf"{re.escape(label)}\s+{RATIO}", out), out


@pytest.mark.parametrize("generator", _generators())
def test_endpoint_bench_runs_and_reports(generator: str) -> None:
    out = _run("endpoint_bench.py", "--generator", generator)
    for label in ("trailgate", "bare uvicorn app"):
        assert re.search(rf"round 1  {re.escape(label)}\s+{FIGURE}", out), out
    _ratio(out, "trailgate / bare uvicorn")
    if _moto_installed():
        assert re.search(rf"round 1  moto \(auth on\)\s+{FIGURE}", out), out
        _ratio(out, "trailgate / moto")


def test_sts_bench_runs_and_reports() -> None:
    out = _run("sts_bench.py", "--generator", "python")
    assert "-- GetCallerIdentity with session credentials" in out and "-- AssumeRole" in out
    assert len(re.findall(rf"round 1  trailgate\s+{FIGURE}", out)) == 2, out
    assert re.search(r"AssumeRole target 2,000/s: (met|NOT met) \(trailgate median [\d,]+/s\)", out)
    if _moto_installed():
        assert len(re.findall(rf"round 1  moto \(auth on\)\s+{FIGURE}", out)) == 2, out
        _ratio(out, "GetCallerIdentity (session): trailgate / moto")
        _ratio(out, "AssumeRole: trailgate / moto")


def test_recording_off_variant_and_pinned_servers() -> None:
    out = _run(
        "endpoint_bench.py", "--generator", "python", "--no-moto", "--recording-off-too",
        "--pin-servers", "0",
    )  # fmt: skip
    assert "servers each pinned to core 0" in out, out
    assert re.search(rf"round 1  trailgate \(recording off\)\s+{FIGURE}", out), out
    _ratio(out, "trailgate / trailgate (recording off)")
