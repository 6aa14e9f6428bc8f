"""DeleteObject and DeleteObjects.

Deleting a key that is not there succeeds (204), as in S3. On a versioning bucket a delete
without a version id adds a delete marker; with a version id it removes that version for good
("null" names the version of an unversioned write). DeleteObjects is authorized key by key: the
operation is per-item, each key's check carries the key as its item, and keys the caller may not
delete come back as AccessDenied entries in Errors while the others are deleted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from trailgate.errors import AwsError
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.services.s3 import errors
from trailgate.services.s3.authz import object_check, require_bucket
from trailgate.services.s3.records import Bucket, blob_store, find_version, read_bucket, write
from trailgate.services.s3.writes import add_delete_marker, delete_unversioned, delete_version

MAX_DELETE_KEYS = 1000


def _action(version_id: str | None) -> tuple[str, dict[str, Any]]:
    if version_id is None:
        return "s3:DeleteObject", {}
    return "s3:DeleteObjectVersion", {"s3:versionid": version_id}


def _authorize_delete(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    action, keys = _action(params.get("VersionId"))
    return [object_check(ctx, bucket, params["Key"], action, keys)]


def _delete_one(
    ctx: CallContext, conn: Any, bucket: Bucket, key: str, version_id: str | None
) -> tuple[dict[str, Any], list[str]]:
    """Delete in the caller's transaction; (output members, garbage blobs)."""
    owner = ctx.principal.account_id or bucket.owner_account
    if version_id is not None:
        version = find_version(conn, bucket.name, key, version_id)
        if version is None:
            return {"VersionId": version_id}, []
        garbage = delete_version(conn, version)
        output: dict[str, Any] = {"VersionId": version_id}
        if version.is_delete_marker:
            output["DeleteMarker"] = True
        return output, garbage
    if bucket.versioning is None:
        return {}, delete_unversioned(conn, bucket.name, key)
    marker_id, garbage = add_delete_marker(conn, bucket, key, owner, ctx.now)
    return {"DeleteMarker": True, "VersionId": marker_id}, garbage


@operation("s3", "DeleteObject", authorize=_authorize_delete)
def delete_object(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name, key = params["Bucket"], params["Key"]
    version_id = params.get("VersionId")
    runtime = ctx.runtime
    with write(runtime) as conn:
        bucket = read_bucket(runtime, conn, name, lock=True)
        if bucket is None:
            raise errors.no_such_bucket(name)
        output, garbage = _delete_one(ctx, conn, bucket, key, version_id)
    blob_store(runtime).delete(garbage)
    return output


def _item(key: str, version_id: str | None) -> str:
    return key if version_id is None else f"{key}?versionId={version_id}"


def _entries(params: dict[str, Any]) -> list[dict[str, Any]]:
    entries = (params.get("Delete") or {}).get("Objects") or []
    if not entries or len(entries) > MAX_DELETE_KEYS:
        raise errors.malformed_xml()
    return entries


def _authorize_delete_many(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    checks = []
    for entry in _entries(params):
        version_id = entry.get("VersionId")
        action, keys = _action(version_id)
        checks.append(
            object_check(ctx, bucket, entry["Key"], action, keys,
                         item=_item(entry["Key"], version_id))
        )
    return checks


def _check_body_digest(ctx: CallContext) -> None:
    request = ctx.request
    if request is None or request.body is None:
        return
    claimed = request.headers.get("content-md5")
    if claimed is None:
        return
    try:
        expected = base64.b64decode(claimed.strip(), validate=True)
    except ValueError:
        expected = b""
    if len(expected) != 16:
        raise AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)
    if not hmac.compare_digest(hashlib.md5(request.body, usedforsecurity=False).digest(),
                               expected):
        raise AwsError("BadDigest", "The Content-MD5 you specified did not match what we "
                       "received.", 400)


@operation("s3", "DeleteObjects", authorize=_authorize_delete_many, per_item=True)
def delete_objects(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    _check_body_digest(ctx)
    name = params["Bucket"]
    quiet = bool((params.get("Delete") or {}).get("Quiet"))
    deleted: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    garbage: list[str] = []
    runtime = ctx.runtime
    with write(runtime) as conn:
        bucket = read_bucket(runtime, conn, name, lock=True)
        if bucket is None:
            raise errors.no_such_bucket(name)
        for entry in _entries(params):
            key, version_id = entry["Key"], entry.get("VersionId")
            if not ctx.item_decisions.get(_item(key, version_id), False):
                error: dict[str, Any] = {"Key": key, "Code": "AccessDenied",
                                         "Message": "Access Denied"}
                if version_id is not None:
                    error["VersionId"] = version_id
                failed.append(error)
                continue
            output, dropped = _delete_one(ctx, conn, bucket, key, version_id)
            garbage += dropped
            if quiet:
                continue
            result: dict[str, Any] = {"Key": key}
            if version_id is not None:
                result["VersionId"] = version_id
                if output.get("DeleteMarker"):
                    result["DeleteMarker"] = True
                    result["DeleteMarkerVersionId"] = version_id
            elif output.get("DeleteMarker"):
                result["DeleteMarker"] = True
                result["DeleteMarkerVersionId"] = output["VersionId"]
            deleted.append(result)
    blob_store(runtime).delete(garbage)
    out: dict[str, Any] = {}
    if deleted:
        out["Deleted"] = deleted
    if failed:
        out["Errors"] = failed
    return out
