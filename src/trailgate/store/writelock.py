"""The SQLite writer lock: one write transaction at a time across every thread and every worker
process that shares a database file.

SQLite already allows one writer at a time, but a writer that finds the database locked waits in
SQLite's busy handler, which polls with sleeps of 1 to 100 ms. With several `trailgate serve`
workers on one file, those sleeps left half of the machine idle under load. Taking this lock
before BEGIN IMMEDIATE makes the waiters queue in the kernel instead (`flock` on a file beside the
database), and each is woken the moment the previous writer commits.

Threads of one process first take a process-local lock, because `flock` is held per open file
description: two threads sharing the process's descriptor would both "hold" it. The lock is
reentrant within a thread, so a writer may open a nested write transaction without deadlocking
on itself (SQLite would still refuse the second writer; that is not this module's concern).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_locks: dict[str, WriterLock] = {}
_registry_lock = threading.Lock()

# This process's id, refreshed in a forked child: os.getpid() is a system call each time, and
# every write transaction asks.
_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def current_pid() -> int:
    return _pid


class WriterLock:
    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = current_pid()

    @property
    def depth(self) -> int:
        """How deeply the calling thread holds the lock (meaningful only while it holds it)."""
        return self._depth

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._local:
            if self._depth == 0:
                self._acquire_file()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._descriptor(), fcntl.LOCK_UN)

    def _acquire_file(self) -> None:
        fcntl.flock(self._descriptor(), fcntl.LOCK_EX)

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != current_pid():
            # A forked child must not share its parent's open file description (and its lock).
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = current_pid()
        return self._fd


def writer_lock_for(database_file: str) -> WriterLock:
    """The process's lock for the SQLite database at `database_file`."""
    path = os.path.abspath(database_file) + ".writelock"
    with _registry_lock:
        lock = _locks.get(path)
        if lock is None:
            lock = _locks[path] = WriterLock(path)
        return lock
