"""IAM-style pagination: MaxItems (default 100), an opaque Marker, IsTruncated.

A marker names the first item of the next page by its sort key, so a page boundary survives
writes made between calls (an index would skip or repeat items). Keys too long for IAM's
320-character marker fall back to the position.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from trailgate.services.iam.common import DEFAULT_PATH, invalid_input


class Named(Protocol):
    """A user, group or role record."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> str: ...


T = TypeVar("T")
N = TypeVar("N", bound=Named)

DEFAULT_MAX_ITEMS = 100
_MAX_KEY_MARKER = 230  # base64 grows 4/3; IAM markers are at most 320 characters
_INDEX_PREFIX = "\x00"


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def _decode(marker: str) -> str:
    try:
        return base64.urlsafe_b64decode(marker.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise invalid_input("Invalid Marker.") from exc


def paginate(
    items: Sequence[T], params: dict[str, Any], sort_key: Callable[[T], str]
) -> tuple[list[T], dict[str, Any]]:
    """The page of `items` that `params` (Marker, MaxItems) asks for, and its IsTruncated/Marker.

    `items` need not be sorted; the result follows `sort_key`.
    """
    ordered = sorted(items, key=sort_key)
    keys = [sort_key(item) for item in ordered]
    start = 0
    marker = params.get("Marker")
    if marker:
        decoded = _decode(marker)
        if decoded.startswith(_INDEX_PREFIX):
            try:
                start = int(decoded[1:])
            except ValueError as exc:
                raise invalid_input("Invalid Marker.") from exc
        else:
            start = bisect_left(keys, decoded)
    max_items = int(params.get("MaxItems") or DEFAULT_MAX_ITEMS)
    end = start + max_items
    page = list(ordered[start:end])
    extra: dict[str, Any] = {"IsTruncated": end < len(ordered)}
    if end < len(ordered):
        next_key = keys[end]
        if len(next_key) <= _MAX_KEY_MARKER:
            extra["Marker"] = _encode(next_key)
        else:
            extra["Marker"] = _encode(f"{_INDEX_PREFIX}{end}")
    return page, extra


def index_key(width: int = 8) -> Callable[[tuple[int, Any]], str]:
    """Sort key for (position, item) pairs whose order is their position."""
    return lambda pair: str(pair[0]).zfill(width)


def in_path(records: Iterable[N], params: dict[str, Any]) -> list[N]:
    """The records under a List call's PathPrefix (all of them without one)."""
    prefix = params.get("PathPrefix") or DEFAULT_PATH
    return [r for r in records if r.path.startswith(prefix)]


def page_by_name(records: Sequence[N], params: dict[str, Any]) -> tuple[list[N], dict[str, Any]]:
    """A page of users, groups or roles in IAM's order: by name, case-insensitively."""
    return paginate(records, params, lambda r: r.name.lower())
