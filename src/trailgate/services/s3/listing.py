"""ListObjects (v1), ListObjectsV2 and ListObjectVersions.

Listing is a keyset walk over the (bucket, key) primary key: `key > cursor ORDER BY key LIMIT n`.
A key that rolls up into a CommonPrefix ends the batch and the walk seeks straight past every key
under that prefix (cursor = prefix + U+10FFFF, above any character a key can continue with), so
a prefix holding a million keys costs one query, not a million rows.
"""

from __future__ import annotations

import base64
import binascii
import heapq
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, and_, or_, select

from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.services.s3 import errors
from trailgate.services.s3.authz import bucket_check, require_bucket
from trailgate.services.s3.records import (
    ObjectVersion,
    owner_of,
    version_from_row,
)
from trailgate.store.schema_s3 import s3_object_versions, s3_objects

MAX_KEYS = 1000
# Greater than any continuation of a key: the last code point, encoded F4 8F BF BF in UTF-8.
AFTER_PREFIX = "\U0010ffff"
_BATCH = 1000


def max_keys(params: dict[str, Any], name: str = "MaxKeys", wire: str = "max-keys") -> int:
    value = params.get(name)
    if value is None:
        return MAX_KEYS
    if value < 0:
        raise errors.invalid_argument(
            "Provided max-keys not an integer or within integer range", wire, str(value)
        )
    return min(value, MAX_KEYS)


def check_encoding(params: dict[str, Any]) -> bool:
    encoding = params.get("EncodingType")
    if encoding is None:
        return False
    if encoding != "url":
        raise errors.invalid_argument(
            "Invalid Encoding Method specified in Request", "encoding-type", encoding
        )
    return True


def encoder(enabled: bool) -> Any:
    if not enabled:
        return lambda text: text
    # botocore decodes with unquote_plus: '+' and ' ' must both arrive percent-encoded.
    return lambda text: quote(text, safe="/") if text is not None else None


def list_condition_keys(params: dict[str, Any], max_name: str = "MaxKeys") -> dict[str, Any]:
    keys: dict[str, Any] = {}
    if params.get("Prefix") is not None:
        keys["s3:prefix"] = params["Prefix"]
    if params.get("Delimiter") is not None:
        keys["s3:delimiter"] = params["Delimiter"]
    if params.get(max_name) is not None:
        keys["s3:max-keys"] = str(params[max_name])
    return keys


def rolls_up(key: str, prefix: str, delimiter: str | None) -> str | None:
    """The CommonPrefix `key` belongs to, or None."""
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    if at < 0:
        return None
    return key[: at + len(delimiter)]


_LISTED = (
    s3_objects.c.key, s3_objects.c.last_modified, s3_objects.c.etag, s3_objects.c.size,
    s3_objects.c.storage_class, s3_objects.c.owner_account, s3_objects.c.checksum_algorithm,
    s3_objects.c.upload_id,
)


def walk_keys(
    conn: Connection, bucket: str, prefix: str, delimiter: str | None, after: str | None,
    limit: int,
) -> tuple[list[Any], list[str], bool, str | None]:
    """Up to `limit` entries (object rows and CommonPrefixes) after `after`, in key order.
    Returns (rows, prefixes, truncated, last entry returned)."""
    t = s3_objects
    rows: list[Any] = []
    prefixes: list[str] = []
    last: str | None = None
    cursor = after
    # A marker inside a CommonPrefix means that prefix was already answered.
    if cursor is not None:
        group = rolls_up(cursor, prefix, delimiter) if cursor.startswith(prefix) else None
        if group is not None:
            cursor = max(cursor, group + AFTER_PREFIX)
    if cursor is None or cursor < prefix:
        cursor_inclusive, cursor = True, prefix
    else:
        cursor_inclusive = False
    if limit == 0:
        return rows, prefixes, False, None
    while True:
        need = limit - len(rows) - len(prefixes)
        condition = t.c.key >= cursor if cursor_inclusive else t.c.key > cursor
        batch = conn.execute(
            select(*_LISTED).where(t.c.bucket == bucket, condition).order_by(t.c.key)
            .limit(min(need, _BATCH) + 1)
        ).all()
        if not batch:
            return rows, prefixes, False, last
        seek: str | None = None
        for row in batch:
            key = row._mapping["key"]
            if not key.startswith(prefix):
                return rows, prefixes, False, last
            if len(rows) + len(prefixes) == limit:
                return rows, prefixes, True, last
            group = rolls_up(key, prefix, delimiter)
            if group is not None:
                prefixes.append(group)
                last = group
                seek = group + AFTER_PREFIX
                break
            rows.append(row)
            last = key
        if seek is not None:
            cursor, cursor_inclusive = seek, False
        elif len(batch) <= min(need, _BATCH):
            return rows, prefixes, False, last
        else:
            cursor, cursor_inclusive = last, False  # type: ignore[assignment]
        if len(rows) + len(prefixes) == limit:
            # Is there anything after? One more probe decides IsTruncated.
            probe = conn.execute(
                select(t.c.key).where(t.c.bucket == bucket, t.c.key > cursor)
                .order_by(t.c.key).limit(1)
            ).first()
            return rows, prefixes, probe is not None and probe[0].startswith(prefix), last


def _content(row: Any, fetch_owner: bool, enc: Any) -> dict[str, Any]:
    m = row._mapping
    item: dict[str, Any] = {
        "Key": enc(m["key"]),
        "LastModified": m["last_modified"],
        "ETag": f'"{m["etag"]}"',
        "Size": m["size"],
        "StorageClass": m["storage_class"],
    }
    if fetch_owner:
        item["Owner"] = owner_of(m["owner_account"])
    if m["checksum_algorithm"] and m["upload_id"] is None:
        item["ChecksumAlgorithm"] = [m["checksum_algorithm"].upper()]
        item["ChecksumType"] = "FULL_OBJECT"
    return item


def _authorize_list(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [bucket_check(ctx, bucket, "s3:ListBucket", list_condition_keys(params))]


@operation("s3", "ListObjects", authorize=_authorize_list, read_only=True)
def list_objects(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx, params["Bucket"])
    prefix = params.get("Prefix") or ""
    delimiter = params.get("Delimiter") or None
    marker = params.get("Marker") or None
    limit = max_keys(params)
    enc = encoder(check_encoding(params))
    with ctx.runtime.db.read() as conn:
        rows, prefixes, truncated, last = walk_keys(
            conn, bucket.name, prefix, delimiter, marker, limit
        )
    result: dict[str, Any] = {
        "Name": bucket.name,
        "Prefix": enc(prefix),
        "Marker": enc(marker or ""),
        "MaxKeys": limit,
        "IsTruncated": truncated,
        "Contents": [_content(r, True, enc) for r in rows] or None,
        "CommonPrefixes": [{"Prefix": enc(p)} for p in prefixes] or None,
    }
    if delimiter:
        result["Delimiter"] = enc(delimiter)
    if truncated and last is not None:
        result["NextMarker"] = enc(last)
    if params.get("EncodingType"):
        result["EncodingType"] = "url"
    return {k: v for k, v in result.items() if v is not None}


def _token(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii")


def _untoken(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise errors.invalid_argument(
            "The continuation token provided is incorrect", "continuation-token", token
        ) from None


@operation("s3", "ListObjectsV2", authorize=_authorize_list, read_only=True)
def list_objects_v2(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx, params["Bucket"])
    prefix = params.get("Prefix") or ""
    delimiter = params.get("Delimiter") or None
    token = params.get("ContinuationToken")
    start_after = params.get("StartAfter") or None
    after = _untoken(token) if token else start_after
    if token and start_after and start_after > after:  # type: ignore[operator]
        after = start_after
    limit = max_keys(params)
    enc = encoder(check_encoding(params))
    with ctx.runtime.db.read() as conn:
        rows, prefixes, truncated, last = walk_keys(
            conn, bucket.name, prefix, delimiter, after, limit
        )
    result: dict[str, Any] = {
        "Name": bucket.name,
        "Prefix": enc(prefix),
        "MaxKeys": limit,
        "KeyCount": len(rows) + len(prefixes),
        "IsTruncated": truncated,
        "Contents": [_content(r, bool(params.get("FetchOwner")), enc) for r in rows] or None,
        "CommonPrefixes": [{"Prefix": enc(p)} for p in prefixes] or None,
    }
    if delimiter:
        result["Delimiter"] = enc(delimiter)
    if token:
        result["ContinuationToken"] = token
    if start_after:
        result["StartAfter"] = enc(start_after)
    if truncated and last is not None:
        result["NextContinuationToken"] = _token(last)
    if params.get("EncodingType"):
        result["EncodingType"] = "url"
    return {k: v for k, v in result.items() if v is not None}


# --- ListObjectVersions ----------------------------------------------------------------------


def _paged_current(conn: Connection, bucket: str, start: str, inclusive: bool) -> Iterator[Any]:
    t = s3_objects
    cursor, first = start, inclusive
    while True:
        condition = t.c.key >= cursor if first else t.c.key > cursor
        batch = conn.execute(
            select(t).where(t.c.bucket == bucket, condition).order_by(t.c.key).limit(_BATCH)
        ).all()
        for row in batch:
            yield (row._mapping["key"], 0, 0, version_from_row(row._mapping, current=True))
        if len(batch) < _BATCH:
            return
        cursor, first = batch[-1]._mapping["key"], False


def _paged_versions(conn: Connection, bucket: str, start: str, inclusive: bool) -> Iterator[Any]:
    t = s3_object_versions
    condition = t.c.key >= start if inclusive else t.c.key > start
    last: tuple[str, int] | None = None
    while True:
        query = select(t).where(t.c.bucket == bucket)
        if last is None:
            query = query.where(condition)
        else:
            query = query.where(
                or_(t.c.key > last[0], and_(t.c.key == last[0], t.c.seq < last[1]))
            )
        batch = conn.execute(query.order_by(t.c.key, t.c.seq.desc()).limit(_BATCH)).all()
        for row in batch:
            m = row._mapping
            yield (m["key"], 1, -m["seq"], version_from_row(m, current=False))
        if len(batch) < _BATCH:
            return
        last = (batch[-1]._mapping["key"], batch[-1]._mapping["seq"])


def _versions_from(conn: Connection, bucket: str, start: str, inclusive: bool) -> Iterator[Any]:
    """Every version of keys from `start`, key ascending, newest first within a key, with
    is_current set on the latest version of each key."""
    merged = heapq.merge(
        _paged_current(conn, bucket, start, inclusive),
        _paged_versions(conn, bucket, start, inclusive),
        key=lambda entry: entry[:3],
    )
    previous_key: str | None = None
    for key, _, _, version in merged:
        if key != previous_key:
            version.is_current = True
            previous_key = key
        yield version


def _version_entry(version: ObjectVersion, enc: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Key": enc(version.key),
        "VersionId": version.version_id,
        "IsLatest": version.is_current,
        "LastModified": version.last_modified,
        "Owner": owner_of(version.owner_account),
    }
    if not version.is_delete_marker:
        entry.update(ETag=version.quoted_etag, Size=version.size,
                     StorageClass=version.storage_class)
    return entry


def _authorize_versions(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [bucket_check(ctx, bucket, "s3:ListBucketVersions", list_condition_keys(params))]


@operation("s3", "ListObjectVersions", authorize=_authorize_versions, read_only=True)
def list_object_versions(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx, params["Bucket"])
    prefix = params.get("Prefix") or ""
    delimiter = params.get("Delimiter") or None
    key_marker = params.get("KeyMarker") or None
    version_marker = params.get("VersionIdMarker") or None
    if version_marker and not key_marker:
        raise errors.invalid_argument(
            "A version-id marker cannot be specified without a key marker.", "version-id-marker",
            version_marker,
        )
    limit = max_keys(params)
    enc = encoder(check_encoding(params))
    versions: list[ObjectVersion] = []
    markers: list[ObjectVersion] = []
    prefixes: list[str] = []
    truncated = False
    next_key: str | None = None
    next_version: str | None = None
    with ctx.runtime.db.read() as conn:
        if key_marker is None or key_marker < prefix:
            start, inclusive = prefix, True
        else:
            start, inclusive = key_marker, version_marker is not None
        skipping_to = version_marker
        stream = _versions_from(conn, bucket.name, start, inclusive)
        count = 0
        while True:
            version = next(stream, None)
            if version is None or not version.key.startswith(prefix):
                break
            if skipping_to is not None:
                if version.key == key_marker:
                    if version.version_id == skipping_to:
                        skipping_to = None
                    continue
                skipping_to = None
            group = rolls_up(version.key, prefix, delimiter)
            if group is not None and key_marker is not None and key_marker.startswith(group):
                stream = _versions_from(conn, bucket.name, group + AFTER_PREFIX, False)
                continue
            if count == limit:
                truncated = True
                break
            if group is not None:
                prefixes.append(group)
                next_key, next_version = group, None
                count += 1
                stream = _versions_from(conn, bucket.name, group + AFTER_PREFIX, False)
                continue
            (markers if version.is_delete_marker else versions).append(version)
            next_key, next_version = version.key, version.version_id
            count += 1
    result: dict[str, Any] = {
        "Name": bucket.name,
        "Prefix": enc(prefix),
        "KeyMarker": enc(key_marker or ""),
        "VersionIdMarker": version_marker or "",
        "MaxKeys": limit,
        "IsTruncated": truncated,
        "Versions": [_version_entry(v, enc) for v in versions] or None,
        "DeleteMarkers": [_version_entry(v, enc) for v in markers] or None,
        "CommonPrefixes": [{"Prefix": enc(p)} for p in prefixes] or None,
    }
    if delimiter:
        result["Delimiter"] = enc(delimiter)
    if truncated:
        result["NextKeyMarker"] = enc(next_key)
        if next_version is not None:
            result["NextVersionIdMarker"] = next_version
    if params.get("EncodingType"):
        result["EncodingType"] = "url"
    return {k: v for k, v in result.items() if v is not None}
