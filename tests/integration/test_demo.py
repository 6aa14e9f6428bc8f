"""`trailgate demo` end to end: the seed's world, every step as expected, logs validated."""

from __future__ import annotations

import json
import subprocess
import sys


def test_demo_plays_the_seed_and_validates_the_logs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "trailgate", "demo", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["ok"] is True
    steps = report["steps"]
    by_what = {(s["who"], s["what"]): s for s in steps}
    assert all(s["ok"] for s in steps)
    # The denials the seed calls for are all there, each observed as a denial.
    denied = [s for s in steps if s["expected"] == "denied"]
    assert len(denied) >= 9
    assert all(s["got"] == "denied" and "AccessDenied" in s["detail"] for s in denied)
    assert by_what[("root of B", "assume CloudTrailLogReaderB")]["got"] == "denied"
    # Every trail's digest chain was checked and covered at least one log file.
    validators = [s for s in steps if s["who"].startswith("validator")]
    assert len(validators) == 3
    for step in validators:
        assert step["got"] == "valid"
        digests, logs = (int(part.split()[0]) for part in step["detail"].split(", ")[:2])
        assert digests >= 1 and logs >= 1
    assert set(report["accounts"]) == {"A", "B", "C", "Z"}
