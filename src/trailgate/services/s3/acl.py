"""Access control lists and Object Ownership: canned ACLs and grant headers turned into grants,
GetBucketAcl / PutBucketAcl, and Get/Put/DeleteBucketOwnershipControls.

ACLs are stored and answered as S3 does, but they grant nothing here: authorization is decided by
policies alone (new buckets default to BucketOwnerEnforced, where S3 ignores ACLs as well). With
BucketOwnerEnforced only ACLs equivalent to full control for the bucket owner are accepted
(AccessControlListNotSupported otherwise), and reads answer full control for the bucket owner.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from sqlalchemy import update

from trailgate.errors import AwsError
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.services.s3 import errors
from trailgate.services.s3.authz import WRITE_HEADER_KEYS, bucket_check, header_keys, require_bucket
from trailgate.services.s3.records import bucket_changed, canonical_id, owner_of, read_bucket, write
from trailgate.store.schema_s3 import s3_buckets

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"

CANNED = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
)
_GRANT_PARAMS = {
    "GrantFullControl": "FULL_CONTROL",
    "GrantRead": "READ",
    "GrantReadACP": "READ_ACP",
    "GrantWrite": "WRITE",
    "GrantWriteACP": "WRITE_ACP",
}
_GRANTEE = re.compile(r'\s*(id|uri|emailAddress)\s*=\s*"?([^",]*)"?\s*')


def _user(account: str) -> dict[str, str]:
    return {"Type": "CanonicalUser", "ID": canonical_id(account), "DisplayName": account}


def _group(uri: str) -> dict[str, str]:
    return {"Type": "Group", "URI": uri}


def canned_grants(name: str, owner: str, bucket_owner: str) -> list[dict[str, Any]]:
    grants: list[dict[str, Any]] = [{"Grantee": _user(owner), "Permission": "FULL_CONTROL"}]
    if name == "public-read":
        grants.append({"Grantee": _group(ALL_USERS), "Permission": "READ"})
    elif name == "public-read-write":
        grants.append({"Grantee": _group(ALL_USERS), "Permission": "READ"})
        grants.append({"Grantee": _group(ALL_USERS), "Permission": "WRITE"})
    elif name == "authenticated-read":
        grants.append({"Grantee": _group(AUTHENTICATED_USERS), "Permission": "READ"})
    elif name == "log-delivery-write":
        grants.append({"Grantee": _group(LOG_DELIVERY), "Permission": "WRITE"})
        grants.append({"Grantee": _group(LOG_DELIVERY), "Permission": "READ_ACP"})
    elif name in ("bucket-owner-read", "bucket-owner-full-control") and bucket_owner != owner:
        permission = "READ" if name == "bucket-owner-read" else "FULL_CONTROL"
        grants.append({"Grantee": _user(bucket_owner), "Permission": permission})
    return grants


def has_acl_params(params: dict[str, Any]) -> bool:
    return bool(params.get("ACL")) or any(params.get(name) for name in _GRANT_PARAMS)


def _parse_grantees(text: str) -> list[dict[str, str]]:
    grantees = []
    for part in text.split(","):
        if not part.strip():
            continue
        match = _GRANTEE.fullmatch(part)
        if match is None:
            raise errors.invalid_argument("Invalid grantee", "x-amz-grant", text)
        kind, value = match.groups()
        if kind == "id":
            grantees.append({"Type": "CanonicalUser", "ID": value})
        elif kind == "uri":
            grantees.append(_group(value))
        else:
            grantees.append({"Type": "AmazonCustomerByEmail", "EmailAddress": value})
    return grantees


def acl_from_params(
    params: dict[str, Any], *, owner: str, bucket_owner: str, for_bucket: bool
) -> dict[str, Any]:
    """The stored ACL for a write's x-amz-acl / x-amz-grant-* (private when neither is sent)."""
    canned = params.get("ACL")
    grant_params = {name: params[name] for name in _GRANT_PARAMS if params.get(name)}
    if canned and grant_params:
        raise errors.invalid_request(
            "Specifying both Canned ACLs and Header Grants is not allowed"
        )
    if grant_params:
        grants: list[dict[str, Any]] = []
        for name, text in grant_params.items():
            for grantee in _parse_grantees(text):
                grants.append({"Grantee": grantee, "Permission": _GRANT_PARAMS[name]})
        return {"owner": owner, "grants": grants}
    canned = canned or "private"
    if canned not in CANNED:
        raise errors.invalid_argument("", "x-amz-acl", canned)
    return {"owner": owner, "canned": canned,
            "grants": canned_grants(canned, owner, bucket_owner)}


def allowed_when_enforced(acl: dict[str, Any], bucket_owner: str | None = None) -> bool:
    """Whether an ACL only gives the owner (or the bucket owner) full control."""
    owners = {canonical_id(acl["owner"])}
    if bucket_owner:
        owners.add(canonical_id(bucket_owner))
    return all(
        g["Permission"] == "FULL_CONTROL"
        and g["Grantee"].get("Type") == "CanonicalUser"
        and g["Grantee"].get("ID") in owners
        for g in acl["grants"]
    )


def acl_from_policy(policy: dict[str, Any], owner: str) -> dict[str, Any]:
    grants = []
    for grant in policy.get("Grants") or []:
        grantee = dict(grant.get("Grantee") or {})
        if "Type" not in grantee or "Permission" not in grant:
            raise errors.malformed_xml()
        grants.append({"Grantee": grantee, "Permission": grant["Permission"]})
    return {"owner": owner, "grants": grants}


def render(acl_text: str | None, owner: str, enforced: bool) -> dict[str, Any]:
    """GetBucketAcl / GetObjectAcl output for a stored ACL."""
    if enforced or not acl_text:
        grants = [{"Grantee": _user(owner), "Permission": "FULL_CONTROL"}]
    else:
        grants = json.loads(acl_text)["grants"]
    return {"Owner": owner_of(owner), "Grants": grants}


# --- bucket ACL ------------------------------------------------------------------------------


def _authorize_get_acl(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [bucket_check(ctx, bucket, "s3:GetBucketAcl")]


@operation("s3", "GetBucketAcl", authorize=_authorize_get_acl, read_only=True)
def get_bucket_acl(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.read() as conn:
        bucket = read_bucket(ctx.runtime, conn, params["Bucket"])
    if bucket is None:
        raise errors.no_such_bucket(params["Bucket"])
    return render(bucket.acl, bucket.owner_account, not bucket.acls_enabled)


def _authorize_put_acl(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [bucket_check(ctx, bucket, "s3:PutBucketAcl", header_keys(ctx, WRITE_HEADER_KEYS))]


@operation("s3", "PutBucketAcl", authorize=_authorize_put_acl)
def put_bucket_acl(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name = params["Bucket"]
    runtime = ctx.runtime
    with write(runtime) as conn:
        bucket = read_bucket(runtime, conn, name, lock=True)
        if bucket is None:
            raise errors.no_such_bucket(name)
        if params.get("AccessControlPolicy") is not None:
            if has_acl_params(params):
                raise AwsError(
                    "UnexpectedContent",
                    "This request does not support content",
                    400,
                )
            acl = acl_from_policy(params["AccessControlPolicy"], bucket.owner_account)
        elif has_acl_params(params):
            acl = acl_from_params(
                params, owner=bucket.owner_account, bucket_owner=bucket.owner_account,
                for_bucket=True,
            )
        else:
            raise AwsError("MissingSecurityHeader", "Your request was missing a required header",
                           400, extra={"MissingHeaderName": "x-amz-acl"})
        if not bucket.acls_enabled and not allowed_when_enforced(acl):
            raise errors.acls_not_supported()
        conn.execute(
            update(s3_buckets).where(s3_buckets.c.name == name).values(acl=json.dumps(acl))
        )
    return {}


# --- ownership controls ----------------------------------------------------------------------


def _authorize_get_ownership(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [bucket_check(ctx, bucket, "s3:GetBucketOwnershipControls")]


@operation("s3", "GetBucketOwnershipControls", authorize=_authorize_get_ownership,
           read_only=True)
def get_ownership_controls(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.read() as conn:
        bucket = read_bucket(ctx.runtime, conn, params["Bucket"])
    if bucket is None:
        raise errors.no_such_bucket(params["Bucket"])
    if bucket.object_ownership is None:
        raise AwsError(
            "OwnershipControlsNotFoundError",
            "The bucket ownership controls were not found",
            404,
            extra={"BucketName": bucket.name},
        )
    return {"OwnershipControls": {"Rules": [{"ObjectOwnership": bucket.object_ownership}]}}


def _authorize_put_ownership(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [bucket_check(ctx, bucket, "s3:PutBucketOwnershipControls")]


def _set_ownership(ctx: CallContext, name: str, value: str | None) -> None:
    runtime = ctx.runtime
    with write(runtime) as conn:
        bucket = read_bucket(runtime, conn, name, lock=True)
        if bucket is None:
            raise errors.no_such_bucket(name)
        if value == "BucketOwnerEnforced" and bucket.acl:
            stored = json.loads(bucket.acl)
            if not allowed_when_enforced(stored):
                raise AwsError(
                    "InvalidBucketAclWithObjectOwnership",
                    "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced "
                    "setting",
                    400,
                )
        conn.execute(
            update(s3_buckets).where(s3_buckets.c.name == name).values(object_ownership=value)
        )
        bucket_changed(runtime, conn)
    runtime.auth_changed()


@operation("s3", "PutBucketOwnershipControls", authorize=_authorize_put_ownership)
def put_ownership_controls(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    rules = (params.get("OwnershipControls") or {}).get("Rules") or []
    values = [rule.get("ObjectOwnership") for rule in rules]
    if len(values) != 1 or values[0] not in (
        "BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"
    ):
        raise errors.malformed_xml()
    _set_ownership(ctx, params["Bucket"], values[0])
    return {}


@operation("s3", "DeleteBucketOwnershipControls", authorize=_authorize_put_ownership)
def delete_ownership_controls(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    _set_ownership(ctx, params["Bucket"], None)
    return {}


# --- object ACL ------------------------------------------------------------------------------


def _object_target(ctx: CallContext, params: dict[str, Any]) -> Any:
    from trailgate.services.s3.tagging import _target

    return _target(ctx, params)


def _object_acl_authorizer(action: str, version_action: str) -> Any:
    def authorize(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
        from trailgate.services.s3.authz import existing_tag_keys, object_check

        bucket = require_bucket(ctx, params["Bucket"])
        keys: dict[str, Any] = header_keys(ctx, WRITE_HEADER_KEYS)
        with contextlib.suppress(AwsError):
            keys.update(existing_tag_keys(_object_target(ctx, params).tag_map()))
        if params.get("VersionId"):
            keys["s3:versionid"] = params["VersionId"]
            return [object_check(ctx, bucket, params["Key"], version_action, keys)]
        return [object_check(ctx, bucket, params["Key"], action, keys)]

    return authorize


@operation("s3", "GetObjectAcl",
           authorize=_object_acl_authorizer("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
           read_only=True)
def get_object_acl(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx, params["Bucket"])
    version = _object_target(ctx, params)
    enforced = not bucket.acls_enabled
    owner = bucket.owner_account if enforced else version.owner_account
    return render(version.acl, owner, enforced)


@operation("s3", "PutObjectAcl",
           authorize=_object_acl_authorizer("s3:PutObjectAcl", "s3:PutObjectVersionAcl"))
def put_object_acl(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    from trailgate.services.s3.records import write
    from trailgate.store.schema_s3 import s3_object_versions, s3_objects

    bucket = require_bucket(ctx, params["Bucket"])
    version = _object_target(ctx, params)
    if params.get("AccessControlPolicy") is not None:
        acl = acl_from_policy(params["AccessControlPolicy"], version.owner_account)
    elif has_acl_params(params):
        acl = acl_from_params(params, owner=version.owner_account,
                              bucket_owner=bucket.owner_account, for_bucket=False)
    else:
        raise AwsError("MissingSecurityHeader", "Your request was missing a required header",
                       400, extra={"MissingHeaderName": "x-amz-acl"})
    if not bucket.acls_enabled and not allowed_when_enforced(acl, bucket.owner_account):
        raise errors.acls_not_supported()
    table = s3_objects if version.is_current else s3_object_versions
    with write(ctx.runtime) as conn:
        conn.execute(
            update(table)
            .where(table.c.bucket == version.bucket, table.c.key == version.key,
                   table.c.version_id == version.version_id)
            .values(acl=json.dumps(acl))
        )
    return {}
