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

from sqlalchemy import Connection, delete, func, select

from trailgate.store.db import Database
from trailgate.store.raw import ROWS_PER_STATEMENT, RawWrite, RawWriter
from trailgate.store.schema_trail import trail_event_resources, trail_events
from trailgate.trail.records import EventRow

# Any constant unique to this lock among trailgate's advisory locks.
_ORDER_LOCK = 7478210004
RETENTION_DAYS = 90


def lock_order(conn: Connection) -> None:
    """Serialise with every appender (call at the start of a write transaction)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ORDER_LOCK})")


_EVENT_COLUMNS = (
    "event_id", "account_id", "event_time", "region", "event_source", "event_name", "read_only",
    "management", "username", "access_key_id", "data_bucket", "data_key", "resources", "record",
)  # fmt: skip
_RESOURCE_COLUMNS = (
    "event_id", "position", "account_id", "event_time", "resource_type", "resource_name",
)  # fmt: skip


class Appender:
    """Appends event rows through a `store.raw.RawWriter`: BEGIN, one multi-row INSERT per
    table, COMMIT. One appender serves one committer at a time (the recorder's leader)."""

    def __init__(self, db: Database, *, relaxed: bool) -> None:
        self._db = db
        self._relaxed = relaxed
        self._raw = RawWriter(db)

    def close(self) -> None:
        self._raw.close()

    def append(self, rows: Sequence[EventRow], writes: Sequence[RawWrite] = ()) -> int | None:
        """Insert `rows`, and run `writes`, in one committed transaction; returns its commit
        point, which the caller makes durable (`Database.make_durable`) before acknowledging."""
        if not rows and not writes:
            return None
        raw = self._raw
        sqlite = raw.sqlite
        resources = [
            (
                r.event_id, i, r.account_id, raw.time(r.event_time),
                res["ResourceType"], res["ResourceName"][:2048],
            )
            for r in rows
            if r.management
            for i, res in enumerate(r.resources)
        ]  # fmt: skip
        events = self._event_rows(rows)
        prelude: list[str] = []
        if not sqlite:
            if self._relaxed:
                # Survives a crash of trailgate, not of the database host (see recorder.py).
                prelude.append("SET LOCAL synchronous_commit TO OFF")
            prelude.append(f"SELECT pg_advisory_xact_lock({_ORDER_LOCK})")
        # A lone INSERT is its own transaction on SQLite (the common case: no resources).
        single = sqlite and not resources and not writes and len(events) <= ROWS_PER_STATEMENT
        with raw.cursor(transaction=not single, prelude=prelude) as cursor:
            for write in writes:
                write(raw, cursor)
            if events:
                raw.insert(cursor, "trail_events", _EVENT_COLUMNS, events)
            if resources:
                raw.insert(cursor, "trail_event_resources", _RESOURCE_COLUMNS, resources)
        return self._db.commit_point()

    def _event_rows(self, rows: Sequence[EventRow]) -> list[tuple[object, ...]]:
        time = self._raw.time
        return [
            (
                r.event_id, r.account_id, time(r.event_time), r.region,
                r.event_source, r.event_name, r.read_only, r.management, r.username,
                r.access_key_id, r.data_bucket, r.data_key,
                json.dumps(r.resources, separators=(",", ":")) if r.resources else None,
                r.record,
            )
            for r in rows
        ]  # fmt: skip


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


def _first_seq_at_or_after(conn: Connection, seq: int) -> tuple[int, datetime] | None:
    e = trail_events.c
    row = conn.execute(
        select(e.seq, e.event_time).where(e.seq >= seq).order_by(e.seq).limit(1)
    ).first()
    return (int(row.seq), row.event_time) if row else None


def prune(conn: Connection, before: datetime, below_seq: int) -> int:
    """Drop events older than `before` that every trail is done with (seq <= below_seq).

    Event times grow with seq (up to the few seconds a call takes), so the cut is found by a
    binary search over seq with primary-key lookups; no index on time is needed.
    """
    e = trail_events.c
    low = conn.execute(select(func.min(e.seq))).scalar()
    if low is None:
        return 0
    lo, hi, cut = int(low), int(below_seq), 0
    while lo <= hi:
        mid = (lo + hi) // 2
        found = _first_seq_at_or_after(conn, mid)
        if found is None or found[0] > hi:
            hi = mid - 1
        elif found[1] < before:
            cut = found[0]
            lo = found[0] + 1
        else:
            hi = mid - 1
    if cut == 0:
        return 0
    doomed = select(e.event_id).where(e.seq <= cut)
    conn.execute(delete(trail_event_resources).where(trail_event_resources.c.event_id.in_(doomed)))
    result = conn.execute(delete(trail_events).where(e.seq <= cut))
    return int(result.rowcount or 0)
