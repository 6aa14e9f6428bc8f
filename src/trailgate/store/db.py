"""Opening the metadata database: SQLite (WAL) in the data dir by default, PostgreSQL by URL.

One `Database` per process wraps the SQLAlchemy engine. Transactions are short and explicit
(`with db.begin() as conn:`); nothing holds a connection across an await.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool

SQLITE_FILE = "trailgate.sqlite3"


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and route them to the psycopg 3 driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / SQLITE_FILE}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # FULL makes each commit durable against power loss, not only a process crash: an
    # acknowledged write must survive either.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Database:
    """The engine plus the facts about it that callers need (dialect, location)."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            # Python's sqlite3 would otherwise open transactions lazily and hide BEGIN from us;
            # autocommit=False with explicit BEGIN IMMEDIATE avoids writer deadlocks across workers.
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
        # SQLite: as many pooled connections as request threads (anyio's default limiter is
        # 40), so a busy server does not churn connections and their pragmas. PostgreSQL: fewer,
        # since several workers and nodes share the server's connection limit.
        kwargs["pool_size"] = 40 if self.is_sqlite else 10
        kwargs["max_overflow"] = 10 if self.is_sqlite else 20
        if ":memory:" in self.url:
            kwargs = {"future": True, "poolclass": NullPool}
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "connect", _sqlite_disable_pysqlite_txn)
            event.listen(self.engine, "begin", _sqlite_begin_immediate)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A read-write transaction, committed on success, rolled back on error."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(trailgate_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot); rolled back at the end."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_disable_pysqlite_txn(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None


def _sqlite_begin_immediate(conn: Connection) -> None:
    # Writers take the lock at BEGIN, so two workers never both read and then both try to
    # upgrade to a writer (SQLITE_BUSY that no busy_timeout can resolve). Readers stay deferred.
    if conn.get_execution_options().get("trailgate_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def open_database(url: str | None, data_dir: Path) -> Database:
    """The database named by `url`, else SQLite in `data_dir` (created if needed)."""
    if not url:
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        url = sqlite_url(data_dir)
    return Database(url)
