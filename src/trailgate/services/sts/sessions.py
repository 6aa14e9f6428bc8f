"""Issuing temporary credentials: the sts_sessions row and the Credentials structure returned."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from trailgate.services import ids
from trailgate.store.schema_iam import sts_sessions
from trailgate.store.sealing import Sealer


@dataclass(frozen=True)
class IssuedSession:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime

    def credentials(self) -> dict[str, Any]:
        return {
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": self.expiration,
        }


def new_session_token() -> str:
    # 96 random bytes: unguessable, and long like AWS's tokens so clients' buffers are exercised.
    return secrets.token_urlsafe(96)


def issue(
    conn: Connection,
    sealer: Sealer,
    *,
    account_id: str,
    kind: str,
    now: datetime,
    duration_seconds: int,
    role_id: str | None = None,
    session_name: str | None = None,
    user_id: str | None = None,
    session_policy: str | None = None,
    session_policy_arns: list[str] | None = None,
    source_identity: str | None = None,
    tags: dict[str, str] | None = None,
    transitive_tag_keys: list[str] | None = None,
    source_arn: str | None = None,
    chained: bool = False,
) -> IssuedSession:
    akid = ids.access_key_id(temporary=True)
    secret = ids.secret_access_key()
    token = new_session_token()
    issued_at = now.replace(microsecond=0)
    expiration = issued_at + timedelta(seconds=duration_seconds)
    conn.execute(
        sts_sessions.insert().values(
            access_key_id=akid,
            account_id=account_id,
            kind=kind,
            role_id=role_id,
            session_name=session_name,
            user_id=user_id,
            secret_sealed=sealer.seal(secret, akid),
            token_sealed=sealer.seal(token, akid + "/token"),
            issued_at=issued_at,
            expires_at=expiration,
            session_policy=session_policy,
            session_policy_arns=json.dumps(session_policy_arns) if session_policy_arns else None,
            source_identity=source_identity,
            tags=json.dumps(tags) if tags else None,
            transitive_tag_keys=json.dumps(transitive_tag_keys) if transitive_tag_keys else None,
            source_arn=source_arn,
            chained=chained,
        )
    )
    # No generation bump: a new key changes no cached answer (unknown keys are never cached).
    return IssuedSession(akid, secret, token, expiration)
