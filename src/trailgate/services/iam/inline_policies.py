"""Inline policies of users, groups and roles: Put/Get/List/Delete User|Group|RolePolicy.

One generic implementation per verb, registered once per owner type. Documents are stored as
received and returned URL-encoded, as IAM does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select

from trailgate.services.accounts import bump_generation
from trailgate.services.iam import authz, entities
from trailgate.services.iam.common import caller_account, no_such_inline_policy, stored_document
from trailgate.services.iam.documents import check_inline_document
from trailgate.services.iam.pagination import paginate
from trailgate.services.registry import Authorizer, CallContext, operation
from trailgate.store.schema_iam import iam_inline_policies


@dataclass(frozen=True)
class Owner:
    """An entity that can hold inline policies: its type, id and name as stored."""

    type: str
    id: str
    name: str


@dataclass(frozen=True)
class OwnerKind:
    type: str  # "user" | "group" | "role"
    title: str  # "User" | "Group" | "Role"
    find: Callable[[Connection, str, str], Any]
    authorize: Callable[[str], Authorizer]

    @property
    def name_param(self) -> str:
        return f"{self.title}Name"

    def require(self, ctx: CallContext, conn: Connection, params: dict[str, Any]) -> Owner:
        record = self.find(conn, caller_account(ctx), params[self.name_param])
        return Owner(self.type, record.id, record.name)


KINDS = (
    OwnerKind("user", "User", entities.require_user, authz.on_user),
    OwnerKind("group", "Group", entities.require_group, authz.on_group),
    OwnerKind("role", "Role", entities.require_role, authz.on_role),
)


def inline_documents(conn: Connection, owner_type: str, owner_id: str) -> list[tuple[str, str]]:
    """(name, document) of every inline policy of an owner, by name."""
    rows = conn.execute(
        select(iam_inline_policies.c.name, iam_inline_policies.c.document).where(
            iam_inline_policies.c.owner_type == owner_type,
            iam_inline_policies.c.owner_id == owner_id,
        )
    )
    return sorted(((r.name, r.document) for r in rows), key=lambda item: item[0].lower())


def _find(conn: Connection, owner: Owner, policy_name: str) -> Any:
    return conn.execute(
        select(iam_inline_policies).where(
            iam_inline_policies.c.owner_type == owner.type,
            iam_inline_policies.c.owner_id == owner.id,
            iam_inline_policies.c.name_lower == policy_name.lower(),
        )
    ).first()


def _register(kind: OwnerKind) -> None:
    title = kind.title

    @operation("iam", f"Put{title}Policy", authorize=kind.authorize(f"iam:Put{title}Policy"))
    def put_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["PolicyName"]
        document = params["PolicyDocument"]
        with ctx.runtime.db.begin() as conn:
            owner = kind.require(ctx, conn, params)
            check_inline_document(conn, owner.type, owner.id, owner.name, name, document)
            conn.execute(
                delete(iam_inline_policies).where(
                    iam_inline_policies.c.owner_type == owner.type,
                    iam_inline_policies.c.owner_id == owner.id,
                    iam_inline_policies.c.name_lower == name.lower(),
                )
            )
            conn.execute(
                iam_inline_policies.insert().values(
                    owner_type=owner.type,
                    owner_id=owner.id,
                    name_lower=name.lower(),
                    name=name,
                    document=document,
                )
            )
            bump_generation(conn)
        ctx.runtime.auth_changed()
        return {}

    @operation(
        "iam",
        f"Get{title}Policy",
        authorize=kind.authorize(f"iam:Get{title}Policy"),
        read_only=True,
    )
    def get_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
        with ctx.runtime.db.read() as conn:
            owner = kind.require(ctx, conn, params)
            row = _find(conn, owner, params["PolicyName"])
        if row is None:
            raise no_such_inline_policy(kind.type, params["PolicyName"])
        return {
            kind.name_param: owner.name,
            "PolicyName": row.name,
            "PolicyDocument": stored_document(row.document),
        }

    @operation(
        "iam",
        f"List{title}Policies",
        authorize=kind.authorize(f"iam:List{title}Policies"),
        read_only=True,
    )
    def list_policies(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
        with ctx.runtime.db.read() as conn:
            owner = kind.require(ctx, conn, params)
            names = [name for name, _ in inline_documents(conn, owner.type, owner.id)]
        page, extra = paginate(names, params, lambda n: n.lower())
        return {"PolicyNames": page, **extra}

    @operation(
        "iam", f"Delete{title}Policy", authorize=kind.authorize(f"iam:Delete{title}Policy")
    )
    def delete_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
        with ctx.runtime.db.begin() as conn:
            owner = kind.require(ctx, conn, params)
            row = _find(conn, owner, params["PolicyName"])
            if row is None:
                raise no_such_inline_policy(kind.type, params["PolicyName"])
            conn.execute(
                delete(iam_inline_policies).where(
                    iam_inline_policies.c.owner_type == owner.type,
                    iam_inline_policies.c.owner_id == owner.id,
                    iam_inline_policies.c.name_lower == row.name_lower,
                )
            )
            bump_generation(conn)
        ctx.runtime.auth_changed()
        return {}


for _kind in KINDS:
    _register(_kind)
