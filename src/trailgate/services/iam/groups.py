"""IAM groups and membership: CreateGroup, GetGroup, ListGroups, UpdateGroup, DeleteGroup,
AddUserToGroup, RemoveUserFromGroup, ListGroupsForUser.

Recorded from IAM: removing a user who is not a member succeeds; adding a member twice is a
no-op. A user may belong to at most 10 groups (IAM quota GroupsPerUser).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from trailgate.errors import AwsError
from trailgate.services import ids
from trailgate.services.accounts import bump_generation
from trailgate.services.iam import authz, entities
from trailgate.services.iam.common import (
    DEFAULT_PATH,
    MUST_REMOVE_USERS,
    already_exists,
    caller_account,
    group_arn,
    limit_exceeded,
    unique_or,
)
from trailgate.services.iam.delete_conflicts import policy_checks, raise_first_conflict
from trailgate.services.iam.pagination import in_path, page_by_name
from trailgate.services.iam.shapes import group_shape, user_shape
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.store.schema_iam import (
    iam_group_members,
    iam_groups,
    iam_users,
)

MAX_GROUPS_PER_USER = 10


def _group_exists(name: str) -> AwsError:
    return already_exists(f"Group with name {name} already exists.")


def _authorize_create(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    account = caller_account(ctx)
    path = params.get("Path") or DEFAULT_PATH
    return [authz.check(ctx, "iam:CreateGroup", group_arn(account, path, params["GroupName"]))]


@operation("iam", "CreateGroup", authorize=_authorize_create)
def create_group(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    name = params["GroupName"]
    with ctx.runtime.db.begin() as conn:
        if entities.find_group(conn, account, name) is not None:
            raise _group_exists(name)
        group_id = ids.unique_id("AGPA")
        with unique_or(_group_exists(name)):
            conn.execute(
                iam_groups.insert().values(
                    id=group_id,
                    account_id=account,
                    name=name,
                    name_lower=name.lower(),
                    path=params.get("Path") or DEFAULT_PATH,
                    created_at=ctx.now,
                )
            )
        group = entities.get_group_by_id(conn, group_id)
    assert group is not None
    return {"Group": group_shape(group)}


@operation("iam", "GetGroup", authorize=authz.on_group("iam:GetGroup"), read_only=True)
def get_group(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        group = entities.require_group(conn, account, params["GroupName"])
        rows = conn.execute(
            select(iam_users)
            .join(iam_group_members, iam_group_members.c.user_id == iam_users.c.id)
            .where(iam_group_members.c.group_id == group.id)
        )
        members = [entities.user_from_row(r) for r in rows]
    page, extra = page_by_name(members, params)
    return {
        "Group": group_shape(group),
        "Users": [user_shape(u, full=False) for u in page],
        **extra,
    }


@operation("iam", "ListGroups", authorize=authz.on_account("iam:ListGroups"), read_only=True)
def list_groups(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        groups = entities.list_groups(conn, account)
    page, extra = page_by_name(in_path(groups, params), params)
    return {"Groups": [group_shape(g) for g in page], **extra}


@operation("iam", "UpdateGroup", authorize=authz.on_group("iam:UpdateGroup"))
def update_group(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    new_name = params.get("NewGroupName")
    with ctx.runtime.db.begin() as conn:
        group = entities.require_group(conn, account, params["GroupName"])
        values: dict[str, Any] = {}
        if new_name is not None and new_name != group.name:
            clash = entities.find_group(conn, account, new_name)
            if clash is not None and clash.id != group.id:
                raise _group_exists(new_name)
            values.update(name=new_name, name_lower=new_name.lower())
        if params.get("NewPath") is not None:
            values["path"] = params["NewPath"]
        if values:
            conn.execute(iam_groups.update().where(iam_groups.c.id == group.id).values(**values))
            bump_generation(conn)
    if values:
        ctx.runtime.auth_changed()
    return {}


@operation("iam", "DeleteGroup", authorize=authz.on_group("iam:DeleteGroup"))
def delete_group(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        group = entities.require_group(conn, account, params["GroupName"])
        members = select(iam_group_members.c.user_id).where(
            iam_group_members.c.group_id == group.id
        )
        raise_first_conflict(
            conn, [(members, MUST_REMOVE_USERS), *policy_checks("group", group.id)]
        )
        conn.execute(delete(iam_groups).where(iam_groups.c.id == group.id))
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


@operation("iam", "AddUserToGroup", authorize=authz.on_group("iam:AddUserToGroup"))
def add_user_to_group(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        user = entities.require_user(conn, account, params["UserName"])
        group = entities.require_group(conn, account, params["GroupName"])
        member = conn.execute(
            select(iam_group_members.c.user_id).where(
                iam_group_members.c.group_id == group.id, iam_group_members.c.user_id == user.id
            )
        ).first()
        if member is not None:
            return {}
        count = conn.execute(
            select(func.count())
            .select_from(iam_group_members)
            .where(iam_group_members.c.user_id == user.id)
        ).scalar_one()
        if count >= MAX_GROUPS_PER_USER:
            raise limit_exceeded(f"Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}")
        conn.execute(iam_group_members.insert().values(group_id=group.id, user_id=user.id))
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


@operation("iam", "RemoveUserFromGroup", authorize=authz.on_group("iam:RemoveUserFromGroup"))
def remove_user_from_group(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        user = entities.require_user(conn, account, params["UserName"])
        group = entities.require_group(conn, account, params["GroupName"])
        removed = conn.execute(
            delete(iam_group_members).where(
                iam_group_members.c.group_id == group.id, iam_group_members.c.user_id == user.id
            )
        )
        if removed.rowcount:
            bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


@operation(
    "iam",
    "ListGroupsForUser",
    authorize=authz.on_user("iam:ListGroupsForUser"),
    read_only=True,
)
def list_groups_for_user(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        user = entities.require_user(conn, account, params["UserName"])
        rows = conn.execute(
            select(iam_groups)
            .join(iam_group_members, iam_group_members.c.group_id == iam_groups.c.id)
            .where(iam_group_members.c.user_id == user.id)
        )
        groups = [entities.group_from_row(r) for r in rows]
    page, extra = page_by_name(groups, params)
    return {"Groups": [group_shape(g) for g in page], **extra}
