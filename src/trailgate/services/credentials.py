"""The credential resolver: from an access key id to its secret and the Principal it stands for.

Long-term keys (AKIA) belong to an account root or an IAM user; temporary keys (ASIA) to an STS
session. Results are cached in the runtime's auth cache (dropped whenever authorization data
changes); unknown keys are never cached, so a key created on another worker works at once.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, select

from trailgate.auth.credentials import CredentialRecord, CredentialResolver
from trailgate.auth.principal import Principal
from trailgate.runtime import Runtime
from trailgate.store import schema, schema_iam


def resolver_for(runtime: Runtime) -> CredentialResolver:
    def resolve(access_key_id: str) -> CredentialRecord | None:
        cache = runtime.fresh_auth_cache()
        key = ("credential", access_key_id)
        record = cache.get(key)
        if record is None:
            record = load_credential(runtime, access_key_id)
            if record is not None:
                cache.put(key, record)
        return record

    return resolve


def load_credential(runtime: Runtime, access_key_id: str) -> CredentialRecord | None:
    if access_key_id.startswith("ASIA"):
        return _load_session(runtime, access_key_id)
    keys = schema.access_keys
    users = schema_iam.iam_users
    with runtime.db.read() as conn:
        row = conn.execute(select(keys).where(keys.c.access_key_id == access_key_id)).first()
        if row is None:
            return None
        secret = runtime.sealer.open(row.secret_sealed, access_key_id)
        if row.user_id is None:
            principal = Principal.root(row.account_id, access_key_id=access_key_id)
        else:
            user = conn.execute(select(users).where(users.c.id == row.user_id)).first()
            if user is None:
                return None
            tags = _tags(conn, "user", user.id)
            principal = Principal.iam_user(
                row.account_id,
                user.name,
                user.id,
                path=user.path,
                access_key_id=access_key_id,
                tags=tags,
            )
    return CredentialRecord(
        access_key_id=access_key_id,
        secret_access_key=secret,
        principal=principal,
        active=row.status == "Active",
    )


def _tags(conn: Connection, resource_type: str, resource_id: str) -> dict[str, str]:
    tags = schema_iam.iam_tags
    rows = conn.execute(
        select(tags.c.key, tags.c.value).where(
            tags.c.resource_type == resource_type, tags.c.resource_id == resource_id
        )
    )
    return {r.key: r.value for r in rows}


def _load_session(runtime: Runtime, access_key_id: str) -> CredentialRecord | None:
    sessions = schema_iam.sts_sessions
    roles = schema_iam.iam_roles
    users = schema_iam.iam_users
    with runtime.db.read() as conn:
        row = conn.execute(
            select(sessions).where(sessions.c.access_key_id == access_key_id)
        ).first()
        if row is None:
            return None
        secret = runtime.sealer.open(row.secret_sealed, access_key_id)
        token = runtime.sealer.open(row.token_sealed, access_key_id + "/token")
        tags = json.loads(row.tags) if row.tags else {}
        if row.kind == "AssumedRole":
            role = conn.execute(select(roles).where(roles.c.id == row.role_id)).first()
            if role is None:
                # The role was deleted: its sessions stop working with it.
                return None
            principal = Principal.assumed_role(
                row.account_id,
                role.name,
                role.id,
                row.session_name,
                role_path=role.path,
                access_key_id=access_key_id,
                token_issue_time=row.issued_at,
                expires_at=row.expires_at,
                tags={**_tags(conn, "role", role.id), **tags},
                source_identity=row.source_identity,
            )
        else:
            user = conn.execute(select(users).where(users.c.id == row.user_id)).first() if (
                row.user_id
            ) else None
            if row.user_id and user is None:
                return None
            base = (
                Principal.iam_user(row.account_id, user.name, user.id, path=user.path,
                                   tags=_tags(conn, "user", user.id))
                if user is not None
                else Principal.root(row.account_id)
            )
            from dataclasses import replace

            principal = replace(
                base,
                access_key_id=access_key_id,
                token_issue_time=row.issued_at,
                expires_at=row.expires_at,
            )
    return CredentialRecord(
        access_key_id=access_key_id,
        secret_access_key=secret,
        principal=principal,
        session_token=token,
        expires_at=row.expires_at,
        active=True,
    )
