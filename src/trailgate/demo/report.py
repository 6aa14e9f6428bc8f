"""Rendering the demo's report: a table for people, JSON for programs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence

from trailgate.demo.steps import StepResult


def table(results: Sequence[StepResult]) -> str:
    headers = ("", "who", "what", "expected", "got")
    rows = [("ok" if r.ok else "FAIL", r.who, r.what, r.expected, r.got) for r in results]
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    limit = shutil.get_terminal_size((160, 20)).columns
    # Shrink the "what" column first when the terminal is narrow.
    overflow = sum(widths) + 3 * (len(widths) - 1) - limit
    if overflow > 0:
        widths[2] = max(20, widths[2] - overflow)

    def fmt(row: Sequence[str]) -> str:
        cells = []
        for i, cell in enumerate(row):
            text = str(cell)
            if len(text) > widths[i]:
                text = text[: widths[i] - 1] + "…"
            cells.append(text.ljust(widths[i]))
        return " | ".join(cells).rstrip()

    line = "-+-".join("-" * w for w in widths)
    out = [fmt(headers), line, *(fmt(r) for r in rows)]
    passed = sum(r.ok for r in results)
    out.append(line)
    out.append(f"{passed} of {len(results)} steps as expected")
    return "\n".join(out)


def as_json(results: Sequence[StepResult], extra: dict[str, object]) -> str:
    return json.dumps(
        {
            "ok": all(r.ok for r in results),
            "steps": [r.as_dict() for r in results],
            **extra,
        },
        indent=2,
    )
