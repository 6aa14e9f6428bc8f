"""IAM roles: CreateRole, GetRole, ListRoles, UpdateRole, UpdateRoleDescription,
UpdateAssumeRolePolicy, DeleteRole, TagRole, UntagRole, ListRoleTags.

The trust policy (AssumeRolePolicyDocument) is validated as PolicyKind.TRUST and stored as
received; STS evaluates it on AssumeRole. Role ids start with AROA. RoleLastUsed is kept by STS
(services/sts/writer.py, batched with the sessions it issues).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete

from trailgate.errors import AwsError
from trailgate.services import ids
from trailgate.services.accounts import bump_generation
from trailgate.services.iam import authz, entities, tags
from trailgate.services.iam.boundaries import resolve_boundary
from trailgate.services.iam.common import (
    DEFAULT_PATH,
    already_exists,
    caller_account,
    role_arn,
    unique_or,
    validation_error,
)
from trailgate.services.iam.delete_conflicts import policy_checks, raise_first_conflict
from trailgate.services.iam.documents import check_trust_document
from trailgate.services.iam.pagination import in_path, page_by_name
from trailgate.services.iam.principal_tags import (
    list_principal_tags,
    tag_principal,
    untag_principal,
)
from trailgate.services.iam.shapes import role_shape
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.store.schema_iam import iam_roles

MIN_SESSION_DURATION = 3600
MAX_SESSION_DURATION = 43200


def _role_exists(name: str) -> AwsError:
    return already_exists(f"Role with name {name} already exists.")


def _check_max_session_duration(value: int | None) -> None:
    # The wire layer enforces the model's range; direct callers get the same answer.
    if value is None:
        return
    if value < MIN_SESSION_DURATION:
        bound = f"greater than or equal to {MIN_SESSION_DURATION}"
    elif value > MAX_SESSION_DURATION:
        bound = f"less than or equal to {MAX_SESSION_DURATION}"
    else:
        return
    raise validation_error(
        f"1 validation error detected: Value '{value}' at 'maxSessionDuration' failed to "
        f"satisfy constraint: Member must have value {bound}"
    )


def _authorize_create(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    account = caller_account(ctx)
    resource = role_arn(account, params.get("Path") or DEFAULT_PATH, params["RoleName"])
    context = {**authz.boundary_key(ctx, params), **authz.request_tags_key(ctx, params)}
    return [authz.check(ctx, "iam:CreateRole", resource, context)]


@operation("iam", "CreateRole", authorize=_authorize_create)
def create_role(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    name = params["RoleName"]
    new_tags = params.get("Tags") or []
    tags.check_new_tags(tags.ROLE, new_tags)
    _check_max_session_duration(params.get("MaxSessionDuration"))
    check_trust_document(params["AssumeRolePolicyDocument"])
    with ctx.runtime.db.begin() as conn:
        if entities.get_role(conn, account, name) is not None:
            raise _role_exists(name)
        boundary = None
        if params.get("PermissionsBoundary"):
            boundary = resolve_boundary(conn, account, params["PermissionsBoundary"])
        role_id = ids.unique_id("AROA")
        with unique_or(_role_exists(name)):
            insert_role(
                conn,
                account_id=account,
                role_id=role_id,
                name=name,
                trust_policy=params["AssumeRolePolicyDocument"],
                created_at=ctx.now,
                path=params.get("Path") or DEFAULT_PATH,
                description=params.get("Description"),
                max_session_duration=params.get("MaxSessionDuration") or MIN_SESSION_DURATION,
                boundary=boundary,
            )
        tags.put_tags(conn, tags.ROLE, role_id, new_tags)
        bump_generation(conn)
        role = entities.get_role_by_id(conn, role_id)
    ctx.runtime.auth_changed()
    assert role is not None
    shape = role_shape(role, view="create")
    if new_tags:
        shape["Tags"] = [{"Key": t["Key"], "Value": t.get("Value", "")} for t in new_tags]
    return {"Role": shape}


def insert_role(
    conn: Connection,
    *,
    account_id: str,
    role_id: str,
    name: str,
    trust_policy: str,
    created_at: datetime,
    path: str = DEFAULT_PATH,
    description: str | None = None,
    max_session_duration: int = MIN_SESSION_DURATION,
    boundary: str | None = None,
) -> None:
    """Store a new role row (CreateRole, and the role Organizations makes in new accounts)."""
    conn.execute(
        iam_roles.insert().values(
            id=role_id,
            account_id=account_id,
            name=name,
            name_lower=name.lower(),
            path=path,
            trust_policy=trust_policy,
            description=description,
            max_session_duration=max_session_duration,
            permissions_boundary=boundary,
            created_at=created_at,
        )
    )


@operation("iam", "GetRole", authorize=authz.on_role("iam:GetRole"), read_only=True)
def get_role(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        role = entities.require_role(conn, account, params["RoleName"])
        role_tags = tags.list_tags(conn, tags.ROLE, role.id)
    return {"Role": role_shape(role, view="get", tags=role_tags)}


@operation("iam", "ListRoles", authorize=authz.on_account("iam:ListRoles"), read_only=True)
def list_roles(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        roles = entities.list_roles(conn, account)
    page, extra = page_by_name(in_path(roles, params), params)
    return {"Roles": [role_shape(r, view="list") for r in page], **extra}


@operation("iam", "UpdateRole", authorize=authz.on_role("iam:UpdateRole"))
def update_role(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    _check_max_session_duration(params.get("MaxSessionDuration"))
    values: dict[str, Any] = {}
    if params.get("Description") is not None:
        values["description"] = params["Description"]
    if params.get("MaxSessionDuration") is not None:
        values["max_session_duration"] = params["MaxSessionDuration"]
    with ctx.runtime.db.begin() as conn:
        role = entities.require_role(conn, account, params["RoleName"])
        if values:
            conn.execute(iam_roles.update().where(iam_roles.c.id == role.id).values(**values))
            bump_generation(conn)
    if values:
        ctx.runtime.auth_changed()
    return {}


@operation(
    "iam", "UpdateRoleDescription", authorize=authz.on_role("iam:UpdateRoleDescription")
)
def update_role_description(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        role = entities.require_role(conn, account, params["RoleName"])
        conn.execute(
            iam_roles.update()
            .where(iam_roles.c.id == role.id)
            .values(description=params["Description"])
        )
        updated = entities.get_role_by_id(conn, role.id)
        role_tags = tags.list_tags(conn, tags.ROLE, role.id)
    assert updated is not None
    return {"Role": role_shape(updated, view="describe", tags=role_tags)}


@operation(
    "iam", "UpdateAssumeRolePolicy", authorize=authz.on_role("iam:UpdateAssumeRolePolicy")
)
def update_assume_role_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    check_trust_document(params["PolicyDocument"])
    with ctx.runtime.db.begin() as conn:
        role = entities.require_role(conn, account, params["RoleName"])
        conn.execute(
            iam_roles.update()
            .where(iam_roles.c.id == role.id)
            .values(trust_policy=params["PolicyDocument"])
        )
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


@operation("iam", "DeleteRole", authorize=authz.on_role("iam:DeleteRole"))
def delete_role(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        role = entities.require_role(conn, account, params["RoleName"])
        raise_first_conflict(conn, policy_checks("role", role.id))
        tags.drop_all_tags(conn, tags.ROLE, role.id)
        conn.execute(delete(iam_roles).where(iam_roles.c.id == role.id))
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


@operation(
    "iam", "TagRole", authorize=authz.on_role("iam:TagRole", extra=authz.request_tags_key)
)
def tag_role(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return tag_principal(
        ctx, tags.ROLE, entities.require_role, params["RoleName"], params["Tags"]
    )


@operation(
    "iam", "UntagRole", authorize=authz.on_role("iam:UntagRole", extra=authz.tag_keys_key)
)
def untag_role(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return untag_principal(
        ctx, tags.ROLE, entities.require_role, params["RoleName"], params["TagKeys"]
    )


@operation(
    "iam", "ListRoleTags", authorize=authz.on_role("iam:ListRoleTags"), read_only=True
)
def list_role_tags(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return list_principal_tags(
        ctx, params, tags.ROLE, entities.require_role, params["RoleName"]
    )
