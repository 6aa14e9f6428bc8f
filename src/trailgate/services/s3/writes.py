"""Installing and removing object versions under the bucket's versioning state, inside the
caller's transaction. Every function returns the blobs that no row refers to any more; the
caller deletes them after its transaction committed (a crash in between leaves orphans that the
blob store's sweep removes, never a row without its blob).

Versioning (S3 User Guide, "Using versioning in S3 buckets"):
- unversioned: a write replaces the key's only version, "null";
- enabled: a write adds a version with a fresh id, the previous one becomes noncurrent;
- suspended: a write replaces the "null" version (current or not) and leaves the others.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from trailgate.protocol.timestamps import format_rfc822
from trailgate.services.s3.records import (
    NULL_VERSION,
    Bucket,
    ObjectVersion,
    current_object,
    delete_current,
    insert_current,
    new_version_id,
    next_seq,
    version_from_row,
)
from trailgate.store.schema_s3 import s3_object_versions, s3_parts


def release(conn: Connection, version: ObjectVersion) -> list[str]:
    """Forget the body of a version that is being removed; returns its blobs."""
    if version.upload_id is not None:
        rows = conn.execute(
            select(s3_parts.c.blob).where(s3_parts.c.upload_id == version.upload_id)
        ).all()
        conn.execute(delete(s3_parts).where(s3_parts.c.upload_id == version.upload_id))
        return [r.blob for r in rows]
    return [version.blob] if version.blob else []


def _delete_current(conn: Connection, version: ObjectVersion) -> None:
    delete_current(conn, version.bucket, version.key)


def _insert_noncurrent(conn: Connection, version: ObjectVersion) -> None:
    conn.execute(
        insert(s3_object_versions).values(
            **version.row(), is_delete_marker=version.is_delete_marker
        )
    )


def _demote(conn: Connection, current: ObjectVersion) -> None:
    _delete_current(conn, current)
    _insert_noncurrent(conn, current)


def _drop_null_noncurrent(conn: Connection, bucket: str, key: str) -> list[str]:
    t = s3_object_versions
    row = conn.execute(
        select(t).where(t.c.bucket == bucket, t.c.key == key, t.c.version_id == NULL_VERSION)
    ).first()
    if row is None:
        return []
    old = version_from_row(row._mapping, current=False)
    conn.execute(
        delete(t).where(t.c.bucket == bucket, t.c.key == key, t.c.version_id == NULL_VERSION)
    )
    return release(conn, old)


_UNREAD = ObjectVersion.__new__(ObjectVersion)


def _make_room(
    conn: Connection, bucket: Bucket, key: str, current: ObjectVersion | None = _UNREAD
) -> tuple[str, list[str]]:
    """Move the key's current version out of the way; (the new version's id, garbage).
    `current` is the key's current version when the caller has just read it."""
    garbage: list[str] = []
    if current is _UNREAD:
        current = current_object(conn, bucket.name, key)
    if bucket.versioning == "Enabled":
        if current is not None:
            _demote(conn, current)
        return new_version_id(), garbage
    if current is not None:
        if current.version_id == NULL_VERSION:
            _delete_current(conn, current)
            garbage += release(conn, current)
        else:
            _demote(conn, current)
    if bucket.versioning == "Suspended":
        garbage += _drop_null_noncurrent(conn, bucket.name, key)
    return NULL_VERSION, garbage


def install(
    conn: Connection, bucket: Bucket, version: ObjectVersion,
    current: ObjectVersion | None = _UNREAD,
) -> list[str]:
    """Make `version` the key's current version (its version_id and seq are assigned here).
    Pass `current` when it was just read in this transaction, to save reading it again."""
    version.version_id, garbage = _make_room(conn, bucket, version.key, current)
    version.seq = next_seq()
    insert_current(conn, version)
    return garbage


def add_delete_marker(
    conn: Connection, bucket: Bucket, key: str, owner: str, now: datetime
) -> tuple[str, list[str]]:
    """DeleteObject without a version id on a versioning bucket; (marker's id, garbage)."""
    version_id, garbage = _make_room(conn, bucket, key)
    marker = ObjectVersion(
        bucket=bucket.name, key=key, version_id=version_id, seq=next_seq(), size=0, etag="",
        last_modified=now, headers={}, user_metadata={}, blob=None, upload_id=None,
        parts_count=None, checksum_algorithm=None, checksum_value=None, tags=[], acl=None,
        owner_account=owner, storage_class="STANDARD", is_delete_marker=True,
    )
    _insert_noncurrent(conn, marker)
    return version_id, garbage


def delete_unversioned(conn: Connection, bucket: str, key: str) -> list[str]:
    current = current_object(conn, bucket, key)
    if current is None:
        return []
    _delete_current(conn, current)
    return release(conn, current)


def delete_version(conn: Connection, version: ObjectVersion) -> list[str]:
    """Permanently remove one version; the newest remaining object version becomes current
    when the removed one was current or the delete marker on top."""
    t = s3_object_versions
    if version.is_current and not version.is_delete_marker:
        _delete_current(conn, version)
    else:
        conn.execute(
            delete(t).where(t.c.bucket == version.bucket, t.c.key == version.key,
                            t.c.version_id == version.version_id)
        )
    garbage = release(conn, version)
    if current_object(conn, version.bucket, version.key) is None:
        row = conn.execute(
            select(t).where(t.c.bucket == version.bucket, t.c.key == version.key)
            .order_by(t.c.seq.desc()).limit(1)
        ).first()
        if row is not None and not row._mapping["is_delete_marker"]:
            promoted = version_from_row(row._mapping, current=True)
            conn.execute(
                delete(t).where(t.c.bucket == promoted.bucket, t.c.key == promoted.key,
                                t.c.version_id == promoted.version_id)
            )
            insert_current(conn, promoted)
    return garbage


def system_headers(params: dict[str, Any]) -> dict[str, str]:
    """The headers S3 stores with an object and answers on reads."""
    headers: dict[str, str] = {}
    for name in ("ContentType", "ContentEncoding", "CacheControl", "ContentDisposition",
                 "ContentLanguage", "WebsiteRedirectLocation"):
        value = params.get(name)
        if value:
            headers[name] = str(value)
    expires = params.get("Expires")
    if expires is not None:
        if isinstance(expires, datetime):
            headers["Expires"] = format_rfc822(expires)
        else:
            headers["Expires"] = str(expires)
    return headers


MAX_METADATA_SIZE = 2048


def user_metadata(params: dict[str, Any]) -> dict[str, str]:
    from trailgate.errors import AwsError

    metadata = {str(k).lower(): str(v) for k, v in (params.get("Metadata") or {}).items()}
    size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    if size > MAX_METADATA_SIZE:
        raise AwsError(
            "MetadataTooLarge",
            "Your metadata headers exceed the maximum allowed metadata size",
            400,
            extra={"Size": str(size), "MaxSizeAllowed": str(MAX_METADATA_SIZE)},
        )
    return metadata


def acl_text(acl: dict[str, Any] | None) -> str | None:
    return json.dumps(acl) if acl else None
