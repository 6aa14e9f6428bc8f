"""A helper process that fsyncs the SQLite WAL for a server's event loop.

Run on the loop, an fsync stops the worker for its duration (~0.1-0.2 ms here, several per
millisecond under load); run in a thread, each one ends with that thread taking the GIL back from
the busy loop, which cost more than the fsync (store/walsync.py). A child process has neither
cost: after the commits it must cover, the loop writes one byte into a pipe and goes on serving;
the child reads every byte waiting, runs one `fdatasync` of the WAL file (the kernel flushes the
file's dirty pages whichever process wrote them), and answers one byte per request, in order (1:
durable, 0: the fsync failed). The loop reads the answers when they arrive, like any socket.

Requests that arrive while an fsync runs are read together afterwards and share the next one, so
every commit is covered by an fsync that began after it. If the child dies, the waits it still
owed are made durable by an fsync in the server itself (`SyncerProcess.on_lost`), and the server
goes on syncing in-process. The child leaves when the server closes its end of the pipe, or when
the server dies (the kernel closes that end then).

    python -m trailgate.store.syncer WAL_PATH REQUEST_FD ANSWER_FD
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Callable

Done = Callable[[BaseException | None], None]


def fsync_failed() -> OSError:
    """The error of every wait a failed fsync was to cover."""
    return OSError("fsync of the SQLite WAL failed")

_OK = 1
_FAILED = 0


class SyncerProcess:
    """The server side: start the child, send requests, read the answers on `loop`."""

    def __init__(
        self,
        wal_path: str,
        loop: asyncio.AbstractEventLoop,
        on_lost: Callable[[list[Done]], None],
    ) -> None:
        request_read, request_write = os.pipe()
        answer_read, answer_write = os.pipe()
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "trailgate.store.syncer", wal_path,
                 str(request_read), str(answer_write)],
                pass_fds=(request_read, answer_write),
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except BaseException:
            for fd in (request_read, request_write, answer_read, answer_write):
                os.close(fd)
            raise
        os.close(request_read)
        os.close(answer_write)
        os.set_blocking(answer_read, False)
        self._requests = request_write
        self._answers = answer_read
        self.loop = loop
        self.pid = self._process.pid
        self._pending: deque[Done] = deque()
        self._on_lost = on_lost
        self.alive = True
        loop.add_reader(answer_read, self._read_answers)

    def request(self, done: Done) -> None:
        """On the loop's thread: `done(None)` once every commit made so far is durable, or
        `done(error)` if the fsync failed."""
        if not self.alive:
            raise OSError("the WAL syncer process is gone")
        try:
            os.write(self._requests, b"s")
        except OSError:
            self._lost()  # answers the requests before this one; the caller syncs this one
            raise
        # Answers are read on this same thread, so this is queued before its answer is read.
        self._pending.append(done)

    def close(self) -> None:
        """Stop the child (it exits when its request pipe closes); answers still owed are
        handed to `on_lost`."""
        if not self.alive:
            return
        self._lost()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def _read_answers(self) -> None:
        try:
            data = os.read(self._answers, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._lost()
            return
        for answer in data:
            if not self._pending:
                break  # more answers than requests: nothing the helper writes
            done = self._pending.popleft()
            done(None if answer == _OK else fsync_failed())

    def _lost(self) -> None:
        self.alive = False
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self._answers)
        for fd in (self._requests, self._answers):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._process.poll()  # reaps a helper that has exited
        owed, self._pending = list(self._pending), deque()
        self._on_lost(owed)


def _serve(wal_path: str, requests: int, answers: int) -> None:
    descriptor: int | None = None
    identity: tuple[int, int] | None = None
    while True:
        waiting = os.read(requests, 65536)
        if not waiting:
            return  # the server closed its end, or died
        ok = True
        try:
            descriptor, identity = _sync(wal_path, descriptor, identity)
        except OSError:
            ok = False
        try:
            os.write(answers, bytes([_OK if ok else _FAILED]) * len(waiting))
        except BrokenPipeError:
            return  # the server stopped listening (it is shutting down)


def _sync(
    wal_path: str, descriptor: int | None, identity: tuple[int, int] | None
) -> tuple[int | None, tuple[int, int] | None]:
    # SQLite may delete and recreate the WAL file (when the last connection closes): a
    # descriptor of the old file is replaced when the path names another file.
    try:
        status = os.stat(wal_path)
    except FileNotFoundError:
        # No WAL: every commit was checkpointed into the database file, which SQLite syncs
        # at checkpoint (and removes the WAL only after that).
        return descriptor, identity
    current = (status.st_dev, status.st_ino)
    if descriptor is None or current != identity:
        if descriptor is not None:
            os.close(descriptor)
        descriptor = os.open(wal_path, os.O_RDONLY | os.O_CLOEXEC)
        identity = current
    os.fdatasync(descriptor)
    return descriptor, identity


if __name__ == "__main__":
    # Ctrl-C reaches the whole process group: the helper leaves when the server closes its pipe,
    # after the server's last waits, not before.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
