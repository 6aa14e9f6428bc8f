"""Group commit of new STS sessions: AssumeRole and GetSessionToken hand their sts_sessions row
(and the role's last use) to the process's session writer, which stores the rows of concurrent
calls in one transaction.

The first caller to find no commit in progress leads: it commits its own row at once, in its own
thread. Callers arriving meanwhile queue their rows and sleep; when the commit ends, the leader
wakes the callers it committed for and hands everything queued to one of the sleepers, which
leads the next commit. No thread is dedicated to writing, so a lone caller pays no hand-off and
a queued one exactly one wake-up (thread switches are a large part of a request's CPU cost).

A caller returns only after its row is committed, as when each call committed alone: an issued
credential is durable before the client sees it. What changes is that concurrent calls share one
commit (one fsync on SQLite) instead of queueing one by one for the database's write lock.

A batch that fails as a whole is retried one call per transaction, so one bad row cannot fail
the calls it happened to be batched with; the caller raises its own exception, which the
pipeline handles as if the call had stored the row itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam

from trailgate.errors import AwsError
from trailgate.store.raw import RawWriter
from trailgate.store.schema_iam import iam_roles, sts_sessions

if TYPE_CHECKING:
    from trailgate.runtime import Runtime
    from trailgate.services.registry import CallContext
    from trailgate.store.db import Database

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


@dataclass
class _Pending:
    row: dict[str, Any]
    role_use: RoleUse | None
    # Reads that must hold in the transaction that stores the row; raises an AwsError if not.
    check: Callable[[Connection], None] | None
    error: BaseException | None = None
    # The commit point of the transaction that stored the row (Database.commit_point).
    point: int | None = None
    # Set for the caller woken to lead the next commit: the rows it commits (its own among them).
    batch: list[_Pending] | None = None
    # Held from creation until the caller may go on (its row stored, or its turn to lead): a
    # plain lock is the cheapest wake-up between two threads.
    wake: threading.Lock = field(default_factory=threading.Lock)


class SessionWriter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._raw = RawWriter(db)
        self._mutex = threading.Lock()
        self._queued: list[_Pending] = []
        self._committing = False
        self._closed = False

    def write(
        self,
        row: dict[str, Any],
        *,
        role_use: RoleUse | None = None,
        check: Callable[[Connection], None] | None = None,
    ) -> None:
        """Store `row` durably; returns once committed, raises what storing it raised."""
        item = _Pending(row, role_use, check)
        item.wake.acquire()
        with self._mutex:
            if self._closed:
                raise RuntimeError("the session writer is closed")
            if self._committing:
                self._queued.append(item)
                lead = False
            else:
                self._committing = True
                item.batch = [item]
                lead = True
        if not lead:
            item.wake.acquire()  # released when stored, or when it is this caller's turn
        if item.batch is not None:
            self._lead(item.batch)
        if item.error is not None:
            raise item.error
        # Leader and followers alike: the row is acknowledged only once it is durable.
        self._db.make_durable(item.point)

    def close(self) -> None:
        """Refuse new rows; rows already handed over are committed by their callers."""
        with self._mutex:
            self._closed = True
            idle = not self._committing
        if idle:  # else the connection goes when the engine is disposed
            self._raw.close()

    def _lead(self, batch: list[_Pending]) -> None:
        try:
            self._store(batch)
        finally:
            with self._mutex:
                queued, self._queued = self._queued, []
                if not queued:
                    self._committing = False
            for item in batch:
                if item.batch is not batch:  # the leader itself is not asleep
                    item.wake.release()
            if queued:
                queued[0].batch = queued
                queued[0].wake.release()

    def _store(self, batch: list[_Pending]) -> None:
        """Commit the batch; every failure ends up in its item's `error`, nothing is raised."""
        try:
            self._commit(batch)
        except BaseException as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            for item in batch:
                item.error = None
                try:
                    self._commit([item])
                except BaseException as single:  # raised in the caller's thread
                    item.error = single

    def _commit(self, batch: list[_Pending]) -> None:
        self._write(batch)
        point = self._db.commit_point()
        for item in batch:
            item.point = point

    def _write(self, batch: list[_Pending]) -> None:
        if any(item.check is not None for item in batch):
            self._write_checked(batch)
            return
        # The common case (no reads to make inside the transaction): straight to the driver.
        raw = self._raw
        with raw.cursor() as cursor:
            _insert(raw, cursor, [item.row for item in batch], _latest_uses(batch))

    def _write_checked(self, batch: list[_Pending]) -> None:
        with self._db.begin(durable=False) as conn:
            stored: list[_Pending] = []
            for item in batch:
                if item.check is not None:
                    try:
                        item.check(conn)
                    except AwsError as err:
                        item.error = err
                        continue
                stored.append(item)
            if not stored:
                return
            conn.execute(_INSERT_SESSION, [item.row for item in stored])
            uses = _latest_uses(stored)
            if uses:
                conn.execute(
                    _ROLE_USED,
                    [
                        {"b_role_id": u.role_id, "b_when": u.when, "b_region": u.region}
                        for u in uses
                    ],
                )


def _insert(raw: RawWriter, cursor: Any, rows: list[dict[str, Any]], uses: list[RoleUse]) -> None:
    raw.insert(cursor, "sts_sessions", _SESSION_COLUMNS, [_session_values(raw, r) for r in rows])
    if uses:
        m = raw.mark
        cursor.executemany(
            f"UPDATE iam_roles SET last_used_at = {m}, last_used_region = {m} WHERE id = {m}",
            [(raw.time(u.when), u.region, u.role_id) for u in uses],
        )


def store_session(
    ctx: CallContext,
    row: dict[str, Any],
    *,
    role_use: RoleUse | None = None,
    check: Callable[[Connection], None] | None = None,
) -> None:
    """Store a new session's row before the call is acknowledged.

    On the wire (ctx.writes), the row goes into the transaction that queues the call's
    CloudTrail events: one commit and one fsync per call instead of two, and the session exists
    exactly when its AssumeRole event does. Rows with a `check` (reads that must hold in the
    storing transaction) and in-process calls go through the session writer.
    """
    if check is None and ctx.writes is not None:
        uses = [role_use] if role_use is not None else []
        ctx.writes.append(partial(_insert_one, row, uses))
        return
    writer_for(ctx.runtime).write(row, role_use=role_use, check=check)


def _insert_one(row: dict[str, Any], uses: list[RoleUse], raw: RawWriter, cursor: Any) -> None:
    _insert(raw, cursor, [row], uses)


def _latest_uses(items: list[_Pending]) -> list[RoleUse]:
    latest: dict[str, RoleUse] = {}
    for item in items:
        use = item.role_use
        if use is not None and (use.role_id not in latest or use.when >= latest[use.role_id].when):
            latest[use.role_id] = use
    return list(latest.values())


def _session_values(raw: RawWriter, row: dict[str, Any]) -> tuple[object, ...]:
    values: list[object] = []
    for name, default in _SESSION_DEFAULTS:
        value = row.get(name, default)
        values.append(raw.time(value) if isinstance(value, datetime) else value)
    return tuple(values)


def writer_for(runtime: Runtime) -> SessionWriter:
    """The runtime's session writer, made on first use; Runtime.close closes it."""
    writer = runtime.session_writer
    if writer is None:
        with runtime._lock:
            writer = runtime.session_writer
            if writer is None:
                writer = runtime.session_writer = SessionWriter(runtime.db)
    return writer
