"""Group commit of new STS sessions: AssumeRole and GetSessionToken hand their sts_sessions row
(and the role's last use) to one writer thread per process, which stores everything that arrived
while it was committing the previous batch in one transaction.

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
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam

from trailgate.errors import AwsError
from trailgate.store.schema_iam import iam_roles, sts_sessions

if TYPE_CHECKING:
    from trailgate.runtime import Runtime
    from trailgate.store.db import Database

# Built once: executing a prebuilt statement skips SQLAlchemy's per-call statement construction.
_INSERT_SESSION = sts_sessions.insert()
_ROLE_USED = (
    iam_roles.update()
    .where(iam_roles.c.id == bindparam("b_role_id"))
    .values(last_used_at=bindparam("b_when"), last_used_region=bindparam("b_region"))
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
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class SessionWriter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._closed = False
        self._thread: threading.Thread | None = None

    def write(
        self,
        row: dict[str, Any],
        *,
        role_use: RoleUse | None = None,
        check: Callable[[Connection], None] | None = None,
    ) -> None:
        """Store `row` durably; returns once committed, raises what storing it raised."""
        item = _Pending(row, role_use, check)
        with self._cond:
            if self._closed:
                raise RuntimeError("the session writer is closed")
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sts-writer", daemon=True)
                self._thread.start()
            self._pending.append(item)
            self._cond.notify()
        item.done.wait()
        if item.error is not None:
            raise item.error

    def close(self) -> None:
        """Commit what is pending, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending, []
            self._store(batch)

    def _store(self, batch: list[_Pending]) -> None:
        try:
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
        finally:
            for item in batch:
                item.done.set()

    def _commit(self, batch: list[_Pending]) -> None:
        with self._db.begin() as conn:
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
            latest: dict[str, RoleUse] = {}
            for item in stored:
                use = item.role_use
                if use is not None and (
                    use.role_id not in latest or use.when >= latest[use.role_id].when
                ):
                    latest[use.role_id] = use
            if latest:
                conn.execute(
                    _ROLE_USED,
                    [
                        {"b_role_id": u.role_id, "b_when": u.when, "b_region": u.region}
                        for u in latest.values()
                    ],
                )


def writer_for(runtime: Runtime) -> SessionWriter:
    """The runtime's session writer, made on first use; Runtime.close stops it."""
    writer = runtime.session_writer
    if writer is None:
        with runtime._lock:
            writer = runtime.session_writer
            if writer is None:
                writer = runtime.session_writer = SessionWriter(runtime.db)
    return writer
