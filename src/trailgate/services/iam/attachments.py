"""Attaching managed policies: Attach/Detach User|Group|RolePolicy,
ListAttached User|Group|RolePolicies, ListEntitiesForPolicy.

Recorded from IAM: attaching an unknown policy answers "Policy <arn> does not exist or is not
attachable."; detaching one that is not attached answers "Policy <arn> was not found."; a value
that is not an ARN is a ValidationError. Attaching twice is a no-op. Ten managed policies per
user, group or role (IAM's default quotas PoliciesPerUser/Group/Role).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select

from trailgate.services.accounts import bump_generation
from trailgate.services.iam import authz, entities
from trailgate.services.iam.common import (
    DEFAULT_PATH,
    caller_account,
    limit_exceeded,
    policy_not_attachable,
    policy_not_found,
)
from trailgate.services.iam.inline_policies import KINDS, Owner, OwnerKind
from trailgate.services.iam.managed_policies import check_policy_arn
from trailgate.services.iam.pagination import paginate
from trailgate.services.registry import CallContext, operation
from trailgate.store.schema_iam import (
    iam_attachments,
    iam_groups,
    iam_managed_policies,
    iam_roles,
    iam_users,
)

MAX_ATTACHED = 10
_QUOTA_NAMES = {"user": "PoliciesPerUser", "group": "PoliciesPerGroup", "role": "PoliciesPerRole"}


def attached_policies(conn: Connection, owner_type: str, owner_id: str) -> list[Any]:
    """Rows (arn, name, path, default_version) of the managed policies attached to an owner."""
    rows = conn.execute(
        select(
            iam_managed_policies.c.arn,
            iam_managed_policies.c.name,
            iam_managed_policies.c.path,
            iam_managed_policies.c.default_version,
        )
        .join(iam_attachments, iam_attachments.c.policy_arn == iam_managed_policies.c.arn)
        .where(iam_attachments.c.owner_type == owner_type, iam_attachments.c.owner_id == owner_id)
    )
    return sorted(rows, key=lambda r: (r.name.lower(), r.arn))


def _is_attached(conn: Connection, owner: Owner, arn: str) -> bool:
    return (
        conn.execute(
            select(iam_attachments.c.policy_arn).where(
                iam_attachments.c.owner_type == owner.type,
                iam_attachments.c.owner_id == owner.id,
                iam_attachments.c.policy_arn == arn,
            )
        ).first()
        is not None
    )


def _register(kind: OwnerKind) -> None:
    title = kind.title

    @operation(
        "iam",
        f"Attach{title}Policy",
        authorize=kind.authorize(f"iam:Attach{title}Policy", extra=authz.policy_arn_key),
    )
    def attach(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
        account = caller_account(ctx)
        arn = params["PolicyArn"]
        check_policy_arn(arn)
        with ctx.runtime.db.begin() as conn:
            owner = kind.require(ctx, conn, params)
            entities.require_visible_policy(conn, account, arn, policy_not_attachable(arn))
            if _is_attached(conn, owner, arn):
                return {}
            count = conn.execute(
                select(func.count())
                .select_from(iam_attachments)
                .where(
                    iam_attachments.c.owner_type == owner.type,
                    iam_attachments.c.owner_id == owner.id,
                )
            ).scalar_one()
            if count >= MAX_ATTACHED:
                raise limit_exceeded(
                    f"Cannot exceed quota for {_QUOTA_NAMES[owner.type]}: {MAX_ATTACHED}"
                )
            conn.execute(
                iam_attachments.insert().values(
                    owner_type=owner.type, owner_id=owner.id, policy_arn=arn
                )
            )
            bump_generation(conn)
        ctx.runtime.auth_changed()
        return {}

    @operation(
        "iam",
        f"Detach{title}Policy",
        authorize=kind.authorize(f"iam:Detach{title}Policy", extra=authz.policy_arn_key),
    )
    def detach(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["PolicyArn"]
        check_policy_arn(arn)
        with ctx.runtime.db.begin() as conn:
            owner = kind.require(ctx, conn, params)
            if not _is_attached(conn, owner, arn):
                raise policy_not_found(arn)
            conn.execute(
                delete(iam_attachments).where(
                    iam_attachments.c.owner_type == owner.type,
                    iam_attachments.c.owner_id == owner.id,
                    iam_attachments.c.policy_arn == arn,
                )
            )
            bump_generation(conn)
        ctx.runtime.auth_changed()
        return {}

    @operation(
        "iam",
        f"ListAttached{title}Policies",
        authorize=kind.authorize(f"iam:ListAttached{title}Policies"),
        read_only=True,
    )
    def list_attached(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("PathPrefix") or DEFAULT_PATH
        with ctx.runtime.db.read() as conn:
            owner = kind.require(ctx, conn, params)
            rows = [r for r in attached_policies(conn, owner.type, owner.id)
                    if r.path.startswith(prefix)]
        page, extra = paginate(rows, params, lambda r: f"{r.name.lower()}|{r.arn}")
        return {
            "AttachedPolicies": [{"PolicyName": r.name, "PolicyArn": r.arn} for r in page],
            **extra,
        }


for _kind in KINDS:
    _register(_kind)


_ENTITY_TABLES: dict[str, tuple[Any, str, str, str]] = {
    # owner type: (table, output list, name member, id member)
    "group": (iam_groups, "PolicyGroups", "GroupName", "GroupId"),
    "user": (iam_users, "PolicyUsers", "UserName", "UserId"),
    "role": (iam_roles, "PolicyRoles", "RoleName", "RoleId"),
}
_ENTITY_FILTERS = {"User": "user", "Group": "group", "Role": "role"}


def _entities_using(
    conn: Connection, arn: str, account: str, owner_type: str, usage: str | None
) -> list[Any]:
    table = _ENTITY_TABLES[owner_type][0]
    found: dict[str, Any] = {}
    if usage in (None, "PermissionsPolicy"):
        rows = conn.execute(
            select(table)
            .join(iam_attachments, iam_attachments.c.owner_id == table.c.id)
            .where(
                iam_attachments.c.owner_type == owner_type,
                iam_attachments.c.policy_arn == arn,
                table.c.account_id == account,
            )
        )
        found.update((r.id, r) for r in rows)
    if usage in (None, "PermissionsBoundary") and owner_type != "group":
        rows = conn.execute(
            select(table).where(table.c.permissions_boundary == arn, table.c.account_id == account)
        )
        found.update((r.id, r) for r in rows)
    return list(found.values())


def _entity_order(item: tuple[str, Any]) -> str:
    return f"{item[0]}|{item[1].name_lower}"


@operation(
    "iam",
    "ListEntitiesForPolicy",
    authorize=authz.on_policy("iam:ListEntitiesForPolicy"),
    read_only=True,
)
def list_entities_for_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    arn = params["PolicyArn"]
    check_policy_arn(arn)
    entity_filter = params.get("EntityFilter")
    prefix = params.get("PathPrefix") or DEFAULT_PATH
    usage = params.get("PolicyUsageFilter")
    if entity_filter is None:
        wanted = list(_ENTITY_TABLES)
    else:
        wanted = [_ENTITY_FILTERS[entity_filter]] if entity_filter in _ENTITY_FILTERS else []
    with ctx.runtime.db.read() as conn:
        entities.require_visible_policy(conn, account, arn, policy_not_attachable(arn))
        items: list[tuple[str, Any]] = []
        for owner_type in wanted:
            for row in _entities_using(conn, arn, account, owner_type, usage):
                if row.path.startswith(prefix):
                    items.append((owner_type, row))
    page, extra = paginate(items, params, _entity_order)
    result: dict[str, Any] = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []}
    for owner_type, row in page:
        _, member, name_key, id_key = _ENTITY_TABLES[owner_type]
        result[member].append({name_key: row.name, id_key: row.id})
    result.update(extra)
    return result
