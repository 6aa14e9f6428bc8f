"""The bodies of TagUser/TagRole, UntagUser/UntagRole and ListUserTags/ListRoleTags.

Users and roles share them because their tags are principal tags: a change reaches
aws:PrincipalTag conditions, so it bumps the auth generation like any policy change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trailgate.services.accounts import bump_generation
from trailgate.services.iam import tags
from trailgate.services.iam.common import caller_account
from trailgate.services.iam.entities import PrincipalLookup
from trailgate.services.iam.pagination import paginate
from trailgate.services.registry import CallContext


def tag_principal(
    ctx: CallContext,
    resource_type: str,
    require: PrincipalLookup,
    name: str,
    new_tags: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        principal = require(conn, account, name)
        tags.put_tags(conn, resource_type, principal.id, new_tags)
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


def untag_principal(
    ctx: CallContext,
    resource_type: str,
    require: PrincipalLookup,
    name: str,
    keys: Iterable[str],
) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        principal = require(conn, account, name)
        tags.remove_tags(conn, resource_type, principal.id, keys)
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


def list_principal_tags(
    ctx: CallContext,
    params: dict[str, Any],
    resource_type: str,
    require: PrincipalLookup,
    name: str,
) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        principal = require(conn, account, name)
        principal_tags = tags.list_tags(conn, resource_type, principal.id)
    page, extra = paginate(principal_tags, params, lambda t: t["Key"])
    return {"Tags": page, **extra}
