"""Access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
GetAccessKeyLastUsed.

Keys belong to an IAM user or to the account root (user_id NULL). Without UserName the call is
about the caller's own keys: an IAM user's, or the root's when the root calls; any other caller
must name a user. At most two keys per user or root, active or not (IAM's AccessKeysPerUser).
Root keys come back without UserName, as IAM sends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select

from trailgate.errors import AwsError
from trailgate.services.accounts import bump_generation, insert_access_key
from trailgate.services.iam import authz, entities
from trailgate.services.iam.common import (
    caller_account,
    invalid_input,
    limit_exceeded,
    no_such_entity,
    root_arn,
    utc,
)
from trailgate.services.iam.pagination import paginate
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.store.schema import access_keys

MAX_KEYS_PER_USER = 2
KEY_QUOTA_MESSAGE = f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}"
NOT_APPLICABLE = "N/A"


@dataclass(frozen=True)
class KeyOwner:
    """Whose keys a call is about: an IAM user, or the root when `user` is None."""

    account_id: str
    user: entities.UserRecord | None

    @property
    def user_id(self) -> str | None:
        return self.user.id if self.user else None

    def owns(self):  # type: ignore[no-untyped-def]
        if self.user is None:
            return and_(
                access_keys.c.account_id == self.account_id, access_keys.c.user_id.is_(None)
            )
        return access_keys.c.user_id == self.user.id


def resolve_owner(ctx: CallContext, conn: Connection, user_name: str | None) -> KeyOwner:
    account = caller_account(ctx)
    if user_name is not None:
        return KeyOwner(account, entities.require_user(conn, account, user_name))
    if ctx.principal.kind == "Root":
        return KeyOwner(account, None)
    return KeyOwner(account, entities.calling_user(conn, ctx.principal))


def key_not_found(access_key_id: str) -> AwsError:
    return no_such_entity(f"The Access Key with id {access_key_id} cannot be found.")


def _metadata(row: Any, owner: KeyOwner) -> dict[str, Any]:
    shape: dict[str, Any] = {}
    if owner.user is not None:
        shape["UserName"] = owner.user.name
    shape.update(
        AccessKeyId=row.access_key_id, Status=row.status, CreateDate=utc(row.created_at)
    )
    return shape


@operation(
    "iam",
    "CreateAccessKey",
    authorize=authz.on_user("iam:CreateAccessKey", optional=True),
)
def create_access_key(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.begin() as conn:
        owner = resolve_owner(ctx, conn, params.get("UserName"))
        count = conn.execute(
            select(func.count()).select_from(access_keys).where(owner.owns())
        ).scalar_one()
        if count >= MAX_KEYS_PER_USER:
            raise limit_exceeded(KEY_QUOTA_MESSAGE)
        akid, secret = insert_access_key(
            conn, ctx.runtime.sealer, account_id=owner.account_id, user_id=owner.user_id
        )
        row = conn.execute(
            select(access_keys).where(access_keys.c.access_key_id == akid)
        ).one()
    ctx.runtime.auth_changed()
    shape = _metadata(row, owner)
    shape["SecretAccessKey"] = secret
    return {"AccessKey": shape}


@operation(
    "iam",
    "ListAccessKeys",
    authorize=authz.on_user("iam:ListAccessKeys", optional=True),
    read_only=True,
)
def list_access_keys(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.read() as conn:
        owner = resolve_owner(ctx, conn, params.get("UserName"))
        rows = list(conn.execute(select(access_keys).where(owner.owns())))
    page, extra = paginate(
        rows, params, lambda r: f"{utc(r.created_at).isoformat()}|{r.access_key_id}"
    )
    return {"AccessKeyMetadata": [_metadata(r, owner) for r in page], **extra}


def _owned_key(conn: Connection, owner: KeyOwner, access_key_id: str) -> Any:
    row = conn.execute(
        select(access_keys).where(access_keys.c.access_key_id == access_key_id, owner.owns())
    ).first()
    if row is None:
        raise key_not_found(access_key_id)
    return row


@operation(
    "iam",
    "UpdateAccessKey",
    authorize=authz.on_user("iam:UpdateAccessKey", optional=True),
)
def update_access_key(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    status = params["Status"]
    if status not in ("Active", "Inactive"):
        raise invalid_input(f"Invalid status {status}: must be Active or Inactive.")
    with ctx.runtime.db.begin() as conn:
        owner = resolve_owner(ctx, conn, params.get("UserName"))
        row = _owned_key(conn, owner, params["AccessKeyId"])
        conn.execute(
            access_keys.update()
            .where(access_keys.c.access_key_id == row.access_key_id)
            .values(status=status)
        )
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


@operation(
    "iam",
    "DeleteAccessKey",
    authorize=authz.on_user("iam:DeleteAccessKey", optional=True),
)
def delete_access_key(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.begin() as conn:
        owner = resolve_owner(ctx, conn, params.get("UserName"))
        row = _owned_key(conn, owner, params["AccessKeyId"])
        conn.execute(delete(access_keys).where(access_keys.c.access_key_id == row.access_key_id))
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


def _key_in_account(conn: Connection, account_id: str, access_key_id: str) -> Any:
    return conn.execute(
        select(access_keys).where(
            access_keys.c.access_key_id == access_key_id,
            access_keys.c.account_id == account_id,
        )
    ).first()


def _authorize_last_used(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        row = _key_in_account(conn, account, params["AccessKeyId"])
        user = entities.get_user_by_id(conn, row.user_id) if row and row.user_id else None
    resource = user.arn if user else root_arn(account)
    return [authz.check(ctx, "iam:GetAccessKeyLastUsed", resource)]


@operation(
    "iam", "GetAccessKeyLastUsed", authorize=_authorize_last_used, read_only=True
)
def get_access_key_last_used(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    access_key_id = params["AccessKeyId"]
    with ctx.runtime.db.read() as conn:
        row = _key_in_account(conn, account, access_key_id)
        if row is None:
            # IAM does not reveal whether a key exists elsewhere: it denies.
            raise AwsError(
                "AccessDenied",
                f"User: {ctx.principal.arn} is not authorized to perform "
                f"iam:GetAccessKeyLastUsed on resource: access key {access_key_id}",
                403,
            )
        user = entities.get_user_by_id(conn, row.user_id) if row.user_id else None
    last_used: dict[str, Any] = {}
    if row.last_used_at is not None:
        last_used["LastUsedDate"] = utc(row.last_used_at)
    last_used["ServiceName"] = row.last_used_service or NOT_APPLICABLE
    last_used["Region"] = row.last_used_region or NOT_APPLICABLE
    result: dict[str, Any] = {"AccessKeyLastUsed": last_used}
    if user is not None:
        result["UserName"] = user.name
    return result
