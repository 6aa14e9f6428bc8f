"""Account aliases: ListAccountAliases, CreateAccountAlias, DeleteAccountAlias.

An account has at most one alias and an alias belongs to one account across the whole
installation (IAM aliases are globally unique). Creating an alias replaces the account's
previous one, as the IAM console's "Edit" does. The alias is mirrored on the account record
(`accounts.alias`) so sign-in by alias and the admin CLI see it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from trailgate.services.iam import authz
from trailgate.services.iam.common import (
    already_exists,
    caller_account,
    no_such_entity,
    unique_or,
)
from trailgate.services.iam.pagination import paginate
from trailgate.services.registry import CallContext, operation
from trailgate.store import schema
from trailgate.store.schema_iam import iam_account_aliases


@operation(
    "iam",
    "ListAccountAliases",
    authorize=authz.on_account("iam:ListAccountAliases"),
    read_only=True,
)
def list_account_aliases(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        aliases = [
            row.alias
            for row in conn.execute(
                select(iam_account_aliases.c.alias).where(
                    iam_account_aliases.c.account_id == account
                )
            )
        ]
    page, extra = paginate(aliases, params, lambda a: a)
    return {"AccountAliases": page, **extra}


@operation(
    "iam", "CreateAccountAlias", authorize=authz.on_account("iam:CreateAccountAlias")
)
def create_account_alias(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    alias = params["AccountAlias"]
    with ctx.runtime.db.begin() as conn:
        owner = conn.execute(
            select(iam_account_aliases.c.account_id).where(iam_account_aliases.c.alias == alias)
        ).first()
        if owner is not None:
            # Also when the caller's account holds it already (observed on IAM).
            raise already_exists(f"The account alias {alias} already exists.")
        conn.execute(delete(iam_account_aliases).where(iam_account_aliases.c.account_id == account))
        with unique_or(already_exists(f"The account alias {alias} already exists.")):
            conn.execute(iam_account_aliases.insert().values(alias=alias, account_id=account))
        conn.execute(
            schema.accounts.update().where(schema.accounts.c.id == account).values(alias=alias)
        )
    return {}


@operation(
    "iam", "DeleteAccountAlias", authorize=authz.on_account("iam:DeleteAccountAlias")
)
def delete_account_alias(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    alias = params["AccountAlias"]
    with ctx.runtime.db.begin() as conn:
        removed = conn.execute(
            delete(iam_account_aliases).where(
                iam_account_aliases.c.alias == alias, iam_account_aliases.c.account_id == account
            )
        )
        if not removed.rowcount:
            raise no_such_entity(f"The account alias {alias} cannot be found.")
        conn.execute(
            schema.accounts.update().where(schema.accounts.c.id == account).values(alias=None)
        )
    return {}
