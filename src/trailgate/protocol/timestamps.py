"""Timestamp text on the wire: the three formats AWS models name (iso8601, rfc822, unixTimestamp).

Values inside trailgate are timezone-aware UTC datetimes; naive datetimes handed in by services are
taken as UTC.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from trailgate.clock import iso_z

ISO8601 = "iso8601"
RFC822 = "rfc822"
UNIX = "unixtimestamp"

_FRACTION = re.compile(r"(\.\d{1,6})\d*")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def from_epoch(seconds: float) -> datetime:
    if isinstance(seconds, bool) or not math.isfinite(seconds):
        raise ValueError(f"not a timestamp: {seconds!r}")
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"timestamp out of range: {seconds!r}") from exc


def parse_timestamp(text: str, preferred: str = ISO8601) -> datetime:
    """Parse timestamp text in any of the three formats, trying `preferred` first.

    Clients are not consistent about formats (botocore sends iso8601 in query strings, boto 2
    sometimes sends epoch numbers), so every format is accepted wherever a timestamp is expected.
    Raises ValueError when nothing fits.
    """
    text = text.strip()
    if not text:
        raise ValueError("empty timestamp")
    if _NUMBER.fullmatch(text):
        return from_epoch(float(text))
    if preferred == RFC822 or "," in text or " " in text:
        try:
            return to_utc(parsedate_to_datetime(text))
        except (TypeError, ValueError, IndexError):
            pass
    return _parse_iso8601(text)


def _parse_iso8601(text: str) -> datetime:
    # fromisoformat keeps at most microseconds; AWS clients may send nanoseconds.
    normalized = _FRACTION.sub(lambda m: m.group(1), text, count=1)
    if normalized.endswith(("z", "Z")):
        normalized = normalized[:-1] + "+00:00"
    return to_utc(datetime.fromisoformat(normalized))


# Formatted by hand, in English whatever the process locale: strftime and email.utils cost
# several times more, and every S3 response carries a Last-Modified or a date in its body.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_ABBREVIATIONS = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip


def format_iso8601(value: datetime, *, always_millis: bool = False) -> str:
    """`2024-01-02T03:04:05Z`, or with `.123` milliseconds when present (always, for S3 bodies)."""
    whole = iso_z(value)
    millis = value.microsecond // 1000
    if always_millis or millis:
        return f"{whole[:-1]}.{millis:03d}Z"
    return whole


def format_rfc822(value: datetime) -> str:
    """HTTP-date form, `Wed, 21 Oct 2015 07:28:00 GMT`."""
    v = to_utc(value)
    return (
        f"{_DAYS[v.weekday()]}, {v.day:02d} {MONTH_ABBREVIATIONS[v.month - 1]} {v.year:04d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d} GMT"
    )


def format_epoch(value: datetime) -> int | float:
    """Epoch seconds: an integer when whole, else millisecond precision."""
    value = to_utc(value)
    whole = int(value.replace(microsecond=0).timestamp())
    millis = value.microsecond // 1000
    if not millis:
        return whole
    return whole + millis / 1000


def format_timestamp(value: datetime, fmt: str, *, always_millis: bool = False) -> str:
    """Text for a timestamp in a header, query string or XML body."""
    fmt = fmt.lower()
    if fmt == RFC822:
        return format_rfc822(value)
    if fmt == UNIX:
        return str(format_epoch(value))
    return format_iso8601(value, always_millis=always_millis)
