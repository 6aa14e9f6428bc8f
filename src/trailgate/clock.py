"""The server's clock, and how its moments are written in AWS's ISO form (`iso_z`). Tests may
move the clock forward (never back) to expire sessions without waiting."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


def iso_z(moment: datetime) -> str:
    """`2026-11-29T12:00:00Z` (naive values taken as UTC): the form of aws:CurrentTime,
    CloudTrail's eventTime and AWS's error details. Formatted by hand: strftime costs a tenth
    of a policy decision."""
    m = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"
    )


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()
