"""Durable SQLite commits with one fsync shared by every writer that committed meanwhile.

SQLite runs with `synchronous=NORMAL` in WAL mode: a commit appends its frames to the WAL file
but does not fsync it. `synchronous=FULL` differs only by an fsync of the WAL after each commit
(SQLite's documentation of PRAGMA synchronous), done while the writer still holds the database's
write lock, so concurrent writers queue behind each other's fsyncs. Here a writer instead takes a
*commit point* right after its commit (`point()`), releases the write lock, and waits until an
fsync of the WAL file that started after that point has completed (`sync(point)` in a thread,
`await wait(point)` on the event loop). That fsync makes the commit's frames durable exactly as
FULL would, and one fsync covers every commit that ended before it started, from any thread and
any worker process (they share the file).

A writer acknowledges its write only after that, so "acknowledged means durable" holds as before.
A crash before the fsync can lose the commit, but nobody was told it happened.

The "fsync" is `fdatasync`, which is what SQLite itself calls on Linux for FULL: it writes the
file's data and the metadata needed to read it back (its size, when the WAL grew), and skips
journalling the modification time, which cost this kernel about a sixth of a small PutObject's
CPU (bench/README.md).

Who runs the fsync: for a server's event loop, by default a helper process (store/syncer.py,
`start_syncer`), once per loop iteration for every request that reached its wait in that
iteration; the loop goes on serving and reads the answer when it comes, and no thread takes the
GIL back from it (in A/B runs: recorded GetCallerIdentity +3% req/s, small presigned PUTs +6%
with one worker and +10% with two; a lone client waits ~0.03 ms longer, the pipe's round trip).
Without it (TRAILGATE_WAL_SYNCER=off, or outside a server): the loop itself (`wait`), once per
loop iteration for every request that reached its wait in that iteration, as Redis does for
`appendfsync always` (it fsyncs its log in the event loop before answering the writes of one
iteration). Handing the
fsync to a thread instead cost more than the fsync, because every hand-off moved the GIL between
threads: in A/B runs on one worker, a recorded GetCallerIdentity at 32 connections took ~250
instead of ~390 us of server CPU, ~3,600 instead of ~2,500 req/s (bench/README.md). The price:
while a fsync runs, that worker answers nothing, and a core may idle: with several workers
(`serve --workers N`, which keep the cores busy) the loop hands its fsyncs to the flusher thread
instead, which measured faster there (AssumeRole with two workers ~2,500 vs ~2,050 req/s).
TRAILGATE_WAL_SYNC_ON_LOOP=on/off overrides that choice (`choose_sync_on_loop`). Threads
(requests served in worker threads, the recorder's committer) wait for one flusher thread per
database file and process, which syncs on demand and sleeps while no one waits. One fsync runs at
a time, whoever runs it, so fsyncs complete in the order they began.

After a failed fsync the kernel may have dropped the dirty pages and a later fsync can
succeed without them (PostgreSQL's "fsyncgate"), so from then on every wait fails: no later write
is called durable, and the operator restarts the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading

from trailgate.config import env_switch
from trailgate.store.syncer import Done, SyncerProcess, fsync_failed

SYNC_ON_LOOP_ENV = "TRAILGATE_WAL_SYNC_ON_LOOP"
SYNCER_ENV = "TRAILGATE_WAL_SYNCER"


def syncer_enabled() -> bool:
    """TRAILGATE_WAL_SYNCER: "process" (the default: a server's loop has its fsyncs run by a
    helper process, store/syncer.py) or "off" (the loop or the flusher thread runs them)."""
    return bool(env_switch(SYNCER_ENV, True))


def sync_on_loop_setting() -> bool | None:
    """TRAILGATE_WAL_SYNC_ON_LOOP: "on" or "off"; unset or "auto": None (the server decides)."""
    return env_switch(SYNC_ON_LOOP_ENV, None)


class WalSync:
    def __init__(self, database_file: str, *, sync_on_loop: bool | None = None) -> None:
        self.wal_path = database_file + "-wal"
        setting = sync_on_loop_setting() if sync_on_loop is None else sync_on_loop
        # Decided by the server when not set: see `choose_sync_on_loop`.
        self.sync_on_loop = True if setting is None else setting
        lock = threading.Lock()
        # Waiters for completed fsyncs wait on `_cond`; the flusher thread waits for demand on
        # `_work`, so the loop's own fsyncs do not wake an idle flusher every time they end.
        self._cond = threading.Condition(lock)
        self._work = threading.Condition(lock)
        self._started = 0  # fsyncs begun
        self._finished = 0  # fsyncs completed (they complete in order: one at a time)
        self._syncing = False  # an fsync is running (in the flusher or in `sync_here`)
        self._demand = 0  # the highest fsync number someone waits for
        self._broken: BaseException | None = None
        self._futures: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._flusher: threading.Thread | None = None
        # The helper process that fsyncs for one event loop (store/syncer.py), when started.
        self._syncer: SyncerProcess | None = None
        # Per loop: the waits of its current iteration, synced together by `_sync_loop_waits`.
        self._loop_waits: dict[asyncio.AbstractEventLoop, list[tuple[int, asyncio.Future[None]]]]
        self._loop_waits = {}

    def choose_sync_on_loop(self, workers: int) -> None:
        """Unless TRAILGATE_WAL_SYNC_ON_LOOP says otherwise: the loop runs its fsyncs itself
        when its process is the only worker (the other cores are free, and GIL hand-offs to a
        syncing thread cost more than the wait), and hands them to the flusher thread when
        several workers keep the cores busy (a loop waiting on the disk would idle one)."""
        setting = sync_on_loop_setting()
        self.sync_on_loop = workers <= 1 if setting is None else setting

    def point(self) -> int:
        """Call right after a commit: the fsync numbered above the result covers it."""
        with self._cond:
            return self._started

    def sync(self, point: int) -> None:
        """Block until the commit taken at `point` is on stable storage."""
        with self._cond:
            self._raise_if_broken()
            self._ask(point + 1)
            while self._finished <= point and self._broken is None:
                self._cond.wait()
            self._raise_if_broken()

    async def wait(self, point: int, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """`sync` for the event loop. Every wait of one loop iteration shares one fsync, run by
        the loop after that iteration's callbacks (or by the flusher thread, with
        TRAILGATE_WAL_SYNC_ON_LOOP=off, while the loop goes on). `loop`: the running loop,
        when the caller knows it."""
        if loop is None:
            loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        by_loop = self.syncs_for_loop(loop)
        with self._cond:
            self._raise_if_broken()
            if self._finished > point:
                return
            if not by_loop:
                self._futures.append((point, loop, future))
                self._ask(point + 1)
        if by_loop:
            waits = self._loop_waits.get(loop)
            if waits is None:
                waits = self._loop_waits[loop] = []
                loop.call_soon(self._sync_loop_waits, loop)
            waits.append((point, future))
        await future

    def _sync_loop_waits(self, loop: asyncio.AbstractEventLoop) -> None:
        waits = self._loop_waits.pop(loop, [])
        if not waits:
            return

        def done(error: BaseException | None) -> None:
            # Every wait of the iteration ends with the fsync's outcome.
            settle_now([(future, error) for _, future in waits])

        self.loop_sync(loop, max(point for point, _ in waits), done)

    # --- the helper process (store/syncer.py) -----------------------------------------------

    def start_syncer(self, loop: asyncio.AbstractEventLoop) -> None:
        """On `loop`'s thread: from now on its fsyncs run in a helper process, so the loop
        neither waits for the disk nor hands the GIL to a syncing thread."""
        if self._syncer is None or not self._syncer.alive:
            self._syncer = SyncerProcess(self.wal_path, loop, self._syncer_lost)

    def stop_syncer(self) -> None:
        syncer, self._syncer = self._syncer, None
        if syncer is not None:
            syncer.close()

    def syncs_for_loop(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether the waits of `loop` are synced per loop iteration (`loop_sync`), by the loop
        itself or by the helper process, rather than handed to the flusher thread."""
        return self.sync_on_loop or self.has_syncer(loop)

    def has_syncer(self, loop: asyncio.AbstractEventLoop) -> bool:
        syncer = self._syncer
        return syncer is not None and syncer.alive and syncer.loop is loop

    def loop_sync(self, loop: asyncio.AbstractEventLoop, point: int, done: Done) -> None:
        """On `loop`'s thread: call `done(None)` once the commit taken at `point` (and every
        commit before this call) is durable, or `done(fsync_failed())`. Through the helper
        process when it serves this loop (`done` runs later, on the loop); else the loop fsyncs
        here."""
        if self._broken is not None:
            done(fsync_failed())
            return
        if self.has_syncer(loop):
            assert self._syncer is not None
            try:
                self._syncer.request(lambda error: self._answered(error, done))
                return
            except OSError:
                pass  # the process is gone: its waits were synced here; this one too
        try:
            self.sync_here(point)
        except BaseException:
            done(fsync_failed())
            return
        done(None)

    def _answered(self, error: BaseException | None, done: Done) -> None:
        if error is not None:
            # The helper's fsync failed: from now on no wait succeeds, in any thread or loop.
            with self._cond:
                if self._broken is None:
                    self._broken = error
                waiting, self._futures = self._futures, []
                self._cond.notify_all()
                self._work.notify()
            _resolve(waiting, self._broken)
        done(error)

    def _syncer_lost(self, owed: list[Done]) -> None:
        # The helper process ended (or was stopped) owing answers: one fsync here, begun after
        # every commit those waits cover, answers them all.
        if not owed:
            return
        error: BaseException | None = None
        try:
            self.sync_here(self.point())
        except BaseException:
            error = fsync_failed()
        for done in owed:
            done(error)

    def sync_here(self, point: int) -> None:
        """Make the commit taken at `point` durable, running the fsync in the calling thread
        (the event loop's) unless one that covers it has already completed."""
        with self._cond:
            while True:
                self._raise_if_broken()
                if self._finished > point:
                    return
                if not self._syncing:
                    break
                self._cond.wait()  # a fsync in progress began before `point`'s commit, maybe
            self._syncing = True
            self._started += 1
            number = self._started
        self._run_fsync(number)
        with self._cond:
            self._raise_if_broken()

    def when_durable(self, point: int, waiters: list[Waiter]) -> None:
        """Resolve each future (on its loop) once the commit taken at `point` is durable; from
        any thread."""
        with self._cond:
            if self._broken is None and self._finished <= point:
                self._futures.extend((point, loop, future) for loop, future in waiters)
                self._ask(point + 1)
                return
            broken = self._broken
        _resolve([(point, loop, future) for loop, future in waiters], broken)

    def _ask(self, number: int) -> None:
        # Holding the condition.
        if number > self._demand:
            self._demand = number
            if self._flusher is None or not self._flusher.is_alive():
                self._flusher = threading.Thread(
                    target=self._flush_forever, name="trailgate-walsync", daemon=True
                )
                self._flusher.start()
            self._work.notify()

    def _raise_if_broken(self) -> None:
        if self._broken is not None:
            raise OSError(f"an earlier fsync of {self.wal_path} failed") from self._broken

    def _flush_forever(self) -> None:
        while True:
            with self._cond:
                while self._demand <= self._finished or self._syncing:
                    if self._broken is not None:
                        return
                    self._work.wait()
                if self._broken is not None:
                    return  # every wait fails from now on; nothing left to sync
                self._syncing = True
                self._started += 1
                number = self._started
            self._run_fsync(number)

    def _run_fsync(self, number: int) -> None:
        """Fsync number `number` (the caller set `_syncing` and took the number)."""
        error: BaseException | None = None
        try:
            _fsync_file(self.wal_path)
        except BaseException as exc:  # every waiter covered by this fsync must see it
            error = exc
        with self._cond:
            self._syncing = False
            self._finished = number
            if error is not None and self._broken is None:
                self._broken = error
            if self._broken is not None:
                ready, self._futures = self._futures, []
            else:
                ready = [f for f in self._futures if f[0] < number]
                self._futures = [f for f in self._futures if f[0] >= number]
            self._cond.notify_all()
            if self._broken is not None or self._demand > self._finished:
                # Demand that arrived during this fsync (or a failure to see): the flusher's.
                self._work.notify()
        _resolve(ready, self._broken)


Waiter = tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]


def _resolve(
    ready: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]],
    broken: BaseException | None,
) -> None:
    def error() -> BaseException | None:
        return None if broken is None else fsync_failed()

    settle([(loop, future, error()) for _point, loop, future in ready])


def settle(
    outcomes: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None], BaseException | None]],
) -> None:
    """End each future with its error (or None: success), from any thread: one wake-up of each
    loop for all of its futures; a closed loop has nobody waiting."""
    by_loop: dict[
        asyncio.AbstractEventLoop, list[tuple[asyncio.Future[None], BaseException | None]]
    ] = {}
    for loop, future, error in outcomes:
        by_loop.setdefault(loop, []).append((future, error))
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle_now, items)


def settle_now(items: list[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    """End each future with its error (or None: success), on its loop's own thread."""
    for future, error in items:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


_syncers: dict[str, WalSync] = {}
_registry_lock = threading.Lock()


def wal_sync_for(database_file: str) -> WalSync:
    """The process's WalSync for the SQLite database at `database_file` (an absolute path)."""
    with _registry_lock:
        found = _syncers.get(database_file)
        if found is None:
            found = _syncers[database_file] = WalSync(database_file)
        return found


def _fsync_file(path: str) -> None:
    # Opened each time: SQLite may delete and recreate the WAL file when the last connection to
    # the database closes, and a descriptor kept from before would sync the old file.
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        # No WAL file: every commit has been checkpointed into the database file, which SQLite
        # syncs at checkpoint (and the WAL is removed only after that).
        return
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)
