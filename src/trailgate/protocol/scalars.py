"""Scalar values as text on the wire (query strings, form bodies, headers, XML text) and back.

Each protocol decides which timestamp format applies where; this module only converts.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import datetime
from typing import Any

from botocore.model import Shape

from .timestamps import ISO8601, format_timestamp, parse_timestamp

_INTEGER = re.compile(r"[+-]?\d+")
_INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class WireValueError(ValueError):
    """Text (or JSON value) that cannot be read as the member's modeled type."""

    def __init__(self, type_name: str, value: object, name: str = "") -> None:
        super().__init__(f"{value!r} is not a valid {type_name}")
        self.type_name = type_name
        self.value = value
        self.name = name


def read_text(shape: Shape, text: str, *, timestamp_format: str = ISO8601, name: str = "") -> Any:
    """Convert wire text to the Python value for `shape` (a scalar shape)."""
    type_name = shape.type_name
    if type_name in ("string", "character"):
        return text
    try:
        if type_name in ("integer", "long", "short", "byte"):
            return read_integer(type_name, text.strip())
        if type_name in ("float", "double"):
            return read_float(text.strip())
        if type_name == "boolean":
            return read_boolean(text.strip())
        if type_name == "timestamp":
            fmt = shape.serialization.get("timestampFormat", timestamp_format)
            return parse_timestamp(text, fmt)
        if type_name == "blob":
            return base64.b64decode(text.strip(), validate=True)
    except (ValueError, binascii.Error) as exc:
        raise WireValueError(type_name, text, name) from exc
    raise WireValueError(type_name, text, name)


def read_integer(type_name: str, text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise ValueError(text)
    value = int(text)
    low, high = _INT_BOUNDS.get(type_name, _INT_BOUNDS["long"])
    if not low <= value <= high:
        raise ValueError(text)
    return value


def read_float(text: str) -> float:
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def read_boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(text)


def write_text(
    shape: Shape,
    value: Any,
    *,
    timestamp_format: str = ISO8601,
    always_millis: bool = False,
) -> str:
    """Wire text for a scalar value of `shape`."""
    type_name = shape.type_name
    if type_name == "boolean":
        return "true" if value else "false"
    if type_name == "timestamp":
        if isinstance(value, datetime):
            fmt = shape.serialization.get("timestampFormat", timestamp_format)
            return format_timestamp(value, fmt, always_millis=always_millis)
        # Services may keep a timestamp exactly as a client sent it (S3's Expires header).
        return str(value)
    if type_name == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if type_name in ("float", "double"):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return repr(number) if not number.is_integer() else str(int(number))
    if type_name in ("integer", "long", "short", "byte"):
        return str(int(value))
    return str(value)
