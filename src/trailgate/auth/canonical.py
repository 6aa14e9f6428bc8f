"""Canonical forms of a request's path, query and headers, as signature versions 2 and 4 need them.

Everything here works from the raw request (percent-encoded path and query exactly as received),
because that is what the client signed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

from trailgate.http import Headers

# The bytes AWS URI encoding escapes: everything outside A-Z a-z 0-9 - _ . ~ (and '/' when the
# slashes of a path are kept). Most names and values a client signs contain none.
_ESCAPED = re.compile(rb"[^A-Za-z0-9_.~-]")
_ESCAPED_KEEP_SLASH = re.compile(rb"[^A-Za-z0-9_.~/-]")
# A raw query whose segments need no re-encoding; and an escape of an unreserved byte, which
# AWS encoding would write as the character itself.
# (Possessive: runs of plain characters are matched whole, without backtracking.)
_ALREADY_CANONICAL = re.compile(r"(?:[A-Za-z0-9_.~=&-]++|%[0-9A-F]{2})*+")
_ENCODED_UNRESERVED = re.compile(r"%(?:2[DE]|3[0-9]|[46][1-9A-F]|[57][0-9A]|5F|7E)")
_PERCENT = {bytes([byte]): b"%%%02X" % byte for byte in range(256)}


def _percent(match: re.Match[bytes]) -> bytes:
    return _PERCENT[match.group()]


def uri_encode(value: str | bytes, *, keep_slash: bool = False) -> str:
    """AWS URI encoding: every byte except A-Z a-z 0-9 - _ . ~ (and '/' if asked) as %XX."""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    escaped = _ESCAPED_KEEP_SLASH if keep_slash else _ESCAPED
    if escaped.search(raw) is None:
        return raw.decode("ascii")
    return escaped.sub(_percent, raw).decode("ascii")


def decode_query_component(value: str) -> bytes:
    """Decode one query-string name or value the way a form decoder does ('+' is a space).

    Working in bytes keeps invalid UTF-8 sequences intact instead of replacing them.
    """
    if "%" not in value and "+" not in value:
        return value.encode("utf-8")
    return unquote_to_bytes(value.replace("+", " "))


def split_query(raw_query: str) -> list[tuple[str, str, bool]]:
    """Raw (name, value, had_equals) triples, in order, skipping empty segments."""
    pairs: list[tuple[str, str, bool]] = []
    for segment in raw_query.split("&"):
        if not segment:
            continue
        name, sep, value = segment.partition("=")
        pairs.append((name, value, bool(sep)))
    return pairs


def decoded_query(raw_query: str) -> tuple[tuple[bytes, bytes], ...]:
    """Every (name, value) of the raw query decoded to bytes, in order, skipping empty segments.

    Authentication reads the query twice (its parameters, then the canonical query); the last
    query decoded is remembered by identity, so one request's string is decoded once.
    """
    global _last_decoded
    last = _last_decoded
    if last[0] is raw_query:
        return last[1]
    pairs = tuple(
        (decode_query_component(name), decode_query_component(value))
        for name, value, _ in split_query(raw_query)
    )
    _last_decoded = (raw_query, pairs)
    return pairs


_last_decoded: tuple[str | None, tuple[tuple[bytes, bytes], ...]] = (None, ())


def canonical_query_string(raw_query: str, *, exclude: Iterable[str] = ()) -> str:
    """SigV4 canonical query: decoded, re-encoded, sorted by name then value.

    `exclude` names (compared after decoding) are left out, e.g. X-Amz-Signature for presigned
    URLs.
    """
    if _ALREADY_CANONICAL.fullmatch(raw_query) and not _ENCODED_UNRESERVED.search(raw_query):
        # Every name and value is exactly as AWS encoding would write it (only unreserved
        # characters and upper-case escapes of other bytes): decoding and encoding again
        # would give the same text back.
        excluded_names = set(exclude)
        pairs = [
            (name, value)
            for name, value, _ in split_query(raw_query)
            if name not in excluded_names
        ]
        # A second "=" in a segment belongs to its value and would be escaped.
        if not any("=" in value for _, value in pairs):
            pairs.sort()
            return "&".join(f"{name}={value}" for name, value in pairs)
    # A name that is not valid UTF-8 can equal no excluded name, so bytes compare the same.
    excluded = {name.encode("utf-8") for name in exclude}
    encoded = [
        (uri_encode(name), uri_encode(value))
        for name, value in decoded_query(raw_query)
        if name not in excluded
    ]
    encoded.sort()
    return "&".join(f"{name}={value}" for name, value in encoded)


def s3_canonical_path(raw_path: str) -> str:
    """S3 signs the object key as-is: no dot-segment removal, no slash merging, encoded once."""
    path = raw_path or "/"
    return uri_encode(unquote_to_bytes(path), keep_slash=True)


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 5.2.4, plus the empty-segment collapsing AWS applies to non-S3 paths.
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    leading = "/" if path.startswith("/") else ""
    trailing = "/" if path.endswith("/") and segments else ""
    return leading + "/".join(segments) + trailing


def generic_canonical_path(raw_path: str) -> str:
    """Non-S3 services: the path as sent is normalised, then URI-encoded a second time."""
    normalized = _remove_dot_segments(raw_path) if raw_path else "/"
    return uri_encode(normalized or "/", keep_slash=True)


def header_value(headers: Headers, name: str, host_fallback: str | None = None) -> str:
    """One signed header's canonical value: all values trimmed, inner runs of spaces folded."""
    values = headers.get_all(name)
    if not values and name == "host" and host_fallback:
        values = [host_fallback]
    return ",".join(" ".join(value.split()) for value in values)


def canonical_headers(headers: Headers, signed: list[str], host_fallback: str | None = None) -> str:
    return "".join(f"{name}:{header_value(headers, name, host_fallback)}\n" for name in signed)
