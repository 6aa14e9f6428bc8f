"""The durable event queue (`trail_events`): append in commit order, read in sequence order.

Appends take the queue's order lock first, so sequence numbers are handed out in commit order:
once a reader sees `seq = n`, no event below `n` can still appear. SQLite gets that from its
single writer (every write transaction begins IMMEDIATE); PostgreSQL from a transaction-scoped
advisory lock (sequence values are otherwise allocated before commit, in any order).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select

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


_EVENT_COLUMNS = (
    "event_id", "account_id", "event_time", "region", "event_source", "event_name", "read_only",
    "management", "username", "access_key_id", "data_bucket", "data_key", "resources", "record",
)  # fmt: skip
_RESOURCE_COLUMNS = (
    "event_id", "position", "account_id", "event_time", "resource_type", "resource_name",
)  # fmt: skip


# Rows per INSERT statement: one statement per batch keeps the committing thread from giving
# up and re-taking the GIL once per row (the driver releases it around every statement step).
# 1,000 rows of 14 columns stay below SQLite's and PostgreSQL's limits on bound parameters.
_ROWS_PER_STATEMENT = 1_000


class Appender:
    """Appends event rows through one driver connection of its own.

    The recorder commits for every API call, so this path skips SQLAlchemy's per-statement
    machinery (pool checkout, events, parameter processing) and talks to the DB-API driver
    directly: BEGIN, one multi-row INSERT per table, COMMIT. One appender serves one
    committer at a time (the recorder's leader).
    """

    def __init__(self, db: Database, *, relaxed: bool) -> None:
        self._db = db
        self._relaxed = relaxed
        self._sqlite = db.is_sqlite
        self._mark = "?" if self._sqlite else "%s"
        self._conn: Any = None

    def _connection(self) -> Any:
        if self._conn is None:
            # A pooled connection kept for good: the store's connect hooks (WAL, busy timeout,
            # synchronous) have run on it.
            self._conn = self._db.engine.raw_connection()
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def append(self, rows: Sequence[EventRow]) -> None:
        """Insert `rows` in one committed transaction."""
        if not rows:
            return
        conn = self._connection()
        try:
            cursor = conn.cursor()
            try:
                self._write(cursor, rows)
            finally:
                cursor.close()
        except BaseException:
            self._abandon(conn)
            raise

    def _write(self, cursor: Any, rows: Sequence[EventRow]) -> None:
        sqlite = self._sqlite
        single = (
            sqlite
            and len(rows) <= _ROWS_PER_STATEMENT
            and all(not (r.management and r.resources) for r in rows)
        )
        if single:
            # One INSERT is its own transaction in SQLite's autocommit mode: one call into the
            # driver instead of three (BEGIN, INSERT, COMMIT) for the common case.
            self._insert(cursor, "trail_events", _EVENT_COLUMNS, self._event_rows(rows))
            return
        if sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        else:
            if self._relaxed:
                # Survives a crash of trailgate, not of the database host (see recorder.py).
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(f"SELECT pg_advisory_xact_lock({_ORDER_LOCK})")
        self._insert(cursor, "trail_events", _EVENT_COLUMNS, self._event_rows(rows))
        resources = [
            (
                r.event_id, i, r.account_id, _time_value(sqlite, r.event_time),
                res["ResourceType"], res["ResourceName"][:2048],
            )
            for r in rows
            if r.management
            for i, res in enumerate(r.resources)
        ]  # fmt: skip
        if resources:
            self._insert(cursor, "trail_event_resources", _RESOURCE_COLUMNS, resources)
        if sqlite:
            cursor.execute("COMMIT")
        else:
            self._conn.commit()

    def _event_rows(self, rows: Sequence[EventRow]) -> list[tuple[object, ...]]:
        sqlite = self._sqlite
        return [
            (
                r.event_id, r.account_id, _time_value(sqlite, r.event_time), r.region,
                r.event_source, r.event_name, r.read_only, r.management, r.username,
                r.access_key_id, r.data_bucket, r.data_key,
                json.dumps(r.resources, separators=(",", ":")) if r.resources else None,
                r.record,
            )
            for r in rows
        ]  # fmt: skip

    def _insert(
        self, cursor: Any, table: str, columns: tuple[str, ...], rows: list[tuple[object, ...]]
    ) -> None:
        one = "(" + ", ".join(self._mark for _ in columns) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            flat = tuple(value for row in chunk for value in row)
            cursor.execute(head + ", ".join(one for _ in chunk), flat)

    def _abandon(self, conn: Any) -> None:
        # Roll back what the failed batch began, and start over on a fresh connection.
        with contextlib.suppress(Exception):
            if self._sqlite:
                conn.driver_connection.execute("ROLLBACK")
            else:
                conn.rollback()
        with contextlib.suppress(Exception):
            conn.invalidate()
        self._conn = None


def _time_value(sqlite: bool, moment: datetime) -> object:
    # Written the way store.types.UtcDateTime writes it, so reads through the table's types
    # see the same values: naive UTC text on SQLite, an aware timestamp on PostgreSQL.
    moment = moment.astimezone(UTC)
    if sqlite:
        return (
            f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} {moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}"
        )
    return moment


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
    conn.execute(
        delete(trail_event_resources).where(trail_event_resources.c.event_id.in_(doomed))
    )
    result = conn.execute(delete(trail_events).where(e.seq <= cut))
    return int(result.rowcount or 0)
