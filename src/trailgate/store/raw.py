"""Hot write paths that skip SQLAlchemy: one DB-API connection, prebuilt SQL, plain tuples.

The CloudTrail queue commits for every API call and STS for every session it issues; on those
paths SQLAlchemy's per-statement machinery (pool checkout, events, compiled-statement caches,
bind processors) cost more than SQLite's own work. `RawWriter` keeps one pooled connection (the
store's connect hooks have run on it) and writes through the driver, under the same writer lock
as every other write (`Database.writing`). Values are converted the way the tables' types would
(`db_time`), so reads through SQLAlchemy see the same values.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from trailgate.store.db import Database

# A write to run inside another component's transaction: called with the writer and its cursor.
RawWrite = Callable[["RawWriter", Any], None]

# Rows per multi-row INSERT: well below SQLite's and PostgreSQL's limits on bound parameters
# for the tables written here (at most ~20 columns).
ROWS_PER_STATEMENT = 1_000


class RawWriter:
    """One committer at a time (its callers' group-commit leader) writes through it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sqlite = db.is_sqlite
        self.mark = "?" if self.sqlite else "%s"
        self._conn: Any = None

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self.db.engine.raw_connection()
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def cursor(self, *, transaction: bool = True, prelude: Sequence[str] = ()) -> Iterator[Any]:
        """A cursor inside one write transaction, committed when the block ends.

        `transaction=False` (SQLite only) runs the block's statements in autocommit mode: a lone
        INSERT is then its own transaction with one call into the driver instead of three.
        `prelude` statements run first (PostgreSQL: SET LOCAL, advisory locks).
        """
        conn = self._connection()
        with self.db.writing():
            try:
                cursor = conn.cursor()
                try:
                    explicit = transaction or not self.sqlite
                    if self.sqlite and explicit:
                        cursor.execute("BEGIN IMMEDIATE")
                    for statement in prelude:
                        cursor.execute(statement)
                    yield cursor
                    if self.sqlite and explicit:
                        cursor.execute("COMMIT")
                    elif not self.sqlite:
                        conn.commit()
                finally:
                    cursor.close()
            except BaseException:
                self._abandon(conn)
                raise

    def insert(
        self, cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        one = "(" + ", ".join(self.mark for _ in columns) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            flat = tuple(value for row in chunk for value in row)
            cursor.execute(head + ", ".join(one for _ in chunk), flat)

    def time(self, moment: datetime | None) -> object:
        return None if moment is None else db_time(self.sqlite, moment)

    def _abandon(self, conn: Any) -> None:
        # Roll back what the failed transaction began, and start over on a fresh connection.
        with contextlib.suppress(Exception):
            if self.sqlite:
                conn.driver_connection.execute("ROLLBACK")
            else:
                conn.rollback()
        with contextlib.suppress(Exception):
            conn.invalidate()
        self._conn = None


def db_time(sqlite: bool, moment: datetime) -> object:
    """A timestamp as store.types.UtcDateTime writes it: naive UTC text on SQLite (SQLAlchemy's
    format), an aware timestamp on PostgreSQL."""
    moment = moment.astimezone(UTC)
    if sqlite:
        return (
            f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} {moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}"
        )
    return moment
