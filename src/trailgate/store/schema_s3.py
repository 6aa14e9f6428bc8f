"""Tables of S3: buckets and their configuration, objects, multipart uploads and parts.

Objects live in two tables. `s3_objects` holds the current version of each key when it is an
object (not a delete marker), keyed by (bucket, key), so ListObjects is one ordered range seek.
`s3_object_versions` holds everything else that versioning keeps: noncurrent versions and delete
markers. A multipart object's body is the list of its parts (`s3_parts` rows of its upload id),
so completing an upload moves no data.

Bodies are in the blob store, except small ones written by PutObject, which are kept in their
object row (`body`, see services/s3/bodies.py): one transaction stores the whole object.

Keys compare as bytes on both databases (S3 lists in UTF-8 binary order): SQLite's default
BINARY collation does that, PostgreSQL needs the "C" collation on the key columns.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from trailgate.store.schema import metadata
from trailgate.store.types import UtcDateTime

SINCE = {"since": 3}


def _key_type(length: int = 1024) -> String:
    return String(length).with_variant(String(length, collation="C"), "postgresql")  # type: ignore[return-value]


s3_buckets = Table(
    "s3_buckets",
    metadata,
    Column("name", _key_type(63), primary_key=True),
    Column("owner_account", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # None: never configured; "Enabled" or "Suspended" once set.
    Column("versioning", String(16), nullable=True),
    # None after DeleteBucketOwnershipControls (ACLs then behave as ObjectWriter).
    Column("object_ownership", String(32), nullable=True),
    Column("policy", Text, nullable=True),
    # JSON: {"canned": name} or {"grants": [...]} (see services/s3/acl.py).
    Column("acl", Text, nullable=True),
    # JSON list of {"Key", "Value"}, None when the bucket has no tag set.
    Column("tags", Text, nullable=True),
    info=SINCE,
)
Index("ix_s3_buckets_owner", s3_buckets.c.owner_account, s3_buckets.c.name)


def _object_columns(*, versions: bool) -> list[Column]:  # type: ignore[type-arg]
    return [
        Column("bucket", _key_type(63), primary_key=True),
        Column("key", _key_type(), primary_key=True),
        Column("version_id", String(64), primary_key=versions, nullable=False),
        # Orders the versions of one key (newest highest); nanoseconds since the epoch.
        Column("seq", BigInteger, nullable=False),
        Column("size", BigInteger, nullable=False),
        Column("etag", String(80), nullable=False),
        Column("last_modified", UtcDateTime(), nullable=False),
        # JSON: Content-Type, Content-Encoding, Cache-Control, ... as sent by the writer.
        Column("headers", Text, nullable=True),
        # JSON: user metadata (x-amz-meta-*), names lower-cased.
        Column("user_metadata", Text, nullable=True),
        # One blob for the whole body, or (multipart) the parts of `upload_id`, or `body`.
        Column("blob", String(80), nullable=True),
        Column("upload_id", String(128), nullable=True),
        Column("parts_count", Integer, nullable=True),
        Column("checksum_algorithm", String(16), nullable=True),
        Column("checksum_value", String(128), nullable=True),
        Column("tags", Text, nullable=True),
        Column("acl", Text, nullable=True),
        Column("owner_account", String(12), nullable=False),
        Column("storage_class", String(32), nullable=False, default="STANDARD"),
        # A small body kept in the row itself (schema version 6 and later).
        Column("body", LargeBinary, nullable=True),
    ]


s3_objects = Table("s3_objects", metadata, *_object_columns(versions=False), info=SINCE)
Index("ix_s3_objects_blob", s3_objects.c.blob)

s3_object_versions = Table(
    "s3_object_versions",
    metadata,
    *_object_columns(versions=True),
    Column("is_delete_marker", Boolean, nullable=False, default=False),
    info=SINCE,
)
Index("ix_s3_versions_order", s3_object_versions.c.bucket, s3_object_versions.c.key,
      s3_object_versions.c.seq)
Index("ix_s3_versions_blob", s3_object_versions.c.blob)

s3_uploads = Table(
    "s3_uploads",
    metadata,
    Column("upload_id", String(128), primary_key=True),
    Column("bucket", _key_type(63), nullable=False),
    Column("key", _key_type(), nullable=False),
    Column("initiated", UtcDateTime(), nullable=False),
    Column("owner_account", String(12), nullable=False),
    Column("initiator_arn", String(2048), nullable=False),
    Column("initiator_id", String(256), nullable=False),
    Column("headers", Text, nullable=True),
    Column("user_metadata", Text, nullable=True),
    Column("acl", Text, nullable=True),
    Column("tags", Text, nullable=True),
    Column("checksum_algorithm", String(16), nullable=True),
    Column("storage_class", String(32), nullable=False, default="STANDARD"),
    info=SINCE,
)
Index("ix_s3_uploads_order", s3_uploads.c.bucket, s3_uploads.c.key, s3_uploads.c.initiated,
      s3_uploads.c.upload_id)

s3_parts = Table(
    "s3_parts",
    metadata,
    Column("upload_id", String(128), primary_key=True),
    Column("part_number", Integer, primary_key=True, autoincrement=False),
    Column("blob", String(80), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(80), nullable=False),
    Column("last_modified", UtcDateTime(), nullable=False),
    Column("checksum_value", String(128), nullable=True),
    info=SINCE,
)
Index("ix_s3_parts_blob", s3_parts.c.blob)
