"""A smoke run of bench/trail_bench.py with tiny counts, as a user runs it: every figure is
printed (no timing is asserted; throughput depends on the machine)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "trail_bench.py"


def test_trail_bench_prints_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--events", "2000", "--threads", "8", "--seconds", "0.5",
         "--rounds", "1"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"\(a\) recorded: +[\d,]+ events/s +\(2000 events, 8 threads", out), out
    assert re.search(
        r"\(a2\) recorded on the event loop: +[\d,]+ events/s +\(2000 events, 8 concurrent", out
    ), out
    # Both runs' events are delivered: (a)'s and (a2)'s.
    assert re.search(r"\(b\) delivered: +[\d,]+ events/s +\(4000 events in \d+ files", out), out
    for connections in (1, 8, 32):
        assert re.search(
            rf"\(c\) GetCallerIdentity, {connections} connection\(s\): baseline [\d,]+ req/s .* "
            r"recording adds [+-]\d+\.\d% latency, [+-]\d+\.\d% fewer requests/s, "
            r"[+-]\d+\.\d% server CPU per call",
            out,
        ), out
