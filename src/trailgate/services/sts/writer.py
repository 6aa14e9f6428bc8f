"""Storing a new STS session: its sts_sessions row and the role's last use (GetRole's
RoleLastUsed), durable before the call that issued it is answered.

A call on the wire hands the row to the CloudTrail recorder (`CallContext.writes`), which
commits it in the transaction that queues the call's events: one commit and one fsync per call,
and concurrent calls share them (trail.committer, trail.recorder). The session exists exactly
when its AssumeRole event does. Rows that need reads inside the storing transaction (`check`:
the session's managed policies must still exist) and in-process calls, which have no recorder
transaction to join, are stored in a transaction of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam

from trailgate.store.raw import RawWriter
from trailgate.store.schema_iam import iam_roles, sts_sessions

if TYPE_CHECKING:
    from trailgate.services.registry import CallContext

# Built once: executing a prebuilt statement skips SQLAlchemy's per-call statement construction.
_INSERT_SESSION = sts_sessions.insert()
_ROLE_USED = (
    iam_roles.update()
    .where(iam_roles.c.id == bindparam("b_role_id"))
    .values(last_used_at=bindparam("b_when"), last_used_region=bindparam("b_region"))
)

_SESSION_COLUMNS = tuple(c.name for c in sts_sessions.columns)
# Column defaults the raw path fills in itself (SQLAlchemy would, from the table definition).
_SESSION_DEFAULTS = tuple(
    (c.name, c.default.arg if c.default is not None and c.default.is_scalar else None)
    for c in sts_sessions.columns
)


@dataclass(frozen=True)
class RoleUse:
    """AssumeRole's note that the role was used (GetRole's RoleLastUsed)."""

    role_id: str
    when: datetime
    region: str


def store_session(
    ctx: CallContext,
    row: dict[str, Any],
    *,
    role_use: RoleUse | None = None,
    check: Callable[[Connection], None] | None = None,
) -> None:
    """Store a new session's row before the call is acknowledged; raises what `check` raises."""
    if check is None and ctx.writes is not None:
        ctx.writes.append(partial(_insert, row, role_use))
        return
    with ctx.runtime.db.begin() as conn:
        if check is not None:
            check(conn)
        conn.execute(_INSERT_SESSION, row)
        if role_use is not None:
            conn.execute(
                _ROLE_USED,
                {
                    "b_role_id": role_use.role_id,
                    "b_when": role_use.when,
                    "b_region": role_use.region,
                },
            )


def _insert(row: dict[str, Any], use: RoleUse | None, raw: RawWriter, cursor: Any) -> None:
    values = tuple(
        raw.time(value) if isinstance(value, datetime) else value
        for value in (row.get(name, default) for name, default in _SESSION_DEFAULTS)
    )
    raw.insert(cursor, "sts_sessions", _SESSION_COLUMNS, [values])
    if use is not None:
        m = raw.mark
        cursor.execute(
            f"UPDATE iam_roles SET last_used_at = {m}, last_used_region = {m} WHERE id = {m}",
            (raw.time(use.when), use.region, use.role_id),
        )
