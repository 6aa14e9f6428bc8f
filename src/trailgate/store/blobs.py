"""The durable blob store: object bodies as immutable files under `<data-dir>/blobs/`.

A body is written to `blobs/tmp/<name>.tmp`, fsynced, renamed to `blobs/<aa>/<name>` and the
directory fsynced; only then may metadata refer to it. Names are unique and never reused, so an
overwrite never touches the file a reader may be streaming (a reader holds its file open; POSIX
keeps an unlinked file readable until it is closed).

A crash can leave two kinds of debris, both harmless to readers: temporary files, and blobs
renamed into place whose metadata transaction never committed (or whose row was deleted before
the file was). `sweep` removes both. A name carries its writer's process id, so a sweep never
removes what a live process may still commit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("trailgate.store.blobs")

BLOBS_DIR = "blobs"
TMP_DIR = "tmp"
_TMP_SUFFIX = ".tmp"
# Debris of a process id that is alive again (reused) is kept this long before it is removed.
_STALE_AFTER = 24 * 3600.0


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _writer_pid(name: str) -> int | None:
    _, _, pid = name.partition(".")
    pid = pid.removesuffix(_TMP_SUFFIX)
    return int(pid) if pid.isdigit() else None


class _DirectorySync:
    """Group commit for directory fsyncs: a writer whose rename happened before a sync started
    is covered by that sync, so concurrent writers share one fsync instead of queueing theirs."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: set[Path] = set()
        self._issued = 0
        self._durable = 0
        self._busy = False

    def sync(self, directory: Path) -> None:
        with self._cond:
            self._issued += 1
            ticket = self._issued
            self._pending.add(directory)
            while self._durable < ticket:
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True
                target, directories = self._issued, self._pending
                self._pending = set()
                self._cond.release()
                try:
                    for path in directories:
                        _fsync_dir(path)
                except BaseException:
                    self._cond.acquire()
                    self._pending |= directories
                    self._busy = False
                    self._cond.notify_all()
                    raise
                self._cond.acquire()
                self._busy = False
                self._durable = max(self._durable, target)
                self._cond.notify_all()


class BlobWriter:
    """One body being written. `write` as bytes arrive, then `commit()` (durable) or `abort()`."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self.name = f"{secrets.token_hex(16)}.{os.getpid()}"
        self._tmp = store.root / TMP_DIR / f"{self.name}{_TMP_SUFFIX}"
        self._file: BinaryIO | None = open(self._tmp, "xb")  # noqa: SIM115 - closed in commit/abort
        self.size = 0
        self._done = False

    def write(self, data: bytes | memoryview) -> None:
        assert self._file is not None
        self._file.write(data)
        self.size += len(data)

    def commit(self) -> str:
        """Make the blob durable under its final name; returns the name."""
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        final = self._store.path(self.name)
        os.rename(self._tmp, final)
        self._store.directories.sync(final.parent)
        self._done = True
        return self.name

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if not self._done:
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()
        self._done = True

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None or not self._done:
            self.abort()


class BlobStore:
    def __init__(self, data_dir: Path, before_unlink: Callable[[], None] | None = None) -> None:
        self.root = Path(data_dir) / BLOBS_DIR
        # Called before doomed blobs are unlinked: makes the metadata commits that stopped
        # referencing them durable first (commits may be acknowledged after a deferred fsync,
        # store.walsync), or a crash could bring back a row whose blob is gone.
        self._before_unlink = before_unlink
        self._root_text = str(self.root)
        self.directories = _DirectorySync()
        self._doomed: list[str] = []
        self._pending = 0
        self._doomed_lock = threading.Condition()
        self._reaper: threading.Thread | None = None
        self._ensure_layout()

    def _ensure_layout(self) -> None:
        created = False
        if not self.root.is_dir():
            self.root.mkdir(parents=True, exist_ok=True)
            _fsync_dir(self.root.parent)
            created = True
        for name in [TMP_DIR, *(f"{i:02x}" for i in range(256))]:
            sub = self.root / name
            if not sub.is_dir():
                sub.mkdir(exist_ok=True)
                created = True
        if created:
            # The fan-out directories must survive a crash before any blob is renamed into them.
            _fsync_dir(self.root)

    def path(self, name: str) -> Path:
        return Path(self.file_name(name))

    def file_name(self, name: str) -> str:
        # Plain string joining: pathlib costs more than the open() it precedes on hot reads.
        return f"{self._root_text}/{name[:2]}/{name}"

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def put(self, data: bytes) -> str:
        with self.writer() as writer:
            writer.write(data)
            return writer.commit()

    def open(self, name: str) -> BinaryIO:
        return open(self.file_name(name), "rb")

    def delete(self, names: Iterable[str | None]) -> None:
        """Remove blobs whose metadata is already gone, off the caller's path: a background
        thread unlinks them (a crash first leaves orphans that `sweep` removes)."""
        doomed = [name for name in names if name]
        if not doomed:
            return
        with self._doomed_lock:
            self._doomed.extend(doomed)
            self._pending += len(doomed)
            if self._reaper is None:
                self._reaper = threading.Thread(target=self._reap, name="blob-reaper",
                                                daemon=True)
                self._reaper.start()
            self._doomed_lock.notify_all()

    def _reap(self) -> None:
        while True:
            with self._doomed_lock:
                if not self._doomed:
                    # An idle reaper exits; the next delete starts another.
                    self._doomed_lock.wait(timeout=5.0)
                    if not self._doomed:
                        self._reaper = None
                        return
                batch, self._doomed = self._doomed, []
            count = len(batch)
            if self._before_unlink is not None:
                try:
                    self._before_unlink()
                except Exception:
                    # Not durable: keep the blobs (the sweep at start removes true orphans).
                    log.exception("syncing the metadata before unlinking blobs failed")
                    batch = []
            for name in batch:
                with contextlib.suppress(FileNotFoundError):
                    self.path(name).unlink()
            with self._doomed_lock:
                self._pending -= count
                self._doomed_lock.notify_all()

    def flush_deletes(self, timeout: float = 10.0) -> bool:
        """Wait until every blob handed to `delete` is gone; False on timeout."""
        with self._doomed_lock:
            return self._doomed_lock.wait_for(lambda: self._pending == 0, timeout)

    def _files(self) -> Iterator[Path]:
        for sub in sorted(self.root.iterdir()):
            if sub.name == TMP_DIR or not sub.is_dir():
                continue
            yield from sub.iterdir()

    def _removable(self, path: Path, now: float) -> bool:
        pid = _writer_pid(path.name)
        if pid is None or not _pid_alive(pid):
            return True
        try:
            return now - path.stat().st_mtime > _STALE_AFTER and pid != os.getpid()
        except FileNotFoundError:
            return False

    def sweep(self, referenced: Callable[[list[str]], set[str]], batch: int = 500) -> int:
        """Remove temporary files and unreferenced blobs of writers that are gone.

        `referenced(names)` returns the subset of `names` that some metadata row uses.
        Returns how many files were removed.
        """
        now = time.time()
        removed = 0
        for tmp in list((self.root / TMP_DIR).iterdir()):
            if self._removable(tmp, now):
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                    removed += 1
        pending: list[Path] = []

        def flush() -> int:
            used = referenced([p.name for p in pending])
            count = 0
            for path in pending:
                if path.name not in used:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                        count += 1
            pending.clear()
            return count

        for path in self._files():
            if self._removable(path, now):
                pending.append(path)
                if len(pending) >= batch:
                    removed += flush()
        if pending:
            removed += flush()
        return removed
