"""Canonical forms of a request's path, query and headers, as signature versions 2 and 4 need them.

Everything here works from the raw request (percent-encoded path and query exactly as received),
because that is what the client signed.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, unquote_to_bytes

from trailgate.http import Headers


def uri_encode(value: str | bytes, *, keep_slash: bool = False) -> str:
    """AWS URI encoding: every byte except A-Z a-z 0-9 - _ . ~ (and '/' if asked) as %XX."""
    # urllib's quote never escapes the RFC 3986 unreserved set, which is exactly AWS's.
    return quote(value, safe="/" if keep_slash else "")


def decode_query_component(value: str) -> bytes:
    """Decode one query-string name or value the way a form decoder does ('+' is a space).

    Working in bytes keeps invalid UTF-8 sequences intact instead of replacing them.
    """
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


def canonical_query_string(raw_query: str, *, exclude: Iterable[str] = ()) -> str:
    """SigV4 canonical query: decoded, re-encoded, sorted by name then value.

    `exclude` names (compared after decoding) are left out, e.g. X-Amz-Signature for presigned
    URLs.
    """
    excluded = set(exclude)
    encoded: list[tuple[str, str]] = []
    for name, value, _ in split_query(raw_query):
        name_bytes = decode_query_component(name)
        if excluded and name_bytes.decode("utf-8", "replace") in excluded:
            continue
        encoded.append((uri_encode(name_bytes), uri_encode(decode_query_component(value))))
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
