"""Tables of the web console: signed-in sessions and the sign-in failure counters behind the
lockout delay.

Sessions live in the database (not in the cookie) so every worker and node sees a sign-out at
once and a deleted user's sessions can be ended. Only a SHA-256 of the session token is stored:
someone who reads the database cannot replay the cookies.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from trailgate.store.schema import metadata
from trailgate.store.types import UtcDateTime

SINCE = {"since": 5}

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", String(12), nullable=False),
    # "Root" or "IAMUser"; user_id is the IAM user's unique id (AIDA...), NULL for the root.
    Column("principal_kind", String(16), nullable=False),
    Column("user_id", String(32), nullable=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    info=SINCE,
)
Index("ix_console_sessions_expires", console_sessions.c.expires_at)

# One row per sign-in name ("<account>:user:<name lower>" or "<account>:root"), whether or not
# that user exists, so a lockout tells nobody which names are real.
console_signin_failures = Table(
    "console_signin_failures",
    metadata,
    Column("subject", String(160), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UtcDateTime(), nullable=False),
    Column("locked_until", UtcDateTime(), nullable=True),
    info=SINCE,
)
Index("ix_console_signin_failures_last", console_signin_failures.c.last_failure_at)
