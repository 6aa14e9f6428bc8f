"""The recorder's committer thread, for calls served on the event loop.

A call served on the loop (server.py) must not wait on the database while other calls could
run: its event rows (and its own `writes`, an STS session) go to this thread, which commits
everything queued since its last commit in one transaction (SQLite releases the GIL while it
works, so that runs beside the loop on another core) and then hands the commit point to the WAL
syncer, which resolves each call's future once its rows are on stable storage. The call's
response waits for that future (`DeferredDurability`), so "acknowledged means durable" holds.

While one batch's fsync runs, the next batch is already being committed. A batch that fails as
a whole is retried one call per transaction, so one bad call cannot fail the others queued with
it; a call whose commit fails gets the exception and is answered as an internal error.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from trailgate.store.db import Database
from trailgate.store.raw import RawWrite
from trailgate.store.walsync import settle
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

    def submit(
        self,
        rows: Sequence[EventRow],
        writes: Sequence[RawWrite],
        *,
        durable: bool,
        loop: asyncio.AbstractEventLoop,
    ) -> asyncio.Future[None]:
        """Queue a call's rows; the future (of `loop`, which awaits it) ends when they are
        durable. Callable from the loop's thread or a worker thread of that loop."""
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the recorder is closed")
            self._queue.append(_Item(rows, writes, durable, loop, future))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="trailgate-committer", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return future

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
                self._commit(batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _commit(self, batch: list[_Item]) -> None:
        try:
            point = self._appender.append(
                [row for item in batch for row in item.rows],
                [write for item in batch for write in item.writes],
            )
        except BaseException as exc:
            if len(batch) == 1:
                log.exception("committing a call's CloudTrail events failed")
                _settle([(batch[0], exc)])
                return
            for item in batch:  # one call per transaction: only the bad one fails
                self._commit([item])
            return
        wal_sync = self._db.wal_sync
        now = [i for i in batch if not i.durable or wal_sync is None or point is None]
        _settle([(i, None) for i in now])
        later = [i for i in batch if i not in now]
        if later and wal_sync is not None and point is not None:
            wal_sync.when_durable(point, [(i.loop, i.future) for i in later])


def _settle(outcomes: list[tuple[_Item, BaseException | None]]) -> None:
    settle([(item.loop, item.future, error) for item, error in outcomes])
