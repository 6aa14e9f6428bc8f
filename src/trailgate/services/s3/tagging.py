"""Tags: bucket tagging (Get/Put/DeleteBucketTagging) and object tagging (Get/Put/Delete
ObjectTagging, and the x-amz-tagging header of writes). Object tags feed the
s3:ExistingObjectTag/<key> and s3:RequestObjectTag/<key> condition keys."""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import update

from trailgate.errors import AwsError
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.services.s3 import errors
from trailgate.services.s3.authz import (
    bucket_check,
    existing_tag_keys,
    object_check,
    request_tag_keys,
    require_bucket,
)
from trailgate.services.s3.records import (
    ObjectVersion,
    current_object,
    find_version,
    read_bucket,
    write,
)
from trailgate.store.schema_s3 import s3_buckets, s3_object_versions, s3_objects

MAX_BUCKET_TAGS = 50
MAX_OBJECT_TAGS = 10


def validate_tags(tags: list[dict[str, str]], limit: int) -> list[dict[str, str]]:
    seen: set[str] = set()
    clean = []
    for tag in tags:
        key, value = tag.get("Key"), tag.get("Value", "")
        if key is None:
            raise errors.malformed_xml()
        if not 1 <= len(key) <= 128:
            raise errors.invalid_tag("The TagKey you have provided is invalid")
        if len(value) > 256:
            raise errors.invalid_tag("The TagValue you have provided is invalid")
        if key.lower().startswith("aws:"):
            raise errors.invalid_tag("System tags cannot be added/updated by requester")
        if key in seen:
            raise errors.invalid_tag("Cannot provide multiple Tags with the same key")
        seen.add(key)
        clean.append({"Key": key, "Value": value})
    if len(clean) > limit:
        if limit == MAX_OBJECT_TAGS:
            raise errors.invalid_tag("Object tags cannot be greater than 10")
        raise errors.invalid_tag("Bucket tag count cannot be greater than 50")
    return clean


def tags_from_header(value: str | None) -> list[dict[str, str]]:
    """The x-amz-tagging header: URL-encoded key=value pairs."""
    if not value:
        return []
    pairs = parse_qsl(value, keep_blank_values=True)
    return validate_tags([{"Key": k, "Value": v} for k, v in pairs], MAX_OBJECT_TAGS)


# --- bucket tagging --------------------------------------------------------------------------


def _bucket_authorizer(action: str) -> Any:
    def authorize(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
        bucket = require_bucket(ctx, params["Bucket"])
        return [bucket_check(ctx, bucket, action)]

    return authorize


@operation("s3", "GetBucketTagging", authorize=_bucket_authorizer("s3:GetBucketTagging"),
           read_only=True)
def get_bucket_tagging(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.read() as conn:
        bucket = read_bucket(ctx.runtime, conn, params["Bucket"])
    if bucket is None:
        raise errors.no_such_bucket(params["Bucket"])
    if not bucket.tags:
        raise AwsError("NoSuchTagSet", "The TagSet does not exist", 404,
                       extra={"BucketName": bucket.name})
    return {"TagSet": json.loads(bucket.tags)}


def _set_bucket_tags(ctx: CallContext, name: str, tags: list[dict[str, str]] | None) -> None:
    with write(ctx.runtime) as conn:
        if read_bucket(ctx.runtime, conn, name, lock=True) is None:
            raise errors.no_such_bucket(name)
        conn.execute(
            update(s3_buckets)
            .where(s3_buckets.c.name == name)
            .values(tags=json.dumps(tags) if tags else None)
        )


@operation("s3", "PutBucketTagging", authorize=_bucket_authorizer("s3:PutBucketTagging"))
def put_bucket_tagging(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    tag_set = (params.get("Tagging") or {}).get("TagSet")
    if tag_set is None:
        raise errors.malformed_xml()
    _set_bucket_tags(ctx, params["Bucket"], validate_tags(tag_set, MAX_BUCKET_TAGS))
    return {}


@operation("s3", "DeleteBucketTagging", authorize=_bucket_authorizer("s3:PutBucketTagging"))
def delete_bucket_tagging(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    _set_bucket_tags(ctx, params["Bucket"], None)
    return {}


# --- object tagging --------------------------------------------------------------------------


def _target(ctx: CallContext, params: dict[str, Any]) -> ObjectVersion:
    with ctx.runtime.db.read() as conn:
        if params.get("VersionId"):
            version = find_version(conn, params["Bucket"], params["Key"], params["VersionId"])
            if version is None:
                raise errors.no_such_version(params["Key"], params["VersionId"])
        else:
            version = current_object(conn, params["Bucket"], params["Key"])
            if version is None:
                raise errors.no_such_key(params["Key"])
    if version.is_delete_marker:
        raise errors.method_not_allowed("GET", "DeleteMarker", [("x-amz-delete-marker", "true")])
    return version


def _object_authorizer(action: str, version_action: str) -> Any:
    def authorize(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
        bucket = require_bucket(ctx, params["Bucket"])
        keys: dict[str, Any] = {}
        with contextlib.suppress(AwsError):
            keys.update(existing_tag_keys(_target(ctx, params).tag_map()))
        if params.get("Tagging"):
            tags = (params["Tagging"] or {}).get("TagSet") or []
            keys.update(request_tag_keys({t["Key"]: t.get("Value", "") for t in tags}))
        if params.get("VersionId"):
            keys["s3:versionid"] = params["VersionId"]
            return [object_check(ctx, bucket, params["Key"], version_action, keys)]
        return [object_check(ctx, bucket, params["Key"], action, keys)]

    return authorize


@operation("s3", "GetObjectTagging",
           authorize=_object_authorizer("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
           read_only=True)
def get_object_tagging(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    version = _target(ctx, params)
    return {"TagSet": version.tags, "VersionId": version.version_id}


def _write_object_tags(
    ctx: CallContext, params: dict[str, Any], tags: list[dict[str, str]]
) -> dict[str, Any]:
    version = _target(ctx, params)
    table = s3_objects if version.is_current else s3_object_versions
    with write(ctx.runtime) as conn:
        result = conn.execute(
            update(table)
            .where(
                table.c.bucket == version.bucket,
                table.c.key == version.key,
                table.c.version_id == version.version_id,
            )
            .values(tags=json.dumps(tags) if tags else None)
        )
        if result.rowcount == 0:
            raise errors.no_such_key(params["Key"])
    return {"VersionId": version.version_id}


@operation("s3", "PutObjectTagging",
           authorize=_object_authorizer("s3:PutObjectTagging", "s3:PutObjectVersionTagging"))
def put_object_tagging(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    tag_set = (params.get("Tagging") or {}).get("TagSet")
    if tag_set is None:
        raise errors.malformed_xml()
    return _write_object_tags(ctx, params, validate_tags(tag_set, MAX_OBJECT_TAGS))


@operation("s3", "DeleteObjectTagging",
           authorize=_object_authorizer("s3:DeleteObjectTagging",
                                        "s3:DeleteObjectVersionTagging"))
def delete_object_tagging(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return _write_object_tags(ctx, params, [])
