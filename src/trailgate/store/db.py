"""Opening the metadata database: SQLite (WAL) in the data dir by default, PostgreSQL by URL.

One `Database` per process wraps the SQLAlchemy engine. Transactions are short and explicit
(`with db.begin() as conn:`); nothing holds a connection across an await.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool

from trailgate.store.walsync import WalSync, wal_sync_for
from trailgate.store.writelock import WriterLock, current_pid, writer_lock_for

SQLITE_FILE = "trailgate.sqlite3"


class DeferredDurability:
    """What a request served on the event loop committed and must see durable before its
    response goes out (see `deferring_durability`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # The loop that awaits `wait()`; the request itself may run in a worker thread. Made on
        # the loop's thread, whose id tells later whether a caller runs on the loop
        # (asyncio.get_running_loop() costs a getpid system call each time).
        self.loop = loop
        self.loop_thread = threading.get_ident()
        self.points: dict[WalSync, int] = {}
        # Writes handed to another thread (trail.committer): each ends once durable.
        self.futures: list[asyncio.Future[None]] = []

    @property
    def pending(self) -> bool:
        return bool(self.points or self.futures)

    def add(self, wal_sync: WalSync, point: int) -> None:
        if point > self.points.get(wal_sync, -1):
            self.points[wal_sync] = point

    def on_loop_thread(self) -> bool:
        return threading.get_ident() == self.loop_thread

    async def wait(self) -> None:
        for future in self.futures:
            await future
        for wal_sync, point in self.points.items():
            await wal_sync.wait(point, loop=self.loop)


def current_deferral() -> DeferredDurability | None:
    """The running request's deferral, when it is served on the event loop."""
    return _deferred.get()


_deferred: ContextVar[DeferredDurability | None] = ContextVar(
    "trailgate_deferred_durability", default=None
)


@contextmanager
def deferring_durability(
    deferred: DeferredDurability | None = None,
) -> Iterator[DeferredDurability]:
    """Within this block (the server runs a request in it, on the event loop or in a worker
    thread), commits do not block on their fsync; the server awaits `DeferredDurability.wait()`
    on the loop before acknowledging. Without `deferred`, call on the loop's thread."""
    if deferred is None:
        deferred = DeferredDurability(asyncio.get_running_loop())
    token = _deferred.set(deferred)
    try:
        yield deferred
    finally:
        _deferred.reset(token)


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and route them to the psycopg 3 driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / SQLITE_FILE}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # NORMAL: commits do not fsync the WAL; Database.begin does that after releasing the write
    # lock (store.walsync), which makes each acknowledged commit as durable as FULL would.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
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
        self.writer_lock: WriterLock | None = None
        self.wal_sync: WalSync | None = None
        self._writer_conn: Connection | None = None
        self._writer_pid = 0
        database_file = self.engine.url.database if self.is_sqlite else None
        if database_file and ":memory:" not in self.url:
            database_file = os.path.abspath(database_file)
            self.writer_lock = writer_lock_for(database_file)
            self.wal_sync = wal_sync_for(database_file)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "connect", _sqlite_disable_pysqlite_txn)
            event.listen(self.engine, "begin", _sqlite_begin_immediate)

    @contextmanager
    def begin(self, *, durable: bool = True) -> Iterator[Connection]:
        """A read-write transaction, committed on success, rolled back on error.

        On SQLite the commit is made durable (its WAL frames fsynced, store.walsync) before this
        returns, or before the event loop's response goes out (`deferring_durability`).
        `durable=False` leaves that to the caller: `make_durable(commit_point())`, for group
        commits whose callers wait for one shared point.
        """
        with self.writing():
            kept = self._kept_writer()
            if kept is not None:
                with kept.begin():
                    yield kept
            else:
                with self.engine.connect() as conn:
                    conn = conn.execution_options(trailgate_write=True)
                    with conn.begin():
                        yield conn
        if durable:
            self.make_durable(self.commit_point())

    def _kept_writer(self) -> Connection | None:
        """SQLite's one writer connection of this process, for the outermost write transaction
        of the thread holding the writer lock: writers take turns anyway, and a pool checkout
        and return (with its reset) cost more than a short transaction's own statements.
        Nested write transactions, and PostgreSQL (concurrent writers), use pool connections."""
        lock = self.writer_lock
        if lock is None or lock.depth != 1:
            return None
        conn = self._writer_conn
        if conn is not None and self._writer_pid == current_pid() and not (
            conn.closed or conn.invalidated
        ):
            return conn
        if conn is not None and self._writer_pid == current_pid():
            with contextlib.suppress(Exception):
                conn.close()
        conn = self.engine.connect().execution_options(trailgate_write=True)
        self._writer_conn, self._writer_pid = conn, current_pid()
        return conn

    def commit_point(self) -> int | None:
        """Taken right after a commit: what `make_durable` waits for. None: nothing to wait for."""
        return self.wal_sync.point() if self.wal_sync is not None else None

    def make_durable(self, point: int | None) -> None:
        """Return once the commit taken at `point` is on stable storage; on the event loop (a
        `deferring_durability` block), note it for the response to wait for instead."""
        if point is None or self.wal_sync is None:
            return
        deferred = _deferred.get()
        if deferred is not None:
            deferred.add(self.wal_sync, point)
        else:
            self.wal_sync.sync(point)

    def sync_now(self) -> None:
        """Make every commit so far durable before returning, even inside a deferring block:
        for work that must follow durability (unlinking blobs no row references any more)."""
        if self.wal_sync is not None:
            self.wal_sync.sync(self.wal_sync.point())

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Held around every write transaction: SQLite's writer lock (store.writelock), taken
        before BEGIN so that waiting writers queue in the kernel, not in SQLite's busy sleeps."""
        if self.writer_lock is None:
            yield
        else:
            with self.writer_lock.held():
                yield

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot); rolled back at the end."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        with self.writing():
            if self._writer_conn is not None and self._writer_pid == current_pid():
                with contextlib.suppress(Exception):
                    self._writer_conn.close()
            self._writer_conn = None
        self.engine.dispose()


def _sqlite_disable_pysqlite_txn(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None


def _sqlite_begin_immediate(conn: Connection) -> None:
    # Writers take the lock at BEGIN, so two workers never both read and then both try to
    # upgrade to a writer (SQLITE_BUSY that no busy_timeout can resolve). Readers stay deferred.
    # Straight to the driver: SQLAlchemy's statement machinery cost more than the BEGIN, on
    # every transaction.
    driver = conn.connection.driver_connection
    assert driver is not None
    if conn.get_execution_options().get("trailgate_write"):
        driver.execute("BEGIN IMMEDIATE")
    else:
        driver.execute("BEGIN")


def open_database(url: str | None, data_dir: Path) -> Database:
    """The database named by `url`, else SQLite in `data_dir` (created if needed)."""
    if not url:
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        url = sqlite_url(data_dir)
    return Database(url)
