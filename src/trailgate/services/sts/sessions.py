"""Issuing temporary credentials: the sts_sessions row and the Credentials structure returned.

The row is stored by the session writer (writer.py), which commits concurrent calls together."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from trailgate.services import ids
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


def prepare(
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
) -> tuple[IssuedSession, dict[str, Any]]:
    """New credentials and the sts_sessions row that makes them valid once committed.

    The row names every column, so the rows of concurrent calls insert as one batch (writer.py).
    """
    akid = ids.access_key_id(temporary=True)
    secret = ids.secret_access_key()
    token = new_session_token()
    issued_at = now.replace(microsecond=0)
    expiration = issued_at + timedelta(seconds=duration_seconds)
    row = {
        "access_key_id": akid,
        "account_id": account_id,
        "kind": kind,
        "role_id": role_id,
        "session_name": session_name,
        "user_id": user_id,
        "secret_sealed": sealer.seal(secret, akid),
        "token_sealed": sealer.seal(token, akid + "/token"),
        "issued_at": issued_at,
        "expires_at": expiration,
        "session_policy": session_policy,
        "session_policy_arns": json.dumps(session_policy_arns) if session_policy_arns else None,
        "source_identity": source_identity,
        "tags": json.dumps(tags) if tags else None,
        "transitive_tag_keys": json.dumps(transitive_tag_keys) if transitive_tag_keys else None,
        "source_arn": source_arn,
        "chained": chained,
    }
    # No generation bump when it is stored: a new key changes no cached answer (unknown keys
    # are never cached).
    return IssuedSession(akid, secret, token, expiration), row
