"""Turning policy text into JSON values: strict JSON (RFC 8259), nothing Python adds to it.

Refused, and answered as a syntax error by the validator:
- NaN / Infinity, which Python's json accepts but JSON does not;
- an object naming a member twice. IAM's handling of repeated names is not documented; a
  reader keeping one of the two silently would enforce a different policy from the one its
  author reviewed, so we refuse them (as RFC 7493, I-JSON, lets a receiver do);
- a byte order mark, text that is not UTF-8, trailing data, and nesting too deep to parse.
"""

from __future__ import annotations

import json
from typing import Any


class PolicyJsonError(ValueError):
    """The text is not a JSON document IAM would accept."""


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; JSON (and IAM) does not.
    raise PolicyJsonError(f"invalid JSON constant {name}")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise PolicyJsonError(f"duplicate key {key!r}")
        result[key] = value
    return result


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object_without_duplicates, parse_constant=_reject_constant
)


def load_policy_json(text: str | bytes) -> Any:
    """Parse `text` as one JSON value; PolicyJsonError for anything IAM calls a syntax error."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PolicyJsonError("policy is not UTF-8") from exc
    try:
        return _DECODER.decode(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise PolicyJsonError(str(exc)) from exc
