"""Committing the event rows of calls served for the event loop, in batches.

A call served on the loop (server.py) queues its event rows (and its own `writes`, an STS
session); its response waits for a future (`DeferredDurability`) that ends once they are on
stable storage, so "acknowledged means durable" holds.

Calls running on the loop itself are batched per loop iteration: after the iteration's
callbacks, the loop commits every call staged in it in one transaction and has it made durable
with one WAL fsync (store.walsync, `loop_sync`: by the helper process, store/syncer.py, or by
the loop itself), then answers them all. Committing on the loop costs less than handing the
rows to a thread: each hand-off moved the GIL (with TRAILGATE_WAL_SYNCER=off and
TRAILGATE_WAL_SYNC_ON_LOOP=off the fsync goes to the WAL syncer's thread). Calls served in
worker threads hand their rows to this module's committer thread, which commits whatever
queued since its last commit in one transaction and hands the commit point to the WAL syncer.

A batch that fails as a whole is retried one call per transaction, so one bad call cannot fail
the others queued with it; a call whose commit fails gets the exception and is answered as an
internal error.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from trailgate.store.db import Database
from trailgate.store.raw import RawWrite
from trailgate.store.walsync import settle, settle_now
from trailgate.trail.queue import Appender
from trailgate.trail.records import EventRow

log = logging.getLogger("trailgate.trail.committer")


@dataclass
class _Item:
    rows: Sequence[EventRow]
    writes: Sequence[RawWrite]
    durable: bool  # False: TRAILGATE_TRAIL_SYNC=normal and no writes of the call's own
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


class Committer:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._appender = Appender(db, relaxed=False)
        self._cond = threading.Condition()
        self._queue: list[_Item] = []
        self._closed = False
        self._busy = False
        self._thread: threading.Thread | None = None
        # Calls submitted on a loop's own thread, committed after the loop's current iteration.
        self._staged: dict[asyncio.AbstractEventLoop, list[_Item]] = {}
        # The appender serves the committer thread and the loops, one batch at a time.
        self._appender_lock = threading.Lock()

    def submit(
        self,
        rows: Sequence[EventRow],
        writes: Sequence[RawWrite],
        *,
        durable: bool,
        loop: asyncio.AbstractEventLoop,
        on_loop: bool | None = None,
    ) -> asyncio.Future[None]:
        """Queue a call's rows; the future (of `loop`, which awaits it) ends when they are
        durable. Callable from the loop's thread or a worker thread of that loop; `on_loop`
        says which, when the caller knows."""
        future: asyncio.Future[None] = loop.create_future()
        item = _Item(rows, writes, durable, loop, future)
        if on_loop is None:
            on_loop = _running_loop() is loop
        if on_loop:
            if self._closed:
                raise RuntimeError("the recorder is closed")
            staged = self._staged.get(loop)
            if staged is None:
                staged = self._staged[loop] = []
                loop.call_soon(self._commit_staged, loop)
            staged.append(item)
            return future
        with self._cond:
            if self._closed:
                raise RuntimeError("the recorder is closed")
            self._queue.append(item)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="trailgate-committer", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return future

    def _commit_staged(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the loop, after the iteration that staged them: commit the staged calls and
        answer them once durable."""
        batch = self._staged.pop(loop, [])
        if batch:
            with self._appender_lock:
                self._commit(batch, on_loop=True)

    def close(self) -> None:
        """Commit what is queued, then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            while self._queue or self._busy:
                self._cond.wait(0.1)
        self._appender.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
                self._busy = True
            try:
                with self._appender_lock:
                    self._commit(batch, on_loop=False)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _commit(self, batch: list[_Item], *, on_loop: bool) -> None:
        """Commit `batch` and answer its calls (on the loop: directly, after a fsync run here;
        from the thread: through the WAL syncer). Holding the appender lock."""
        answer = _answer_now if on_loop else _settle
        try:
            point = self._appender.append(
                [row for item in batch for row in item.rows],
                [write for item in batch for write in item.writes],
            )
        except BaseException as exc:
            if len(batch) == 1:
                log.exception("committing a call's CloudTrail events failed")
                answer([(batch[0], exc)])
                return
            for item in batch:  # one call per transaction: only the bad one fails
                self._commit([item], on_loop=on_loop)
            return
        wal_sync = self._db.wal_sync
        if wal_sync is None or point is None:
            answer([(i, None) for i in batch])
            return
        now = [i for i in batch if not i.durable]
        later = [i for i in batch if i.durable]
        loop = later[0].loop if later else None
        if loop is not None and on_loop and wal_sync.syncs_for_loop(loop):

            def durable(error: BaseException | None) -> None:
                if error is not None:
                    log.error("making a batch of CloudTrail events durable failed")
                _answer_now([(i, error) for i in later])

            answer([(i, None) for i in now])
            # The loop's fsync (here, or in the helper process, answered on the loop later).
            wal_sync.loop_sync(loop, point, durable)
            return
        if later:
            wal_sync.when_durable(point, [(i.loop, i.future) for i in later])
        answer([(i, None) for i in now])


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _settle(outcomes: list[tuple[_Item, BaseException | None]]) -> None:
    settle([(item.loop, item.future, error) for item, error in outcomes])


def _answer_now(outcomes: list[tuple[_Item, BaseException | None]]) -> None:
    """`_settle` on the loop's own thread: no wake-up needed."""
    settle_now([(item.future, error) for item, error in outcomes])
