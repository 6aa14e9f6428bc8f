"""Turning policy text into JSON values: strict JSON, the way the IAM policy parser reads it."""

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
