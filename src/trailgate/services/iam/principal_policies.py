"""The policies that speak for a caller, as the authorization pipeline needs them.

`policy_sources` lists the documents (text, kind, name) that apply to a principal:
- IAM user: the user's inline policies, its attached managed policies (default version), then
  for each group it belongs to the group's inline and attached policies;
- assumed-role session: the role's inline and attached policies;
- root, AWS services, anonymous: none (the engine gives the root full access to its account).
Permissions boundaries are the default version of the boundary policy, if one is set. Session
policies of a role session come from its sts_sessions row (the inline Policy parameter and the
managed PolicyArns). `policy_inputs` compiles them through the runtime's policy cache.

Names of compiled policies say where each came from: "user/bob/inline/S3Read",
"group/devs/inline/Read", "role/app/inline/Write", "session/inline", or the managed policy ARN.

Also here for STS and the credential resolver: role and user lookups and principal tags.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from trailgate.policy.kinds import PolicyKind
from trailgate.services.iam import tags
from trailgate.services.iam.attachments import attached_policies
from trailgate.services.iam.entities import (
    GroupRecord,
    RoleRecord,
    UserRecord,
    get_role,
    get_role_by_arn,
    get_role_by_id,
    get_user_by_id,
    group_from_row,
)
from trailgate.services.iam.inline_policies import inline_documents
from trailgate.services.iam.managed_policies import version_document
from trailgate.store.schema_iam import (
    iam_group_members,
    iam_groups,
    iam_managed_policies,
    sts_sessions,
)

if TYPE_CHECKING:
    from trailgate.auth.principal import Principal
    from trailgate.policy import CompiledPolicy
    from trailgate.runtime import Runtime

__all__ = [
    "PolicySource",
    "PrincipalPolicies",
    "PrincipalSources",
    "get_role",
    "get_role_by_arn",
    "get_role_by_id",
    "get_user_by_id",
    "groups_of_user",
    "managed_default_document",
    "policy_inputs",
    "policy_sources",
    "principal_tags",
    "role_tags",
    "user_tags",
]


@dataclass(frozen=True)
class PolicySource:
    """One policy document as stored, with the name and kind it is evaluated as."""

    name: str
    kind: PolicyKind
    document: str


@dataclass(frozen=True)
class PrincipalSources:
    identity: tuple[PolicySource, ...] = ()
    boundaries: tuple[PolicySource, ...] = ()
    session: tuple[PolicySource, ...] = ()


@dataclass(frozen=True)
class PrincipalPolicies:
    """Compiled: what `trailgate.authorization` puts in the engine's PolicySet."""

    identity: tuple[CompiledPolicy, ...] = ()
    boundaries: tuple[CompiledPolicy, ...] = ()
    session: tuple[CompiledPolicy, ...] = ()
    scps: tuple[tuple[CompiledPolicy, ...], ...] = field(default=())


def managed_default_document(conn: Connection, arn: str) -> str | None:
    """The default version's text of a managed policy, or None if there is no such policy."""
    row = conn.execute(
        select(iam_managed_policies.c.default_version).where(iam_managed_policies.c.arn == arn)
    ).first()
    if row is None:
        return None
    return version_document(conn, arn, row.default_version)


def groups_of_user(conn: Connection, user_id: str) -> list[GroupRecord]:
    rows = conn.execute(
        select(iam_groups)
        .join(iam_group_members, iam_group_members.c.group_id == iam_groups.c.id)
        .where(iam_group_members.c.user_id == user_id)
    )
    return sorted((group_from_row(r) for r in rows), key=lambda g: g.name.lower())


def _entity_sources(
    conn: Connection, owner_type: str, owner_id: str, owner_name: str
) -> list[PolicySource]:
    sources = [
        PolicySource(f"{owner_type}/{owner_name}/inline/{name}", PolicyKind.IDENTITY, document)
        for name, document in inline_documents(conn, owner_type, owner_id)
    ]
    for row in attached_policies(conn, owner_type, owner_id):
        document = version_document(conn, row.arn, row.default_version)
        if document is not None:
            sources.append(PolicySource(row.arn, PolicyKind.IDENTITY, document))
    return sources


def _boundary_sources(conn: Connection, arn: str | None) -> tuple[PolicySource, ...]:
    if not arn:
        return ()
    document = managed_default_document(conn, arn)
    if document is None:
        # The boundary policy is gone: nothing may pass it (fail closed).
        document = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "*", "Resource": "*"}]})
    return (PolicySource(arn, PolicyKind.BOUNDARY, document),)


def _user_sources(conn: Connection, user: UserRecord) -> PrincipalSources:
    identity = _entity_sources(conn, "user", user.id, user.name)
    for group in groups_of_user(conn, user.id):
        identity.extend(_entity_sources(conn, "group", group.id, group.name))
    return PrincipalSources(
        identity=_unique(identity), boundaries=_boundary_sources(conn, user.permissions_boundary)
    )


def _session_sources(conn: Connection, access_key_id: str | None) -> tuple[PolicySource, ...]:
    if not access_key_id:
        return ()
    row = conn.execute(
        select(sts_sessions.c.session_policy, sts_sessions.c.session_policy_arns).where(
            sts_sessions.c.access_key_id == access_key_id
        )
    ).first()
    if row is None:
        return ()
    sources: list[PolicySource] = []
    if row.session_policy:
        sources.append(PolicySource("session/inline", PolicyKind.SESSION, row.session_policy))
    for arn in json.loads(row.session_policy_arns) if row.session_policy_arns else []:
        document = managed_default_document(conn, arn)
        if document is not None:
            sources.append(PolicySource(arn, PolicyKind.SESSION, document))
    return tuple(sources)


def _role_sources(
    conn: Connection, role: RoleRecord, access_key_id: str | None
) -> PrincipalSources:
    return PrincipalSources(
        identity=_unique(_entity_sources(conn, "role", role.id, role.name)),
        boundaries=_boundary_sources(conn, role.permissions_boundary),
        session=_session_sources(conn, access_key_id),
    )


def _unique(sources: list[PolicySource]) -> tuple[PolicySource, ...]:
    # A managed policy attached to the user and to one of its groups counts once.
    seen: dict[str, PolicySource] = {}
    for source in sources:
        seen.setdefault(source.name, source)
    return tuple(seen.values())


def policy_sources(conn: Connection, principal: Principal) -> PrincipalSources:
    """The documents that apply to `principal` (see the module docstring)."""
    if principal.kind == "IAMUser" and principal.principal_id:
        user = get_user_by_id(conn, principal.principal_id)
        return _user_sources(conn, user) if user is not None else PrincipalSources()
    if principal.kind == "AssumedRole" and principal.role_id:
        role = get_role_by_id(conn, principal.role_id)
        if role is None:
            return PrincipalSources()
        return _role_sources(conn, role, principal.access_key_id)
    return PrincipalSources()


def sources_for_user(conn: Connection, user: UserRecord) -> PrincipalSources:
    return _user_sources(conn, user)


def sources_for_role(conn: Connection, role: RoleRecord) -> PrincipalSources:
    return _role_sources(conn, role, None)


def sources_for_group(conn: Connection, group: GroupRecord) -> PrincipalSources:
    return PrincipalSources(identity=_unique(_entity_sources(conn, "group", group.id, group.name)))


def compile_sources(runtime: Runtime, sources: PrincipalSources) -> PrincipalPolicies:
    def compiled(items: tuple[PolicySource, ...]) -> tuple[CompiledPolicy, ...]:
        return tuple(runtime.compile(s.document, s.kind, name=s.name) for s in items)

    return PrincipalPolicies(
        identity=compiled(sources.identity),
        boundaries=compiled(sources.boundaries),
        session=compiled(sources.session),
    )


def policy_inputs(runtime: Runtime, conn: Connection, principal: Principal) -> PrincipalPolicies:
    """The compiled identity policies, boundary and session policies of `principal`."""
    return compile_sources(runtime, policy_sources(conn, principal))


# -- principal tags ------------------------------------------------------------------------


def user_tags(conn: Connection, user_id: str) -> dict[str, str]:
    return tags.tag_map(conn, tags.USER, user_id)


def role_tags(conn: Connection, role_id: str) -> dict[str, str]:
    return tags.tag_map(conn, tags.ROLE, role_id)


def principal_tags(
    conn: Connection, principal: Principal, session_tags: Mapping[str, str] | None = None
) -> dict[str, str]:
    """aws:PrincipalTag values: a user's tags, or a role's tags overridden by session tags."""
    if principal.kind == "IAMUser" and principal.principal_id:
        return user_tags(conn, principal.principal_id)
    if principal.kind == "AssumedRole" and principal.role_id:
        merged = role_tags(conn, principal.role_id)
        if session_tags is None and principal.access_key_id:
            row = conn.execute(
                select(sts_sessions.c.tags).where(
                    sts_sessions.c.access_key_id == principal.access_key_id
                )
            ).first()
            session_tags = json.loads(row.tags) if row and row.tags else {}
        merged.update(session_tags or {})
        return merged
    return {}
