"""Buckets: CreateBucket (global names, naming rules, location constraints), HeadBucket,
DeleteBucket, ListBuckets, GetBucketLocation.

Bucket names are global across accounts. Re-creating a bucket you own answers 200 in us-east-1
and BucketAlreadyOwnedByYou elsewhere (S3 API Reference, CreateBucket and "Error responses");
another account's name is BucketAlreadyExists.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from sqlalchemy import exists, insert, select
from sqlalchemy.exc import IntegrityError

from trailgate.errors import AwsError
from trailgate.protocol.models import service_model
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.services.s3 import acl as acls
from trailgate.services.s3 import errors
from trailgate.services.s3.authz import (
    WRITE_HEADER_KEYS,
    account_check,
    bucket_check,
    header_keys,
    request_keys,
    require_bucket,
)
from trailgate.services.s3.records import bucket_changed, owner_of, read_bucket, write
from trailgate.store.schema_s3 import s3_buckets, s3_object_versions, s3_objects, s3_uploads

_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
US_EAST_1 = "us-east-1"
OWNERSHIP_VALUES = ("BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced")


def valid_bucket_name(name: str) -> bool:
    """S3's naming rules for general purpose buckets (S3 User Guide, "Bucket naming rules")."""
    if not _NAME.fullmatch(name) or ".." in name or ".-" in name or "-." in name:
        return False
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return False
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return True
    return False


def _regions() -> frozenset[str]:
    enum = service_model("s3").shape_for("BucketLocationConstraint").enum
    return frozenset(enum) | {US_EAST_1}


_REGIONS = _regions()


def bucket_region(ctx: CallContext, params: dict[str, Any]) -> str:
    """Where CreateBucket puts the bucket, or the error S3 gives for the constraint."""
    endpoint_region = ctx.region or ctx.runtime.config.region
    config = params.get("CreateBucketConfiguration") or {}
    constraint = config.get("LocationConstraint")
    if constraint is None or constraint == "":
        if endpoint_region != US_EAST_1:
            raise AwsError(
                "IllegalLocationConstraintException",
                "The unspecified location constraint is incompatible for the region specific "
                "endpoint this request was sent to.",
                400,
            )
        return US_EAST_1
    if constraint == US_EAST_1 or constraint not in _REGIONS:
        # us-east-1 is the default and may not be named explicitly.
        raise AwsError(
            "InvalidLocationConstraint",
            "The specified location-constraint is not valid",
            400,
            extra={"LocationConstraint": constraint},
        )
    region = "eu-west-1" if constraint == "EU" else constraint
    if endpoint_region not in (US_EAST_1, region):
        raise AwsError(
            "IllegalLocationConstraintException",
            f"The {constraint} location constraint is incompatible for the region specific "
            "endpoint this request was sent to.",
            400,
        )
    return region


def _authorize_create(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    name = params["Bucket"]
    if not valid_bucket_name(name):
        raise errors.invalid_bucket_name(name)
    config = params.get("CreateBucketConfiguration") or {}
    keys: dict[str, Any] = header_keys(ctx, WRITE_HEADER_KEYS)
    if config.get("LocationConstraint"):
        keys["s3:LocationConstraint"] = config["LocationConstraint"]
    if params.get("ObjectOwnership"):
        keys["s3:x-amz-object-ownership"] = params["ObjectOwnership"]
    keys.update(request_keys(ctx))
    arn = f"arn:aws:s3:::{name}"
    checks = [AuthzCheck("s3:CreateBucket", arn, context=keys)]
    ownership = params.get("ObjectOwnership", "BucketOwnerEnforced")
    if acls.has_acl_params(params):
        checks.append(AuthzCheck("s3:PutBucketAcl", arn, context=keys))
    if ownership != "BucketOwnerEnforced":
        checks.append(AuthzCheck("s3:PutBucketOwnershipControls", arn, context=keys))
    return checks


@operation("s3", "CreateBucket", authorize=_authorize_create)
def create_bucket(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name = params["Bucket"]
    account = ctx.principal.account_id
    if account is None:
        raise errors.access_denied()
    region = bucket_region(ctx, params)
    ownership = params.get("ObjectOwnership", "BucketOwnerEnforced")
    acl = acls.acl_from_params(params, owner=account, bucket_owner=account, for_bucket=True)
    if ownership == "BucketOwnerEnforced" and not acls.allowed_when_enforced(acl):
        raise AwsError(
            "InvalidBucketAclWithObjectOwnership",
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
            400,
        )
    runtime = ctx.runtime
    try:
        with write(runtime) as conn:
            existing = read_bucket(runtime, conn, name)
            if existing is not None:
                if _recreated_own(existing.owner_account == account, existing.region):
                    return {"Location": f"/{name}"}
                raise _already_exists(existing.owner_account == account, name)
            conn.execute(
                insert(s3_buckets).values(
                    name=name,
                    owner_account=account,
                    region=region,
                    created_at=ctx.now,
                    versioning=None,
                    object_ownership=ownership,
                    policy=None,
                    acl=json.dumps(acl),
                    tags=None,
                )
            )
            bucket_changed(runtime, conn)
    except IntegrityError:
        # Lost a race for the name: whoever committed first owns it.
        with runtime.db.read() as conn:
            existing = read_bucket(runtime, conn, name)
        if existing is None:
            raise
        if _recreated_own(existing.owner_account == account, existing.region):
            return {"Location": f"/{name}"}
        raise _already_exists(existing.owner_account == account, name) from None
    runtime.auth_changed()
    return {"Location": f"/{name}"}


def _recreated_own(owned: bool, region: str) -> bool:
    # S3 answers 200 (and does nothing) when you re-create your own bucket in us-east-1.
    return owned and region == US_EAST_1


def _already_exists(owned: bool, name: str) -> AwsError:
    if owned:
        return AwsError(
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
            409,
            extra={"BucketName": name},
        )
    return AwsError(
        "BucketAlreadyExists",
        "The requested bucket name is not available. The bucket namespace is shared by all "
        "users of the system. Please select a different name and try again.",
        409,
        extra={"BucketName": name},
    )


def _authorize_head(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [bucket_check(ctx, bucket, "s3:ListBucket")]


@operation("s3", "HeadBucket", authorize=_authorize_head, read_only=True)
def head_bucket(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx, params["Bucket"])
    return {"BucketRegion": bucket.region, "AccessPointAlias": False}


def _authorize_delete(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [bucket_check(ctx, bucket, "s3:DeleteBucket")]


@operation("s3", "DeleteBucket", authorize=_authorize_delete)
def delete_bucket(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name = params["Bucket"]
    runtime = ctx.runtime
    with write(runtime) as conn:
        if read_bucket(runtime, conn, name, lock=True) is None:
            raise errors.no_such_bucket(name)
        busy = conn.execute(
            select(
                exists().where(s3_objects.c.bucket == name)
                | exists().where(s3_object_versions.c.bucket == name)
                | exists().where(s3_uploads.c.bucket == name)
            )
        ).scalar()
        if busy:
            raise AwsError(
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty",
                409,
                extra={"BucketName": name},
            )
        conn.execute(s3_buckets.delete().where(s3_buckets.c.name == name))
        bucket_changed(runtime, conn)
    runtime.auth_changed()
    return {}


def _authorize_list(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    return [account_check(ctx, "s3:ListAllMyBuckets")]


@operation("s3", "ListBuckets", authorize=_authorize_list, read_only=True)
def list_buckets(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = ctx.principal.account_id
    if account is None:
        raise errors.access_denied()
    t = s3_buckets
    query = select(t.c.name, t.c.created_at, t.c.region).where(t.c.owner_account == account)
    prefix = params.get("Prefix")
    if prefix:
        query = query.where(t.c.name >= prefix)
    token = params.get("ContinuationToken")
    if token:
        query = query.where(t.c.name > token)
    if params.get("BucketRegion"):
        query = query.where(t.c.region == params["BucketRegion"])
    limit = params.get("MaxBuckets")
    if limit is not None and not 1 <= limit <= 10000:
        raise errors.invalid_argument(
            "Argument max-buckets must be an integer between 1 and 10000", "max-buckets",
            str(limit),
        )
    query = query.order_by(t.c.name)
    with ctx.runtime.db.read() as conn:
        rows = conn.execute(query).all()
    if prefix:
        rows = [r for r in rows if r.name.startswith(prefix)]
    result: dict[str, Any] = {"Owner": owner_of(account)}
    if limit is not None and len(rows) > limit:
        rows = rows[:limit]
        result["ContinuationToken"] = rows[-1].name
    result["Buckets"] = [
        {"Name": r.name, "CreationDate": r.created_at, "BucketRegion": r.region} for r in rows
    ]
    if prefix:
        result["Prefix"] = prefix
    return result


def _authorize_location(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [bucket_check(ctx, bucket, "s3:GetBucketLocation")]


@operation("s3", "GetBucketLocation", authorize=_authorize_location, read_only=True)
def get_bucket_location(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx, params["Bucket"])
    # us-east-1 buckets answer an empty constraint, as S3 does.
    return {"LocationConstraint": None if bucket.region == US_EAST_1 else bucket.region}
