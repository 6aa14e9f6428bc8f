"""The durable event queue (`trail_events`): append in commit order, read in sequence order.

Appends take the queue's order lock first, so sequence numbers are handed out in commit order:
once a reader sees `seq = n`, no event below `n` can still appear. SQLite gets that from its
single writer (every write transaction begins IMMEDIATE); PostgreSQL from a transaction-scoped
advisory lock (sequence values are otherwise allocated before commit, in any order).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select

from trailgate.store.db import Database
from trailgate.store.schema_trail import trail_event_resources, trail_events
from trailgate.trail.records import EventRow

# Any constant unique to this lock among trailgate's advisory locks.
_ORDER_LOCK = 7478210004
RETENTION_DAYS = 90


def lock_order(conn: Connection) -> None:
    """Serialise with every appender (call at the start of a write transaction)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ORDER_LOCK})")


def append(db: Database, rows: Sequence[EventRow]) -> None:
    """Insert `rows` in one committed transaction."""
    if not rows:
        return
    events = [
        {
            "event_id": r.event_id,
            "account_id": r.account_id,
            "event_time": r.event_time,
            "region": r.region,
            "event_source": r.event_source,
            "event_name": r.event_name,
            "read_only": r.read_only,
            "management": r.management,
            "username": r.username,
            "access_key_id": r.access_key_id,
            "data_bucket": r.data_bucket,
            "data_key": r.data_key,
            "resources": json.dumps(r.resources, separators=(",", ":")) if r.resources else None,
            "record": r.record,
        }
        for r in rows
    ]
    resources = [
        {
            "event_id": r.event_id,
            "position": i,
            "account_id": r.account_id,
            "event_time": r.event_time,
            "resource_type": res["ResourceType"],
            "resource_name": res["ResourceName"][:2048],
        }
        for r in rows
        if r.management
        for i, res in enumerate(r.resources)
    ]
    with db.begin() as conn:
        lock_order(conn)
        conn.execute(insert(trail_events), events)
        if resources:
            conn.execute(insert(trail_event_resources), resources)


def max_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.max(trail_events.c.seq))).scalar() or 0)


@dataclass(frozen=True)
class QueuedEvent:
    seq: int
    event_time: datetime
    region: str
    event_source: str
    event_name: str
    read_only: bool
    management: bool
    data_bucket: str | None
    data_key: str | None
    record: str


def read_after(
    conn: Connection, account_id: str, after_seq: int, limit: int, upto_seq: int | None = None
) -> list[QueuedEvent]:
    """The account's events with seq in (after_seq, upto_seq], oldest first, at most `limit`."""
    e = trail_events.c
    query = (
        select(
            e.seq, e.event_time, e.region, e.event_source, e.event_name, e.read_only,
            e.management, e.data_bucket, e.data_key, e.record,
        )
        .where(e.account_id == account_id, e.seq > after_seq)
        .order_by(e.seq)
        .limit(limit)
    )  # fmt: skip
    if upto_seq is not None:
        query = query.where(e.seq <= upto_seq)
    return [
        QueuedEvent(
            seq=row.seq,
            event_time=row.event_time,
            region=row.region,
            event_source=row.event_source,
            event_name=row.event_name,
            read_only=bool(row.read_only),
            management=bool(row.management),
            data_bucket=row.data_bucket,
            data_key=row.data_key,
            record=row.record,
        )
        for row in conn.execute(query)
    ]


def prune(conn: Connection, before: datetime, below_seq: int) -> int:
    """Drop events older than `before` that every trail is done with (seq <= below_seq)."""
    e = trail_events.c
    doomed = select(e.event_id).where(e.event_time < before, e.seq <= below_seq)
    conn.execute(
        delete(trail_event_resources).where(trail_event_resources.c.event_id.in_(doomed))
    )
    result = conn.execute(delete(trail_events).where(e.event_time < before, e.seq <= below_seq))
    return int(result.rowcount or 0)
