"""The CloudTrail recorder: every finished API call becomes queued event rows before its response
is sent.

`Recorder.record(call)` builds the call's records (records.py) in the caller's thread, hands
them to one writer thread and waits until they are committed. The writer takes everything that
accumulated while it was committing the previous batch and commits it as one transaction (group
commit), so concurrent callers share one commit and its fsync; a lone caller pays one commit.

Setting the environment variable TRAILGATE_TRAIL_RECORDING=off (or 0/false/no) disables
recording in that process; bench/trail_bench.py uses it for the baseline server. Never for
production: calls made while it is off are missing from every trail and from event history.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from trailgate.trail import queue
from trailgate.trail.records import EventRow, Facts, build_rows, event_region, is_data_event
from trailgate.trail.selectors import EventFacts
from trailgate.trail.trails import TrailIndex

if TYPE_CHECKING:
    from trailgate.auth.principal import Principal
    from trailgate.calls import ApiCall
    from trailgate.runtime import Runtime

log = logging.getLogger("trailgate.trail.recorder")

RECORDING_ENV = "TRAILGATE_TRAIL_RECORDING"


def recording_enabled_by_env() -> bool:
    value = os.environ.get(RECORDING_ENV, "on").strip().lower()
    return value not in ("0", "off", "false", "no")


@dataclass
class _Batch:
    rows: list[EventRow] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


@dataclass
class RecorderStats:
    events: int = 0
    batches: int = 0


class Recorder:
    def __init__(self, runtime: Runtime, *, enabled: bool | None = None) -> None:
        self.runtime = runtime
        self.enabled = recording_enabled_by_env() if enabled is None else enabled
        self.index = TrailIndex(runtime)
        self.stats = RecorderStats()
        self._cond = threading.Condition()
        self._batch = _Batch()
        self._thread: threading.Thread | None = None
        self._closed = False

    # --- the pipeline's entry point ------------------------------------------------------

    def record(self, call: ApiCall) -> None:
        """Queue `call`'s events durably; returns once they are committed."""
        if not self.enabled:
            return
        rows = self.rows_for(call)
        if rows:
            self.append(rows)

    def rows_for(self, call: ApiCall) -> list[EventRow]:
        facts = self._facts(call)
        if facts is None:
            return []
        wants = None
        if is_data_event(call):
            wants = self._data_event_wanted(call, facts)
        try:
            return build_rows(call, facts, wants_data_event=wants)
        except Exception:
            # A call must never go unrecorded because one of its values was unexpected: keep
            # who, what and the outcome, drop the elements that failed to convert.
            log.exception("building the record of %s.%s failed", call.service, call.operation)
            call.params, call.output = None, None
            return build_rows(call, facts, wants_data_event=wants)

    def append(self, rows: list[EventRow]) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the recorder is closed")
            self._ensure_writer()
            batch = self._batch
            batch.rows.extend(rows)
            self._cond.notify()
        batch.done.wait()
        if batch.error is not None:
            raise batch.error

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)

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

    # --- the writer thread -------------------------------------------------------------------

    def _ensure_writer(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="trail-recorder", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._batch.rows and not self._closed:
                    self._cond.wait()
                if not self._batch.rows:
                    return
                batch = self._batch
                self._batch = _Batch()
            self._commit(batch)

    def _commit(self, batch: _Batch) -> None:
        try:
            queue.append(self.runtime.db, batch.rows)
            self.stats.events += len(batch.rows)
            self.stats.batches += 1
        except BaseException as exc:  # handed to every waiting caller
            log.exception("committing %d CloudTrail events failed", len(batch.rows))
            batch.error = exc
        finally:
            batch.done.set()


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
