"""Moving botocore's signing clock in-process, to pair with a server started with --test-clock.

`ServerProcess.advance_clock(s)` moves the server's clock forward; clients signing in this process
must move with it, or their requests look skewed. `client_clock_offset(s)` does that for botocore.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import botocore.auth


@contextmanager
def client_clock_offset(seconds: float) -> Iterator[None]:
    real = botocore.auth.datetime.datetime
    delta = dt.timedelta(seconds=seconds)

    class Shifted(real):  # type: ignore[misc, valid-type]
        @classmethod
        def utcnow(cls) -> dt.datetime:  # type: ignore[override]
            return real.utcnow() + delta

        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
            return real.now(tz) + delta

    botocore.auth.datetime.datetime = Shifted
    try:
        yield
    finally:
        botocore.auth.datetime.datetime = real


@contextmanager
def client_clock_at(moment: dt.datetime) -> Iterator[None]:
    """Sign as if it were `moment` (to build skewed requests)."""
    now = dt.datetime.now(dt.UTC)
    with client_clock_offset((moment - now).total_seconds()):
        yield
