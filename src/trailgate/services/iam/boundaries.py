"""Permissions boundaries of users and roles: Put/Delete User|RolePermissionsBoundary.

A boundary is a managed policy (the account's own or an AWS managed one) named by ARN on the
user or role row. CreateUser and CreateRole set one through `resolve_boundary` too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from trailgate.services.accounts import bump_generation
from trailgate.services.iam import authz, entities
from trailgate.services.iam.common import (
    boundary_not_found,
    caller_account,
    invalid_arn,
    is_policy_arn,
)
from trailgate.services.registry import CallContext, operation
from trailgate.store.schema_iam import iam_roles, iam_users


def resolve_boundary(conn: Connection, account_id: str, arn: str) -> str:
    """The boundary ARN if it names a managed policy the account can use; IAM's errors if not."""
    if not is_policy_arn(arn):
        raise invalid_arn(arn, "InvalidInput")
    if entities.visible_policy(conn, account_id, arn) is None:
        raise boundary_not_found(arn)
    return arn


@operation(
    "iam",
    "PutUserPermissionsBoundary",
    authorize=authz.on_user("iam:PutUserPermissionsBoundary", extra=authz.boundary_key),
)
def put_user_permissions_boundary(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        user = entities.require_user(conn, account, params["UserName"])
        arn = resolve_boundary(conn, account, params["PermissionsBoundary"])
        conn.execute(
            iam_users.update().where(iam_users.c.id == user.id).values(permissions_boundary=arn)
        )
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


@operation(
    "iam",
    "DeleteUserPermissionsBoundary",
    authorize=authz.on_user("iam:DeleteUserPermissionsBoundary"),
)
def delete_user_permissions_boundary(
    ctx: CallContext, params: dict[str, Any]
) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        user = entities.require_user(conn, account, params["UserName"])
        conn.execute(
            iam_users.update().where(iam_users.c.id == user.id).values(permissions_boundary=None)
        )
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


@operation(
    "iam",
    "PutRolePermissionsBoundary",
    authorize=authz.on_role("iam:PutRolePermissionsBoundary", extra=authz.boundary_key),
)
def put_role_permissions_boundary(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        role = entities.require_role(conn, account, params["RoleName"])
        arn = resolve_boundary(conn, account, params["PermissionsBoundary"])
        conn.execute(
            iam_roles.update().where(iam_roles.c.id == role.id).values(permissions_boundary=arn)
        )
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


@operation(
    "iam",
    "DeleteRolePermissionsBoundary",
    authorize=authz.on_role("iam:DeleteRolePermissionsBoundary"),
)
def delete_role_permissions_boundary(
    ctx: CallContext, params: dict[str, Any]
) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        role = entities.require_role(conn, account, params["RoleName"])
        conn.execute(
            iam_roles.update().where(iam_roles.c.id == role.id).values(permissions_boundary=None)
        )
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}
