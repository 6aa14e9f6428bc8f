"""CopyObject (and the copy-source handling UploadPartCopy shares).

Two questions are asked: s3:GetObject (s3:GetObjectVersion with a version id) on the source,
under the source bucket's policy, and s3:PutObject on the target, under the target bucket's.
The bytes are copied into a new blob: versions never share blobs, so deleting one never has to
ask who else uses its file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from trailgate.errors import AwsError
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.services.s3 import bodies, errors
from trailgate.services.s3.authz import (
    bucket_check,
    existing_tag_keys,
    object_check,
    require_bucket,
)
from trailgate.services.s3.objects import (
    _state,
    check_key,
    check_read_conditions,
    commit_version,
    object_acl,
    object_owner,
    version_output,
    write_condition_keys,
)
from trailgate.services.s3.records import (
    ObjectVersion,
    blob_store,
    find_version,
    latest_version,
    segments,
)
from trailgate.services.s3.tagging import tags_from_header
from trailgate.services.s3.writes import acl_text, system_headers, user_metadata

SOURCE_LIST_ITEM = "source:s3:ListBucket"
_SELF_COPY = (
    "This copy request is illegal because it is trying to copy an object to itself without "
    "changing the object's metadata, storage class, website redirect location or encryption "
    "attributes."
)


@dataclass(frozen=True)
class CopySource:
    bucket: str
    key: str
    version_id: str | None


def parse_copy_source(raw: str) -> CopySource:
    """`bucket/key` or `/bucket/key`, URL-encoded, optionally `?versionId=...`."""
    text, _, query = raw.partition("?")
    version_id = None
    if query:
        name, _, value = query.partition("=")
        if name != "versionId" or not value:
            raise errors.invalid_argument("Invalid copy source version id", "x-amz-copy-source",
                                          raw)
        version_id = unquote(value)
    path = unquote(text).lstrip("/")
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        raise errors.invalid_argument(
            "Invalid copy source object key", "x-amz-copy-source", raw
        )
    return CopySource(bucket, key, version_id)


def source_checks(ctx: CallContext, raw: str) -> list[AuthzCheck]:
    """The source half of a copy's authorization (reads the source version for the body)."""
    source = parse_copy_source(raw)
    bucket = require_bucket(ctx, source.bucket)
    with ctx.runtime.db.read() as conn:
        if source.version_id is not None:
            version = find_version(conn, source.bucket, source.key, source.version_id)
        else:
            version = latest_version(conn, source.bucket, source.key)
    state = _state(ctx)
    state["source"] = source
    state["source_version"] = version
    keys: dict[str, Any] = {}
    if version is not None and not version.is_delete_marker:
        keys.update(existing_tag_keys(version.tag_map()))
    action = "s3:GetObject"
    if source.version_id is not None:
        action = "s3:GetObjectVersion"
        keys["s3:versionid"] = source.version_id
    checks = [object_check(ctx, bucket, source.key, action, keys)]
    if version is None or version.is_delete_marker:
        checks.append(bucket_check(ctx, bucket, "s3:ListBucket", item=SOURCE_LIST_ITEM))
    return checks


def copy_source_version(
    ctx: CallContext, params: dict[str, Any]
) -> tuple[CopySource, ObjectVersion]:
    """The source version authorize read, checked for existence and the copy-source-if-*
    conditions."""
    state = _state(ctx)
    source: CopySource = state["source"]
    version: ObjectVersion | None = state["source_version"]
    if version is None or version.is_delete_marker:
        if source.version_id is not None and version is not None:
            raise errors.invalid_request(
                "The source of a copy request may not specifically refer to a delete marker "
                "by version id."
            )
        if not ctx.item_decisions.get(SOURCE_LIST_ITEM, False):
            raise errors.access_denied()
        if source.version_id is not None:
            raise errors.no_such_version(source.key, source.version_id)
        raise errors.no_such_key(source.key)
    check_read_conditions(
        version,
        if_match=params.get("CopySourceIfMatch"),
        if_none_match=params.get("CopySourceIfNoneMatch"),
        if_modified_since=params.get("CopySourceIfModifiedSince"),
        if_unmodified_since=params.get("CopySourceIfUnmodifiedSince"),
        names=("x-amz-copy-source-If-Match", "x-amz-copy-source-If-None-Match",
               "x-amz-copy-source-If-Modified-Since", "x-amz-copy-source-If-Unmodified-Since"),
        not_modified_status=False,
    )
    return source, version


def copy_bytes(
    ctx: CallContext, version: ObjectVersion, start: int = 0, end: int | None = None
) -> tuple[str, int, str]:
    """Copy bytes start..end of a version into a new committed blob; (blob, size, md5 hex)."""
    import hashlib

    store = blob_store(ctx.runtime)
    with ctx.runtime.db.read() as conn:
        parts = segments(conn, version)
    last = version.size - 1 if end is None else end
    md5 = hashlib.md5(usedforsecurity=False)
    with store.writer() as writer:
        for chunk in bodies.read_range(store, parts, start, last):
            md5.update(chunk)
            writer.write(chunk)
        name = writer.commit()
        return name, writer.size, md5.hexdigest()


def _authorize_copy(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    target = require_bucket(ctx, params["Bucket"])
    checks = source_checks(ctx, params["CopySource"])
    keys = write_condition_keys(ctx, params)
    checks.append(object_check(ctx, target, params["Key"], "s3:PutObject", keys))
    if params.get("TaggingDirective") == "REPLACE" and params.get("Tagging"):
        checks.append(object_check(ctx, target, params["Key"], "s3:PutObjectTagging", keys))
    return checks


def _directive(params: dict[str, Any], name: str, wire: str) -> str:
    value = params.get(name) or "COPY"
    if value not in ("COPY", "REPLACE"):
        raise errors.invalid_argument(f"Unknown {wire}.", wire, value)
    return value


@operation("s3", "CopyObject", authorize=_authorize_copy, per_item=True)
def copy_object(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    key = check_key(params["Key"])
    target = require_bucket(ctx, params["Bucket"])
    metadata_directive = _directive(params, "MetadataDirective", "x-amz-metadata-directive")
    tagging_directive = _directive(params, "TaggingDirective", "x-amz-tagging-directive")
    source, version = copy_source_version(ctx, params)
    if (
        source.bucket == target.name
        and source.key == key
        and metadata_directive == "COPY"
        and not params.get("StorageClass")
        and not params.get("WebsiteRedirectLocation")
        and not params.get("ServerSideEncryption")
        and (source.version_id is None or version.is_current)
    ):
        raise errors.invalid_request(_SELF_COPY)
    if version.size > bodies.MAX_OBJECT_SIZE:
        raise AwsError(
            "InvalidRequest",
            "The specified copy source is larger than the maximum allowable size for a copy "
            "source: 5368709120",
            400,
        )
    acl = object_acl(ctx, target, params)
    if metadata_directive == "REPLACE":
        headers = system_headers(params)
        headers.setdefault("ContentType", "binary/octet-stream")
        metadata = user_metadata(params)
    else:
        headers = dict(version.headers)
        metadata = dict(version.user_metadata)
    if tagging_directive == "REPLACE":
        tags = tags_from_header(params.get("Tagging"))
    else:
        tags = list(version.tags)
    blob, size, md5_hex = copy_bytes(ctx, version)
    new = ObjectVersion(
        bucket=target.name, key=key, version_id="null", seq=0, size=size, etag=md5_hex,
        last_modified=ctx.now, headers=headers, user_metadata=metadata, blob=blob,
        upload_id=None, parts_count=None,
        checksum_algorithm=None, checksum_value=None, tags=tags, acl=acl_text(acl),
        owner_account=object_owner(ctx, target, acl),
        storage_class=params.get("StorageClass") or "STANDARD",
    )
    if version.checksum_algorithm and version.upload_id is None:
        new.checksum_algorithm = version.checksum_algorithm
        new.checksum_value = version.checksum_value
    target = commit_version(ctx, target.name, new, params, [blob])
    output: dict[str, Any] = {
        "CopyObjectResult": {"ETag": new.quoted_etag, "LastModified": new.last_modified},
        **version_output(target, new.version_id),
    }
    source_bucket = require_bucket(ctx, source.bucket)
    if source_bucket.versioning is not None or source.version_id is not None:
        output["CopySourceVersionId"] = version.version_id
    return output
