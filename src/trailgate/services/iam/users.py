"""IAM users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser, TagUser, UntagUser,
ListUserTags.

GetUser without a name describes the caller. For the account root IAM answers a User with the
account id as UserId and the root ARN, and without Path or UserName (SDKs document the missing
UserName for root credentials).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select

from trailgate.errors import AwsError
from trailgate.services import accounts, ids
from trailgate.services.accounts import bump_generation
from trailgate.services.iam import authz, entities, tags
from trailgate.services.iam.boundaries import resolve_boundary
from trailgate.services.iam.common import (
    DEFAULT_PATH,
    MUST_DELETE_KEYS,
    MUST_DELETE_LOGIN_PROFILE,
    MUST_REMOVE_USERS,
    already_exists,
    caller_account,
    root_arn,
    unique_or,
    user_arn,
)
from trailgate.services.iam.delete_conflicts import (
    Check,
    policy_checks,
    raise_first_conflict,
)
from trailgate.services.iam.pagination import in_path, page_by_name
from trailgate.services.iam.principal_tags import (
    list_principal_tags,
    tag_principal,
    untag_principal,
)
from trailgate.services.iam.shapes import user_shape
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.store import schema
from trailgate.store.schema_iam import (
    iam_group_members,
    iam_login_profiles,
    iam_users,
)


def user_exists_error(name: str) -> AwsError:
    return already_exists(f"User with name {name} already exists.")


def _authorize_create(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    account = caller_account(ctx)
    resource = user_arn(account, params.get("Path") or DEFAULT_PATH, params["UserName"])
    context = {**authz.boundary_key(ctx, params), **authz.request_tags_key(ctx, params)}
    return [authz.check(ctx, "iam:CreateUser", resource, context)]


@operation("iam", "CreateUser", authorize=_authorize_create)
def create_user(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    name = params["UserName"]
    path = params.get("Path") or DEFAULT_PATH
    new_tags = params.get("Tags") or []
    tags.check_new_tags(tags.USER, new_tags)
    with ctx.runtime.db.begin() as conn:
        if entities.find_user(conn, account, name) is not None:
            raise user_exists_error(name)
        boundary = None
        if params.get("PermissionsBoundary"):
            boundary = resolve_boundary(conn, account, params["PermissionsBoundary"])
        user_id = ids.unique_id("AIDA")
        with unique_or(user_exists_error(name)):
            conn.execute(
                iam_users.insert().values(
                    id=user_id,
                    account_id=account,
                    name=name,
                    name_lower=name.lower(),
                    path=path,
                    permissions_boundary=boundary,
                    created_at=ctx.now,
                )
            )
        tags.put_tags(conn, tags.USER, user_id, new_tags)
        bump_generation(conn)
        user = entities.get_user_by_id(conn, user_id)
    ctx.runtime.auth_changed()
    assert user is not None
    shape = user_shape(user, full=True, tags=None)
    if new_tags:
        shape["Tags"] = [{"Key": t["Key"], "Value": t.get("Value", "")} for t in new_tags]
    return {"User": shape}


@operation(
    "iam", "GetUser", authorize=authz.on_user("iam:GetUser", optional=True), read_only=True
)
def get_user(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    name = params.get("UserName")
    with ctx.runtime.db.read() as conn:
        if name is None:
            if ctx.principal.kind == "Root":
                return {"User": _root_user(conn, account)}
            user = entities.calling_user(conn, ctx.principal)
        else:
            user = entities.require_user(conn, account, name)
        user_tags = tags.list_tags(conn, tags.USER, user.id)
    return {"User": user_shape(user, full=True, tags=user_tags)}


def _root_user(conn: Connection, account_id: str) -> dict[str, Any]:
    account = accounts.get_account(conn, account_id)
    shape: dict[str, Any] = {"UserId": account_id, "Arn": root_arn(account_id)}
    if account is not None:
        shape["CreateDate"] = account.created_at
    return shape


@operation("iam", "ListUsers", authorize=authz.on_account("iam:ListUsers"), read_only=True)
def list_users(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        users = entities.list_users(conn, account)
    page, extra = page_by_name(in_path(users, params), params)
    return {"Users": [user_shape(u, full=False) for u in page], **extra}


@operation("iam", "UpdateUser", authorize=authz.on_user("iam:UpdateUser"))
def update_user(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    new_name = params.get("NewUserName")
    new_path = params.get("NewPath")
    with ctx.runtime.db.begin() as conn:
        user = entities.require_user(conn, account, params["UserName"])
        values: dict[str, Any] = {}
        if new_name is not None and new_name != user.name:
            clash = entities.find_user(conn, account, new_name)
            if clash is not None and clash.id != user.id:
                raise user_exists_error(new_name)
            values.update(name=new_name, name_lower=new_name.lower())
        if new_path is not None:
            values["path"] = new_path
        if values:
            with unique_or(user_exists_error(new_name or user.name)):
                conn.execute(
                    iam_users.update().where(iam_users.c.id == user.id).values(**values)
                )
            bump_generation(conn)
    if values:
        ctx.runtime.auth_changed()
    return {}


def _user_delete_checks(user_id: str) -> list[Check]:
    """What keeps a user from being deleted, in the order IAM's guide lists."""
    return [
        (
            select(iam_login_profiles.c.user_key).where(iam_login_profiles.c.user_key == user_id),
            MUST_DELETE_LOGIN_PROFILE,
        ),
        (
            select(schema.access_keys.c.access_key_id).where(
                schema.access_keys.c.user_id == user_id
            ),
            MUST_DELETE_KEYS,
        ),
        *policy_checks("user", user_id),
        (
            select(iam_group_members.c.group_id).where(iam_group_members.c.user_id == user_id),
            MUST_REMOVE_USERS,
        ),
    ]


@operation("iam", "DeleteUser", authorize=authz.on_user("iam:DeleteUser"))
def delete_user(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        user = entities.require_user(conn, account, params["UserName"])
        raise_first_conflict(conn, _user_delete_checks(user.id))
        tags.drop_all_tags(conn, tags.USER, user.id)
        conn.execute(delete(iam_users).where(iam_users.c.id == user.id))
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


@operation(
    "iam",
    "TagUser",
    authorize=authz.on_user(
        "iam:TagUser", extra=authz.combine(authz.request_tags_key)
    ),
)
def tag_user(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return tag_principal(
        ctx, tags.USER, entities.require_user, params["UserName"], params["Tags"]
    )


@operation(
    "iam", "UntagUser", authorize=authz.on_user("iam:UntagUser", extra=authz.tag_keys_key)
)
def untag_user(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return untag_principal(
        ctx, tags.USER, entities.require_user, params["UserName"], params["TagKeys"]
    )


@operation(
    "iam", "ListUserTags", authorize=authz.on_user("iam:ListUserTags"), read_only=True
)
def list_user_tags(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return list_principal_tags(
        ctx, params, tags.USER, entities.require_user, params["UserName"]
    )
