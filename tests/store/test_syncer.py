"""The WAL syncer process (store/syncer.py): the loop's fsyncs run in a helper process, waits end
when it answers, and durability holds when it fails or dies."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

import trailgate.store.walsync as walsync
from trailgate.store.walsync import WalSync
from trailgate.testing.server import start_server


def _count_fsyncs_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the fsyncs this process runs itself (the helper process's are not seen)."""
    here: list[str] = []
    real = walsync._fsync_file

    def fsync(path: str) -> None:
        here.append(path)
        real(path)

    monkeypatch.setattr(walsync, "_fsync_file", fsync)
    return here


def _wal(tmp_path: Path) -> WalSync:
    (tmp_path / "db-wal").write_bytes(b"frames")
    return WalSync(str(tmp_path / "db"), sync_on_loop=True)


def test_the_loops_waits_are_answered_by_the_helper_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = _count_fsyncs_here(monkeypatch)
    wal = _wal(tmp_path)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        wal.start_syncer(loop)
        assert wal.has_syncer(loop)
        assert wal._syncer is not None
        pid = wal._syncer.pid
        for _ in range(3):  # three iterations of ten waits each
            await asyncio.gather(*(wal.wait(wal.point(), loop=loop) for _ in range(10)))
        wal.stop_syncer()
        return pid

    pid = asyncio.run(main())
    assert here == []  # every fsync ran in the helper process
    _wait_gone(pid)


def test_waits_owed_by_a_killed_helper_process_are_synced_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = _count_fsyncs_here(monkeypatch)
    wal = _wal(tmp_path)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        wal.start_syncer(loop)
        assert wal._syncer is not None
        pid = wal._syncer.pid
        await wal.wait(wal.point(), loop=loop)
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)
        # Requested before or after the loop noticed: either way the wait ends, durable.
        await asyncio.wait_for(wal.wait(wal.point(), loop=loop), 10)
        await asyncio.wait_for(wal.wait(wal.point(), loop=loop), 10)
        assert not wal.has_syncer(loop)

    asyncio.run(main())
    assert len(here) >= 1  # the server's own fsyncs took over


def test_a_failed_fsync_in_the_helper_fails_this_wait_and_every_later_one(
    tmp_path: Path,
) -> None:
    # The WAL's directory is a regular file: the helper cannot even look at the WAL.
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    wal = WalSync(str(blocker / "db"), sync_on_loop=True)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        wal.start_syncer(loop)
        with pytest.raises(OSError):
            await asyncio.wait_for(wal.wait(wal.point(), loop=loop), 10)
        with pytest.raises(OSError):  # no later write is called durable either
            await asyncio.wait_for(wal.wait(wal.point(), loop=loop), 10)
        wal.stop_syncer()

    asyncio.run(main())
    with pytest.raises(OSError):
        wal.sync(wal.point())


def test_a_server_runs_one_helper_process_and_takes_it_along_when_it_stops(
    tmp_path: Path,
) -> None:
    server = start_server(data_dir=tmp_path / "server")
    try:
        helpers = _syncer_children(server.process.pid)
        assert len(helpers) == 1
    finally:
        server.stop()
    _wait_gone(helpers[0])


def _syncer_children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"trailgate.store.syncer" in command:
            found.append(int(entry))
    return found


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state == "Z":  # exited; its parent has not reaped it yet
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} is still running")
