"""PutObject, GetObject and HeadObject: bodies in and out, metadata, ranges, conditional
requests and response-header overrides.

A missing key: S3 answers NoSuchKey (404) only to callers allowed s3:ListBucket on the bucket and
AccessDenied (403) to the others, so that a caller cannot probe for keys it may not list. The
read's authorize declares s3:ListBucket as a per-item check when the key is missing, and the body
picks the error from its outcome.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from trailgate.errors import AwsError
from trailgate.protocol.timestamps import format_rfc822
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.services.s3 import acl as acls
from trailgate.services.s3 import bodies, errors
from trailgate.services.s3.authz import (
    WRITE_HEADER_KEYS,
    bucket_check,
    existing_tag_keys,
    header_keys,
    object_check,
    request_tag_keys,
    require_bucket,
)
from trailgate.services.s3.records import (
    NULL_VERSION,
    Bucket,
    ObjectVersion,
    blob_store,
    commit_grouped,
    current_object,
    find_version,
    latest_version,
    read_bucket,
    read_current,
    segments,
    single_segment,
)
from trailgate.services.s3.tagging import tags_from_header
from trailgate.services.s3.writes import acl_text, install, system_headers, user_metadata

LIST_ITEM = "s3:ListBucket"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_OVERRIDES = {
    "ResponseCacheControl": "CacheControl",
    "ResponseContentDisposition": "ContentDisposition",
    "ResponseContentEncoding": "ContentEncoding",
    "ResponseContentLanguage": "ContentLanguage",
    "ResponseContentType": "ContentType",
    "ResponseExpires": "Expires",
}
_READ_ATTEMPTS = 3


def check_key(key: str | None) -> str:
    if not key:
        raise errors.invalid_request("A key must be specified")
    size = len(key.encode("utf-8"))
    if size > 1024:
        raise errors.key_too_long(size)
    return key


def _state(ctx: CallContext) -> dict[str, Any]:
    # What authorize already read, handed to the body of the same call.
    return ctx.scratch


# --- PutObject -------------------------------------------------------------------------------


def write_condition_keys(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    keys: dict[str, Any] = header_keys(ctx, WRITE_HEADER_KEYS)
    tags = tags_from_header(params.get("Tagging"))
    keys.update(request_tag_keys({t["Key"]: t["Value"] for t in tags}))
    return keys


def _authorize_put(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    key = params["Key"]
    keys = write_condition_keys(ctx, params)
    # An ACL sent with the write is decided by s3:PutObject and its s3:x-amz-acl key (the
    # CloudTrail bucket policy grants only s3:PutObject); tags need s3:PutObjectTagging too.
    checks = [object_check(ctx, bucket, key, "s3:PutObject", keys)]
    if params.get("Tagging"):
        checks.append(object_check(ctx, bucket, key, "s3:PutObjectTagging", keys))
    return checks


def object_owner(ctx: CallContext, bucket: Bucket, acl: dict[str, Any] | None) -> str:
    writer = ctx.principal.account_id
    if writer is None or bucket.object_ownership == "BucketOwnerEnforced":
        return bucket.owner_account
    if (
        bucket.object_ownership == "BucketOwnerPreferred"
        and acl is not None
        and acl.get("canned") == "bucket-owner-full-control"
    ):
        return bucket.owner_account
    return writer


def object_acl(ctx: CallContext, bucket: Bucket, params: dict[str, Any]) -> dict[str, Any] | None:
    """The ACL of a new object, checked against the bucket's Object Ownership."""
    if not acls.has_acl_params(params):
        return None
    writer = ctx.principal.account_id or bucket.owner_account
    acl = acls.acl_from_params(
        params, owner=writer, bucket_owner=bucket.owner_account, for_bucket=False
    )
    if not bucket.acls_enabled and not acls.allowed_when_enforced(acl, bucket.owner_account):
        raise errors.acls_not_supported()
    return acl


def check_write_conditions(
    current: ObjectVersion | None, params: dict[str, Any], key: str
) -> None:
    """PutObject / CompleteMultipartUpload's If-None-Match: * and If-Match."""
    if_none = params.get("IfNoneMatch")
    if if_none is not None:
        if if_none.strip() != "*":
            raise AwsError("NotImplemented", "A header you provided implies functionality that "
                           "is not implemented", 501, extra={"Header": "If-None-Match"})
        if current is not None:
            raise errors.precondition_failed("If-None-Match")
    if_match = params.get("IfMatch")
    if if_match is not None:
        if current is None:
            raise errors.no_such_key(key)
        if not _etag_matches(if_match, current.etag):
            raise errors.precondition_failed("If-Match")


def commit_version(
    ctx: CallContext, bucket_name: str, version: ObjectVersion, params: dict[str, Any],
    new_blobs: list[str],
) -> Bucket:
    """Install `version` in one transaction; on failure its new blobs are removed. Returns the
    bucket as the transaction saw it."""
    runtime = ctx.runtime
    store = blob_store(runtime)

    def work(conn: Connection) -> tuple[Bucket, list[str]]:
        bucket = read_bucket(runtime, conn, bucket_name, lock=True)
        if bucket is None:
            raise errors.no_such_bucket(bucket_name)
        current = current_object(conn, bucket_name, version.key)
        check_write_conditions(current, params, version.key)
        return bucket, install(conn, bucket, version, current)

    try:
        bucket, garbage = commit_grouped(runtime, work)
    except BaseException:
        store.delete(new_blobs)
        raise
    store.delete(garbage)
    return bucket


def version_output(bucket: Bucket, version_id: str) -> dict[str, str]:
    return {"VersionId": version_id} if bucket.versioning else {}


@operation("s3", "PutObject", authorize=_authorize_put)
def put_object(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    key = check_key(params["Key"])
    bucket = require_bucket(ctx, params["Bucket"])
    acl = object_acl(ctx, bucket, params)
    tags = tags_from_header(params.get("Tagging"))
    metadata = user_metadata(params)
    headers = system_headers(params)
    headers.setdefault("ContentType", "binary/octet-stream")
    store = blob_store(ctx.runtime)
    received = bodies.receive(
        ctx, params.get("Body"), store,
        content_md5=params.get("ContentMD5"),
        checksum_algorithm=params.get("ChecksumAlgorithm"),
        keep_in_row=bodies.ROW_BODY_LIMIT,
    )
    version = ObjectVersion(
        bucket=bucket.name, key=key, version_id=NULL_VERSION, seq=0, size=received.size,
        etag=received.md5_hex, last_modified=ctx.now, headers=headers, user_metadata=metadata,
        blob=received.blob, upload_id=None, parts_count=None,
        checksum_algorithm=received.checksum_algorithm, checksum_value=received.checksum_value,
        tags=tags, acl=acl_text(acl), owner_account=object_owner(ctx, bucket, acl),
        storage_class=params.get("StorageClass") or "STANDARD", body=received.body,
    )
    new_blobs = [received.blob] if received.blob else []
    bucket = commit_version(ctx, bucket.name, version, params, new_blobs)
    output: dict[str, Any] = {"ETag": version.quoted_etag, **version_output(bucket,
                                                                               version.version_id)}
    if received.checksum_algorithm and received.checksum_value:
        output[f"Checksum{received.checksum_algorithm.upper()}"] = received.checksum_value
        output["ChecksumType"] = "FULL_OBJECT"
    return output


# --- GetObject / HeadObject ------------------------------------------------------------------


def _lookup(ctx: CallContext, params: dict[str, Any]) -> ObjectVersion | None:
    bucket, key = params["Bucket"], params["Key"]
    version_id = params.get("VersionId")
    if version_id is None:
        current = read_current(ctx.runtime, bucket, key)
        if current is not None:
            return current
    with ctx.runtime.db.read() as conn:
        if version_id is not None:
            return find_version(conn, bucket, key, version_id)
        return latest_version(conn, bucket, key)


def _authorize_read(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    key = params["Key"]
    version_id = params.get("VersionId")
    if version_id is not None and version_id != NULL_VERSION and not _plausible_version(
        version_id
    ):
        raise errors.invalid_version_id(version_id)
    version = _lookup(ctx, params)
    _state(ctx)["version"] = version
    keys: dict[str, Any] = {}
    if version is not None and not version.is_delete_marker:
        keys.update(existing_tag_keys(version.tag_map()))
    action = "s3:GetObject"
    if version_id is not None:
        action = "s3:GetObjectVersion"
        keys["s3:versionid"] = version_id
    checks = [object_check(ctx, bucket, key, action, keys)]
    if version is None or version.is_delete_marker:
        checks.append(bucket_check(ctx, bucket, "s3:ListBucket", item=LIST_ITEM))
    return checks


def _plausible_version(version_id: str) -> bool:
    return 1 <= len(version_id) <= 64 and all(c.isalnum() or c in "-_.=" for c in version_id)


def missing(ctx: CallContext, version: ObjectVersion | None, params: dict[str, Any]) -> AwsError:
    """The error for a key or version that is not there (or is a delete marker)."""
    key = params["Key"]
    if version is not None and version.is_delete_marker:
        headers = [("x-amz-delete-marker", "true"), ("x-amz-version-id", version.version_id)]
        if params.get("VersionId") is not None:
            headers.append(("Last-Modified", format_rfc822(version.last_modified)))
            return errors.method_not_allowed("GET", "DeleteMarker", headers)
        if not ctx.item_decisions.get(LIST_ITEM, False):
            return errors.access_denied()
        return errors.no_such_key(key, headers)
    if not ctx.item_decisions.get(LIST_ITEM, False):
        return errors.access_denied()
    if params.get("VersionId") is not None:
        return errors.no_such_version(key, params["VersionId"])
    return errors.no_such_key(key)


def _etag_matches(header: str, etag: str) -> bool:
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.strip('"') == etag:
            return True
    return False


def _seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def check_read_conditions(
    version: ObjectVersion,
    *,
    if_match: str | None,
    if_none_match: str | None,
    if_modified_since: datetime | None,
    if_unmodified_since: datetime | None,
    names: tuple[str, str, str, str] = ("If-Match", "If-None-Match", "If-Modified-Since",
                                        "If-Unmodified-Since"),
    not_modified_status: bool = True,
) -> None:
    """RFC 7232 order, as S3 documents it: If-Match, else If-Unmodified-Since (412); then
    If-None-Match, else If-Modified-Since (304 for reads, 412 for copy sources)."""
    modified = _seconds(version.last_modified)
    if if_match is not None:
        if not _etag_matches(if_match, version.etag):
            raise errors.precondition_failed(names[0])
    elif if_unmodified_since is not None and modified > if_unmodified_since:
        raise errors.precondition_failed(names[3])
    headers = [
        ("ETag", version.quoted_etag),
        ("Last-Modified", format_rfc822(version.last_modified)),
    ]
    if if_none_match is not None:
        if _etag_matches(if_none_match, version.etag):
            if not_modified_status:
                raise errors.not_modified(headers)
            raise errors.precondition_failed(names[1])
    elif if_modified_since is not None and modified <= if_modified_since:
        if not_modified_status:
            raise errors.not_modified(headers)
        raise errors.precondition_failed(names[2])


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for a single byte range; None when the header is absent or not a
    single range S3 would honour (it then answers the whole object)."""
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0:
            raise _invalid_range(header, size)
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise _invalid_range(header, size)
    return start, min(end, size - 1)


def _invalid_range(header: str, size: int) -> AwsError:
    return AwsError(
        "InvalidRange",
        "The requested range is not satisfiable",
        416,
        extra={"RangeRequested": header, "ActualObjectSize": str(size)},
        headers=[("Content-Range", f"bytes */{size}")],
    )


def describe(version: ObjectVersion, params: dict[str, Any], bucket: Bucket) -> dict[str, Any]:
    """The headers GetObject and HeadObject answer for a version."""
    output: dict[str, Any] = {
        "AcceptRanges": "bytes",
        "LastModified": version.last_modified,
        "ContentLength": version.size,
        "ETag": version.quoted_etag,
        "StorageClass": None if version.storage_class == "STANDARD" else version.storage_class,
    }
    for name, value in version.headers.items():
        output[name] = value
    if version.user_metadata:
        output["Metadata"] = dict(version.user_metadata)
    if bucket.versioning is not None or version.version_id != NULL_VERSION:
        output["VersionId"] = version.version_id
    if version.parts_count:
        output["PartsCount"] = version.parts_count
    if version.tags:
        output["TagCount"] = len(version.tags)
    for param, member in _OVERRIDES.items():
        if params.get(param) is not None:
            output[member] = params[param]
    return {k: v for k, v in output.items() if v is not None}


def _check_overrides(ctx: CallContext, params: dict[str, Any]) -> None:
    if ctx.principal.is_anonymous and any(params.get(p) is not None for p in _OVERRIDES):
        raise errors.invalid_request(
            "Request specific response headers cannot be used for anonymous GET requests."
        )


def _read_target(ctx: CallContext, params: dict[str, Any]) -> tuple[Bucket, ObjectVersion]:
    bucket = require_bucket(ctx, params["Bucket"])
    state = _state(ctx)
    version = state.pop("version", None) if "version" in state else _lookup(ctx, params)
    if version is None or version.is_delete_marker:
        raise missing(ctx, version, params)
    _check_overrides(ctx, params)
    check_read_conditions(
        version,
        if_match=params.get("IfMatch"),
        if_none_match=params.get("IfNoneMatch"),
        if_modified_since=params.get("IfModifiedSince"),
        if_unmodified_since=params.get("IfUnmodifiedSince"),
    )
    return bucket, version


def _part_range(ctx: CallContext, version: ObjectVersion, part_number: int) -> tuple[int, int]:
    with ctx.runtime.db.read() as conn:
        parts = segments(conn, version)
    if version.upload_id is None:
        if part_number != 1:
            raise errors.invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive", "partNumber",
                str(part_number),
            )
        return 0, version.size - 1
    if not 1 <= part_number <= len(parts):
        raise AwsError("InvalidPartNumber", "The requested partnumber is not satisfiable", 416)
    start = sum(size for _, size in parts[: part_number - 1])
    return start, start + parts[part_number - 1][1] - 1


def _checksum_output(version: ObjectVersion, params: dict[str, Any], whole: bool) -> dict[str, str]:
    # Only whole, single-part bodies carry a checksum a client can verify.
    if (
        whole
        and params.get("ChecksumMode") == "ENABLED"
        and version.checksum_algorithm
        and version.checksum_value
        and version.upload_id is None
    ):
        return {
            f"Checksum{version.checksum_algorithm.upper()}": version.checksum_value,
            "ChecksumType": "FULL_OBJECT",
        }
    return {}


def _selected_range(
    ctx: CallContext, version: ObjectVersion, params: dict[str, Any]
) -> tuple[int, int, bool]:
    """(start, end, partial) of the bytes to answer."""
    if params.get("PartNumber") is not None:
        start, end = _part_range(ctx, version, params["PartNumber"])
        return start, end, version.upload_id is not None
    selected = parse_range(params.get("Range"), version.size)
    if selected is None:
        return 0, version.size - 1, False
    return selected[0], selected[1], True


@operation("s3", "GetObject", authorize=_authorize_read, read_only=True, per_item=True)
def get_object(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    bucket, version = _read_target(ctx, params)
    store = blob_store(ctx.runtime)
    for attempt in range(_READ_ATTEMPTS):
        start, end, partial = _selected_range(ctx, version, params)
        try:
            if version.upload_id is None:
                parts = single_segment(version)
            else:
                with ctx.runtime.db.read() as conn:
                    parts = segments(conn, version)
            body = bodies.body_for(store, parts, start, end)  # type: ignore[arg-type]
            break
        except FileNotFoundError:
            # Overwritten or deleted between the metadata read and opening the blob: read the
            # key again (S3 answers whichever version is current).
            if attempt == _READ_ATTEMPTS - 1:
                raise
            version = _lookup(ctx, params)  # type: ignore[assignment]
            if version is None or version.is_delete_marker:
                raise missing(ctx, version, params) from None
    output = describe(version, params, bucket)
    output["Body"] = body
    output["ContentLength"] = max(0, end - start + 1)
    if partial:
        output["ContentRange"] = f"bytes {start}-{end}/{version.size}"
    output.update(_checksum_output(version, params, not partial))
    return output


@operation("s3", "HeadObject", authorize=_authorize_read, read_only=True, per_item=True)
def head_object(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    bucket, version = _read_target(ctx, params)
    output = describe(version, params, bucket)
    start, end, partial = _selected_range(ctx, version, params)
    if partial:
        output["ContentLength"] = max(0, end - start + 1)
        output["ContentRange"] = f"bytes {start}-{end}/{version.size}"
    output.update(_checksum_output(version, params, not partial))
    return output
