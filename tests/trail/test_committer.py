"""Committing calls' CloudTrail events (trail.committer) on a real SQLite store: batched per loop
iteration on the loop, or by the committer thread for calls served in worker threads."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import trailgate.store.walsync as walsync
from trailgate.store.db import Database, sqlite_url
from trailgate.store.migrations import migrate
from trailgate.store.raw import RawWriter
from trailgate.store.schema_trail import trail_events
from trailgate.trail.committer import Committer
from trailgate.trail.records import EventRow


def _row() -> EventRow:
    return EventRow(
        event_id=str(uuid.uuid4()),
        account_id="111111111111",
        event_time=datetime.now(UTC),
        region="us-east-1",
        event_source="sts.amazonaws.com",
        event_name="GetCallerIdentity",
        read_only=True,
        management=True,
        username="alice",
        access_key_id="AKIAEXAMPLE",
        data_bucket=None,
        data_key=None,
        record='{"eventVersion":"1.08"}',
    )


def _failing_write(raw: RawWriter, cursor: Any) -> None:
    cursor.execute("INSERT INTO no_such_table VALUES (1)")


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = Database(sqlite_url(tmp_path))
    migrate(database)
    yield database
    database.dispose()


def _count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(trail_events)).scalar() or 0)


def test_calls_queued_together_are_committed_and_made_durable(db: Database) -> None:
    committer = Committer(db)

    async def main() -> None:
        futures = [
            committer.submit([_row(), _row()], [], durable=True, loop=asyncio.get_running_loop())
            for _ in range(50)
        ]
        await asyncio.wait_for(asyncio.gather(*futures), 30)

    asyncio.run(main())
    committer.close()
    assert _count(db) == 100
    assert db.wal_sync is not None and db.wal_sync.point() >= 1  # at least one fsync ran


def test_one_failing_call_fails_alone(db: Database) -> None:
    committer = Committer(db)

    async def main() -> list[object]:
        futures = [
            committer.submit([_row()], [], durable=True, loop=asyncio.get_running_loop())
            for _ in range(5)
        ]
        futures.append(
            committer.submit(
                [_row()], [_failing_write], durable=True, loop=asyncio.get_running_loop()
            )
        )
        futures += [
            committer.submit([_row()], [], durable=True, loop=asyncio.get_running_loop())
            for _ in range(5)
        ]
        return await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 30)

    outcomes = asyncio.run(main())
    committer.close()
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failed) == 1 and outcomes[5] is failed[0]
    assert _count(db) == 10  # the failing call's event was rolled back with its write


def _fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record which thread runs each WAL fsync."""
    ran: list[str] = []
    real = walsync._fsync_file

    def fsync(path: str) -> None:
        ran.append(threading.current_thread().name)
        real(path)

    monkeypatch.setattr(walsync, "_fsync_file", fsync)
    return ran


def _thread_noter() -> tuple[list[str], Callable[[RawWriter, Any], None]]:
    """A call's write that notes which thread committed it."""
    writers: list[str] = []

    def note_thread(raw: RawWriter, cursor: Any) -> None:
        writers.append(threading.current_thread().name)

    return writers, note_thread


def _commit_calls(db: Database, count: int, *, from_threads: bool) -> list[str]:
    """Submit `count` calls from the loop's own thread or from worker threads and await them;
    the names of the threads that committed them."""
    committer = Committer(db)
    writers, note_thread = _thread_noter()

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def submit() -> asyncio.Future[None]:
            return committer.submit([_row()], [note_thread], durable=True, loop=loop)

        if from_threads:
            futures = [await asyncio.to_thread(submit) for _ in range(count)]
        else:
            futures = [submit() for _ in range(count)]
        await asyncio.wait_for(asyncio.gather(*futures), 30)

    asyncio.run(main())
    committer.close()
    return writers


def test_calls_of_one_loop_iteration_share_a_commit_and_a_fsync_run_on_the_loop(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = _fsyncs(monkeypatch)
    writers = _commit_calls(db, 20, from_threads=False)
    assert _count(db) == 20
    assert ran == ["MainThread"]  # one fsync for the whole iteration, by the loop
    assert set(writers) == {"MainThread"}


def test_calls_from_worker_threads_go_to_the_committer_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = _fsyncs(monkeypatch)
    writers = _commit_calls(db, 3, from_threads=True)
    assert _count(db) == 3
    assert set(writers) == {"trailgate-committer"}
    assert ran and set(ran) == {"trailgate-walsync"}


def test_a_failed_fsync_fails_the_loop_batch(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(path: str) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(walsync, "_fsync_file", failing)
    committer = Committer(db)

    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        futures = [committer.submit([_row()], [], durable=True, loop=loop) for _ in range(3)]
        return await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 30)

    outcomes = asyncio.run(main())
    committer.close()
    assert all(isinstance(o, OSError) for o in outcomes)
