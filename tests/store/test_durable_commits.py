"""SQLite write durability (store.walsync) and the cross-process writer lock (store.writelock)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import trailgate.store.walsync as walsync
from trailgate.store.db import Database, deferring_durability, sqlite_url
from trailgate.store.walsync import WalSync
from trailgate.store.writelock import writer_lock_for


def _counting_fsync(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace the WAL fsync with one that records when it started (and takes a while)."""
    started: list[float] = []
    real = walsync._fsync_file

    def fsync(path: str) -> None:
        started.append(time.monotonic())
        time.sleep(0.02)
        real(path)

    monkeypatch.setattr(walsync, "_fsync_file", fsync)
    return started


def test_sync_waits_for_an_fsync_that_started_after_the_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _counting_fsync(monkeypatch)
    wal = WalSync(str(tmp_path / "db"))
    (tmp_path / "db-wal").write_bytes(b"frames")
    point = wal.point()
    committed_at = time.monotonic()
    wal.sync(point)
    assert len(started) == 1 and started[0] >= committed_at
    # A second commit needs a second fsync; the first one does not cover it.
    wal.sync(wal.point())
    assert len(started) == 2


def test_one_fsync_covers_every_commit_made_before_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _counting_fsync(monkeypatch)
    wal = WalSync(str(tmp_path / "db"))
    points = [wal.point() for _ in range(20)]  # twenty commits, then their waits
    threads = [threading.Thread(target=wal.sync, args=(p,)) for p in points]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(started) == 1


def _waits_and_ticks(wal: WalSync, waits: int) -> int:
    """Run `waits` waits of one loop iteration next to a ticking task; the ticks they allowed."""

    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        await asyncio.gather(*(wal.wait(wal.point()) for _ in range(waits)))
        task.cancel()
        return ticks - before

    return asyncio.run(main())


def test_waits_of_one_loop_iteration_share_one_fsync_run_by_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _counting_fsync(monkeypatch)
    wal = WalSync(str(tmp_path / "db"), sync_on_loop=True)
    ticks = _waits_and_ticks(wal, 10)
    assert len(started) == 1
    assert ticks <= 2  # the loop itself ran the 20 ms fsync (not blocked: ~20 ticks)
    # A commit after that fsync began needs another one.
    asyncio.run(wal.wait(wal.point()))
    assert len(started) == 2


def test_with_sync_on_loop_off_the_loop_runs_on_during_the_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _counting_fsync(monkeypatch)
    wal = WalSync(str(tmp_path / "db"), sync_on_loop=False)
    ticks = _waits_and_ticks(wal, 10)
    assert len(started) == 1
    assert ticks >= 3  # the flusher thread ran the 20 ms fsync


def test_a_loop_fsync_releases_a_waiting_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _counting_fsync(monkeypatch)
    wal = WalSync(str(tmp_path / "db"), sync_on_loop=True)
    point = wal.point()
    wal.sync_here(point)
    # Both the thread's wait and the loop's are covered by that fsync: nothing runs again.
    wal.sync(point)
    asyncio.run(wal.wait(point))
    assert len(started) == 1


def test_the_loops_fsyncs_do_not_wake_an_idle_flusher(tmp_path: Path) -> None:
    class CountingCondition(threading.Condition):
        waits = 0

        def wait(self, timeout: float | None = None) -> bool:
            CountingCondition.waits += 1
            return super().wait(timeout)

    wal = WalSync(str(tmp_path / "db"), sync_on_loop=True)
    (tmp_path / "db-wal").write_bytes(b"frames")
    wal._work = CountingCondition(wal._cond._lock)  # type: ignore[attr-defined]
    wal.sync(wal.point())  # a thread's wait: the flusher starts, syncs, and goes idle
    time.sleep(0.05)
    idle_waits = CountingCondition.waits
    for _ in range(20):  # the loop's own fsyncs
        wal.sync_here(wal.point())
    time.sleep(0.05)
    assert CountingCondition.waits == idle_waits  # the flusher slept through all of them
    wal.sync(wal.point())  # and still serves the next thread that waits
    assert CountingCondition.waits > idle_waits


def test_after_a_failed_fsync_no_write_is_called_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}

    def failing(path: str) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(walsync, "_fsync_file", failing)
    wal = WalSync(str(tmp_path / "db"))
    with pytest.raises(OSError):
        wal.sync(wal.point())
    with pytest.raises(OSError, match="earlier fsync"):
        wal.sync(wal.point())


def test_begin_syncs_and_the_loop_defers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = _counting_fsync(monkeypatch)
    db = Database(sqlite_url(tmp_path))
    with db.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    assert len(started) == 1  # acknowledged only after the fsync

    async def serve_one() -> None:
        with deferring_durability() as deferred:
            with db.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (1)"))
            assert len(started) == 1 and deferred.pending  # noted, not yet synced
        await deferred.wait()

    asyncio.run(serve_one())
    assert len(started) == 2
    db.dispose()


def _hold_lock(path: str, ready: multiprocessing.Event, seconds: float) -> None:
    lock = writer_lock_for(path)
    with lock.held():
        ready.set()
        time.sleep(seconds)


def test_the_writer_lock_excludes_other_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "trailgate.sqlite3")
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    child = ctx.Process(target=_hold_lock, args=(path, ready, 0.5))
    child.start()
    try:
        assert ready.wait(30)
        began = time.monotonic()
        with writer_lock_for(path).held():
            waited = time.monotonic() - began
        assert waited >= 0.2  # held by the other process until it let go
    finally:
        child.join(10)
    assert child.exitcode == 0


def test_the_writer_lock_is_reentrant_in_a_thread(tmp_path: Path) -> None:
    lock = writer_lock_for(str(tmp_path / "x.sqlite3"))
    with lock.held(), lock.held():
        assert os.path.exists(lock.path)


def test_blobs_are_unlinked_only_after_the_metadata_is_synced(tmp_path: Path) -> None:
    from trailgate.store.blobs import BlobStore

    seen: list[bool] = []
    store: BlobStore

    def before_unlink() -> None:
        seen.append(store.path(name).exists())  # still there when the sync runs

    store = BlobStore(tmp_path, before_unlink=before_unlink)
    name = store.put(b"old body")
    store.delete([name])
    assert store.flush_deletes()
    assert seen == [True] and not store.path(name).exists()


def test_blobs_stay_when_the_sync_fails(tmp_path: Path) -> None:
    from trailgate.store.blobs import BlobStore

    def failing() -> None:
        raise OSError(5, "Input/output error")

    store = BlobStore(tmp_path, before_unlink=failing)
    name = store.put(b"body")
    store.delete([name])
    assert store.flush_deletes()
    assert store.path(name).exists()


def test_who_runs_the_loops_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(walsync.SYNC_ON_LOOP_ENV, raising=False)
    wal = WalSync(str(tmp_path / "db"))
    wal.choose_sync_on_loop(workers=1)
    assert wal.sync_on_loop  # one worker: the loop itself
    wal.choose_sync_on_loop(workers=2)
    assert not wal.sync_on_loop  # workers fill the cores: the flusher thread
    monkeypatch.setenv(walsync.SYNC_ON_LOOP_ENV, "on")
    wal.choose_sync_on_loop(workers=4)
    assert wal.sync_on_loop
    monkeypatch.setenv(walsync.SYNC_ON_LOOP_ENV, "off")
    wal.choose_sync_on_loop(workers=1)
    assert not wal.sync_on_loop
