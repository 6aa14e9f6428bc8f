"""The CloudTrail recorder: every finished API call becomes queued event rows before its response
is sent.

`Recorder.record(call)` builds the call's records (records.py) in the caller's thread. A call
served for the event loop (the server's requests on SQLite) hands them to the committer
(committer.py), and its response waits for them there. Any other call (PostgreSQL, in-process
calls) returns once they are committed, grouped: the first caller to find no commit in progress
becomes the leader and commits its rows; callers arriving meanwhile add their rows to the next
batch and wait; when the commit ends, one of them leads the next batch, with everything that
accumulated.

Durability of the queue (TRAILGATE_TRAIL_SYNC): "full" (the default) makes every event commit
wait for its fsync, like every other write of trailgate: an acknowledged call's event survives a
crash of the process, of the OS or of the power. Group commit shares one fsync among concurrent
calls. "normal" is an explicit opt-in trade: commits survive a crash of the trailgate process
only (SQLite: the call does not wait for the WAL sync after the commit; PostgreSQL:
`synchronous_commit = off`), and a power failure or OS crash may lose the last few hundred
milliseconds of events, for about one fsync less latency per API call (bench/trail_bench.py
shows both).

Setting TRAILGATE_TRAIL_RECORDING=off (or 0/false/no) disables recording in that process;
bench/trail_bench.py uses it for the baseline server. Never for production: calls made while
it is off are missing from every trail and from event history.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from trailgate.config import env_switch
from trailgate.store.db import current_deferral
from trailgate.trail import queue
from trailgate.trail.committer import Committer
from trailgate.trail.records import EventRow, Facts, build_rows, event_region, is_data_event
from trailgate.trail.selectors import EventFacts
from trailgate.trail.trails import TrailIndex

if TYPE_CHECKING:
    from trailgate.auth.principal import Principal
    from trailgate.calls import ApiCall
    from trailgate.runtime import Runtime
    from trailgate.store.raw import RawWrite

log = logging.getLogger("trailgate.trail.recorder")

RECORDING_ENV = "TRAILGATE_TRAIL_RECORDING"
SYNC_ENV = "TRAILGATE_TRAIL_SYNC"


def recording_enabled_by_env() -> bool:
    return bool(env_switch(RECORDING_ENV, True))


def sync_mode_by_env() -> str:
    value = os.environ.get(SYNC_ENV, "full").strip().lower()
    if value not in ("normal", "full"):
        raise ValueError(f"{SYNC_ENV} must be 'normal' or 'full', not {value!r}")
    return value


@dataclass
class _Batch:
    rows: list[EventRow] = field(default_factory=list)
    writes: list[RawWrite] = field(default_factory=list)
    # Set under the recorder's condition once the batch's transaction ended (either way).
    done: bool = False
    error: BaseException | None = None
    # The commit's point (Database.commit_point): every caller of the batch makes it durable.
    point: int | None = None


@dataclass
class RecorderStats:
    events: int = 0
    batches: int = 0


class Recorder:
    def __init__(
        self, runtime: Runtime, *, enabled: bool | None = None, sync: str | None = None
    ) -> None:
        self.runtime = runtime
        self.enabled = recording_enabled_by_env() if enabled is None else enabled
        self.sync = sync_mode_by_env() if sync is None else sync
        self.db = runtime.db
        self._appender = queue.Appender(self.db, relaxed=self.sync == "normal")
        self.index = TrailIndex(runtime)
        self.stats = RecorderStats()
        self._cond = threading.Condition()
        self._pending = _Batch()
        self._committing = False
        self._closed = False
        self._loop_committer: Committer | None = None

    # --- the pipeline's entry point ------------------------------------------------------

    def record(self, call: ApiCall) -> None:
        """Queue `call`'s events, and commit the call's own `writes` with them; returns once
        both are committed (the writes always durably, whatever TRAILGATE_TRAIL_SYNC says)."""
        rows = self.rows_for(call) if self.enabled else []
        if not rows and not call.writes:
            return
        deferred = current_deferral() if self.db.wal_sync is not None else None
        if deferred is not None:
            # Served for the event loop: the committer commits (on the loop after its iteration,
            # or in its thread for a worker-thread call); the response awaits durability.
            durable = self.sync == "full" or bool(call.writes)
            future = self._committer().submit(
                rows,
                call.writes,
                durable=durable,
                loop=deferred.loop,
                on_loop=deferred.on_loop_thread(),
            )
            deferred.futures.append(future)
            return
        self.append(rows, call.writes)

    def _committer(self) -> Committer:
        committer = self._loop_committer
        if committer is None:
            with self._cond:
                if self._closed:
                    raise RuntimeError("the recorder is closed")
                if self._loop_committer is None:
                    self._loop_committer = Committer(self.db)
                committer = self._loop_committer
        return committer

    def rows_for(self, call: ApiCall) -> list[EventRow]:
        data = is_data_event(call)
        if data and not self.index.any_data_events():
            return []  # data events exist only for trails that select them
        facts = self._facts(call)
        if facts is None:
            return []
        wants = None
        if data:
            wants = self._data_event_wanted(call, facts)
        try:
            return build_rows(call, facts, wants_data_event=wants)
        except Exception:
            # A call must never go unrecorded because one of its values was unexpected: keep
            # who, what and the outcome, drop the elements that failed to convert.
            log.exception("building the record of %s.%s failed", call.service, call.operation)
            call.params, call.output = None, None
            return build_rows(call, facts, wants_data_event=wants)

    def append(self, rows: list[EventRow], writes: Sequence[RawWrite] = ()) -> None:
        """Commit `rows` and `writes` (with whatever other callers queued meanwhile); raise if
        that failed."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the recorder is closed")
            batch = self._pending
            batch.rows.extend(rows)
            batch.writes.extend(writes)
            while self._committing and not batch.done:
                self._cond.wait()
            leader = not batch.done
            if leader:
                self._committing = True
                self._pending = _Batch()
        if leader:
            try:
                self._commit(batch)
            finally:
                with self._cond:
                    self._committing = False
                    batch.done = True
                    self._cond.notify_all()
        if batch.error is not None:
            raise batch.error
        if self.sync == "full" or writes:
            self.db.make_durable(batch.point)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            while self._committing:
                self._cond.wait()
            committer = self._loop_committer
        if committer is not None:
            committer.close()
        self._appender.close()

    # --- facts the call does not carry -----------------------------------------------------

    def _facts(self, call: ApiCall) -> Facts | None:
        principal = call.principal
        access_key_id = call.access_key_id
        authenticated = principal is not None
        if principal is None:
            access_key_id = access_key_id or _presented_key(call)
            principal = self._key_owner(access_key_id) if access_key_id else None
            if principal is None:
                return None
        owner = self._bucket_owner(call.bucket) if call.service == "s3" and call.bucket else None
        read_only = call.read_only if authenticated else _declared_read_only(call)
        return Facts(principal, access_key_id, owner, read_only)

    def _key_owner(self, access_key_id: str) -> Principal | None:
        from trailgate.services.credentials import resolver_for

        try:
            record = resolver_for(self.runtime)(access_key_id)
        except Exception:
            log.exception("looking up the owner of a presented access key failed")
            return None
        return record.principal if record is not None else None

    def _bucket_owner(self, bucket: str) -> str | None:
        try:
            from trailgate.services.s3.records import cached_bucket
        except ImportError:
            return None
        found = cached_bucket(self.runtime, bucket)
        return found.owner_account if found is not None else None

    def _data_event_wanted(self, call: ApiCall, facts: Facts) -> object:
        event = EventFacts(
            management=False,
            event_source="s3.amazonaws.com",
            event_name=call.operation,
            read_only=facts.read_only,
            bucket=call.bucket,
            key=call.key,
        )
        region = event_region(call)

        def wanted(account_id: str) -> bool:
            return any(t.wants(event, region) for t in self.index.trails_of(account_id))

        return wanted

    # --- committing -----------------------------------------------------------------------

    def _commit(self, batch: _Batch) -> None:
        try:
            batch.point = self._appender.append(batch.rows, batch.writes)
            self.stats.events += len(batch.rows)
            self.stats.batches += 1
        except BaseException as exc:  # handed to every caller of the batch
            log.exception("committing %d CloudTrail events failed", len(batch.rows))
            batch.error = exc


def _presented_key(call: ApiCall) -> str | None:
    error = call.error
    if error is None:
        return None
    key = getattr(error, "access_key_id", None) or error.extra.get("AWSAccessKeyId")
    return key if isinstance(key, str) and key else None


def _declared_read_only(call: ApiCall) -> bool:
    from trailgate.services import registry

    spec = registry.lookup(call.service, call.operation)
    return bool(spec.read_only) if spec is not None else False
