"""Permissions boundaries of users and roles: Put/Delete User|RolePermissionsBoundary.

A boundary is a managed policy (the account's own or an AWS managed one) named by ARN on the
user or role row. CreateUser and CreateRole set one through `resolve_boundary` too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table

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


def _set_boundary(
    ctx: CallContext,
    table: Table,
    require: entities.PrincipalLookup,
    name: str,
    boundary: str | None,
) -> dict[str, Any]:
    """Put (a policy ARN) or delete (None) the boundary of the user or role `name`."""
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        principal = require(conn, account, name)
        arn = None if boundary is None else resolve_boundary(conn, account, boundary)
        conn.execute(
            table.update().where(table.c.id == principal.id).values(permissions_boundary=arn)
        )
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


@operation(
    "iam",
    "PutUserPermissionsBoundary",
    authorize=authz.on_user("iam:PutUserPermissionsBoundary", extra=authz.boundary_key),
)
def put_user_permissions_boundary(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return _set_boundary(
        ctx, iam_users, entities.require_user, params["UserName"], params["PermissionsBoundary"]
    )


@operation(
    "iam",
    "DeleteUserPermissionsBoundary",
    authorize=authz.on_user("iam:DeleteUserPermissionsBoundary"),
)
def delete_user_permissions_boundary(
    ctx: CallContext, params: dict[str, Any]
) -> dict[str, Any]:
    return _set_boundary(ctx, iam_users, entities.require_user, params["UserName"], None)


@operation(
    "iam",
    "PutRolePermissionsBoundary",
    authorize=authz.on_role("iam:PutRolePermissionsBoundary", extra=authz.boundary_key),
)
def put_role_permissions_boundary(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return _set_boundary(
        ctx, iam_roles, entities.require_role, params["RoleName"], params["PermissionsBoundary"]
    )


@operation(
    "iam",
    "DeleteRolePermissionsBoundary",
    authorize=authz.on_role("iam:DeleteRolePermissionsBoundary"),
)
def delete_role_permissions_boundary(
    ctx: CallContext, params: dict[str, Any]
) -> dict[str, Any]:
    return _set_boundary(ctx, iam_roles, entities.require_role, params["RoleName"], None)
