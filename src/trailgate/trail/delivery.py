"""The delivery worker: writes each trail's queued events as log files, and its digests, into the
trail's bucket as the service principal cloudtrail.amazonaws.com.

One worker runs at a time across every process and node sharing the database: it holds a lease
row (`trail_leases`) that it renews; another process takes over once the lease expires
(immediately after a clean shutdown, which releases it).

Exactly once per trail. A delivery round is first written to the outbox with everything that
fixes its result (the sequence range, the trail's filter, the object keys); then the files are
written with PutObject (through S3's normal authorization, where the bucket policy decides);
only then, in one transaction, the trail's cursor moves past the range and the outbox row
goes. A crash in between leaves the outbox row, and the next worker writes the same keys with
the same bytes again: an overwrite, never a second copy. A PutObject that fails (policy removed,
bucket gone) is reported in GetTrailStatus and retried; nothing is lost, because the cursor did
not move.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from trailgate.errors import AwsError
from trailgate.store.schema_trail import (
    trail_digest_chains,
    trail_leases,
    trail_log_files,
    trail_outbox,
    trail_trails,
)
from trailgate.trail import digest as digests
from trailgate.trail import queue, trails
from trailgate.trail.keys import KeyRing
from trailgate.trail.queue import QueuedEvent
from trailgate.trail.selectors import EventFacts, TrailFilter
from trailgate.trail.trails import Trail, is_global_event
from trailgate.trail.writer import compress, log_body, log_file_key, sha256_hex, unique_suffix

if TYPE_CHECKING:
    from trailgate.runtime import Runtime

log = logging.getLogger("trailgate.trail.delivery")

SERVICE_PRINCIPAL = "cloudtrail.amazonaws.com"
LEASE_NAME = "delivery"
MAX_EVENTS_PER_ROUND = 20_000
MAX_RECORDS_PER_FILE = 10_000
# Rounds per trail per tick while a backlog drains, so one trail cannot starve the others.
MAX_ROUNDS_PER_TICK = 10
PRUNE_EVERY = 60.0
# A deleted trail whose bucket refuses its last files is given up after this many attempts.
MAX_ATTEMPTS_AFTER_DELETE = 10


@dataclass
class TickReport:
    log_files: int = 0
    events: int = 0
    digests: int = 0
    errors: list[str] = field(default_factory=list)


# --- which events of a range go into which file ------------------------------------------------


@dataclass(frozen=True)
class RoundSpec:
    """Everything that decides the files of a round, fixed when the round is planned."""

    account_id: str
    home_region: str
    multi_region: bool
    include_global: bool
    gaps: tuple[tuple[int, int], ...]
    filter: TrailFilter

    @classmethod
    def of(cls, trail: Trail) -> RoundSpec:
        return cls(
            trail.account_id,
            trail.home_region,
            trail.multi_region,
            trail.include_global,
            tuple((int(a), int(b)) for a, b in trail.gaps),
            trail.filter,
        )

    def to_plan(self) -> dict[str, Any]:
        return {
            "account": self.account_id,
            "home_region": self.home_region,
            "multi_region": self.multi_region,
            "include_global": self.include_global,
            "gaps": [list(g) for g in self.gaps],
            "filter": self.filter.to_json(),
        }

    @classmethod
    def from_plan(cls, plan: dict[str, Any]) -> RoundSpec:
        return cls(
            plan["account"],
            plan["home_region"],
            bool(plan["multi_region"]),
            bool(plan["include_global"]),
            tuple((int(a), int(b)) for a, b in plan["gaps"]),
            TrailFilter.from_plan(plan["filter"]),
        )

    def _wanted(self, event: QueuedEvent) -> bool:
        if any(after < event.seq <= upto for after, upto in self.gaps):
            return False
        if is_global_event(event.event_source, event.region):
            if not self.include_global:
                return False
        elif not (self.multi_region or event.region == self.home_region):
            return False
        facts = EventFacts(
            management=event.management,
            event_source=event.event_source,
            event_name=event.event_name,
            read_only=event.read_only,
            bucket=event.data_bucket,
            key=event.data_key,
        )
        return self.filter.matches(facts)

    def group(self, events: Iterable[QueuedEvent]) -> dict[tuple[str, int], list[QueuedEvent]]:
        """Files of the round: (region folder, part number) -> its events in sequence order."""
        by_region: dict[str, list[QueuedEvent]] = {}
        for event in events:
            if self._wanted(event):
                region = event.region if self.multi_region else self.home_region
                by_region.setdefault(region, []).append(event)
        files: dict[tuple[str, int], list[QueuedEvent]] = {}
        for region in sorted(by_region):
            chunk = by_region[region]
            for part, start in enumerate(range(0, len(chunk), MAX_RECORDS_PER_FILE)):
                files[(region, part)] = chunk[start : start + MAX_RECORDS_PER_FILE]
        return files


def _seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _iso_full(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


# --- S3 through its normal authorization ---------------------------------------------------


def _put(
    runtime: Runtime,
    trail_arn: str,
    account_id: str,
    bucket: str,
    key: str,
    body: bytes,
    metadata: dict[str, str] | None = None,
) -> None:
    from trailgate.auth.principal import Principal
    from trailgate.services.s3.internal import put_object_as

    put_object_as(
        runtime,
        Principal.aws_service(SERVICE_PRINCIPAL),
        bucket,
        key,
        body,
        content_type="application/json",
        content_encoding="gzip",
        acl="bucket-owner-full-control",
        metadata=metadata,
        context={"aws:SourceArn": trail_arn, "aws:SourceAccount": account_id},
    )


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, AwsError):
        return exc.code
    return "InternalError"


# --- the worker --------------------------------------------------------------------------------


class DeliveryWorker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        config = runtime.config
        self.delivery_interval = timedelta(seconds=max(0.05, float(config.trail_delivery_interval)))
        self.digest_interval = timedelta(seconds=max(1.0, float(config.digest_interval)))
        smallest = min(self.delivery_interval, self.digest_interval).total_seconds()
        self.tick = min(5.0, max(0.05, smallest / 4))
        self.lease_ttl = min(60.0, max(2.0, self.tick * 6))
        self.holder = uuid.uuid4().hex
        self.keys = KeyRing(runtime.db, runtime.sealer)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lease_until = 0.0
        self._last_prune = 0.0

    # --- thread -------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="trail-delivery", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        self._release_lease()

    def poke(self) -> None:
        """Look at the trails now (after StopLogging, DeleteTrail...), not at the next tick."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.take_lease():
                    self.run_once()
            except Exception:
                log.exception("CloudTrail delivery tick failed")
            self._wake.wait(self.tick)
            self._wake.clear()

    # --- lease ------------------------------------------------------------------------------

    def take_lease(self) -> bool:
        """Take or renew the delivery lease; True if this process holds it."""
        now_ms = int(time.time() * 1000)
        expires = now_ms + int(self.lease_ttl * 1000)
        lease = trail_leases.c
        try:
            with self.runtime.db.begin() as conn:
                updated = conn.execute(
                    update(trail_leases)
                    .where(
                        lease.name == LEASE_NAME,
                        or_(lease.holder == self.holder, lease.expires_at < now_ms),
                    )
                    .values(holder=self.holder, expires_at=expires)
                )
                if updated.rowcount == 1:
                    self._lease_until = time.monotonic() + self.lease_ttl
                    return True
                exists = conn.execute(
                    select(lease.name).where(lease.name == LEASE_NAME)
                ).first()
                if exists is not None:
                    return False
                conn.execute(
                    insert(trail_leases).values(
                        name=LEASE_NAME, holder=self.holder, expires_at=expires
                    )
                )
        except IntegrityError:
            return False
        self._lease_until = time.monotonic() + self.lease_ttl
        return True

    def _still_leader(self) -> bool:
        # Renew well before expiry while a long tick runs.
        if self._lease_until - time.monotonic() < self.lease_ttl * 2 / 3:
            return self.take_lease()
        return True

    def _release_lease(self) -> None:
        lease = trail_leases.c
        try:
            with self.runtime.db.begin() as conn:
                conn.execute(
                    update(trail_leases)
                    .where(lease.name == LEASE_NAME, lease.holder == self.holder)
                    .values(expires_at=0)
                )
        except Exception:
            log.debug("releasing the delivery lease failed", exc_info=True)

    # --- one pass over every trail ---------------------------------------------------------

    def run_once(self, *, force: bool = False) -> TickReport:
        """Deliver what is due (everything pending with force=True). The caller holds the lease."""
        report = TickReport()
        with self.runtime.db.read() as conn:
            ids = [t.id for t in trails.all_trails(conn)]
        for trail_id in ids:
            if not self._still_leader():
                break
            try:
                self._process(trail_id, report, force=force)
            except Exception as exc:
                log.exception("CloudTrail delivery for trail %s failed", trail_id)
                report.errors.append(_error_code(exc))
        if time.monotonic() - self._last_prune > PRUNE_EVERY:
            self._prune()
        return report

    def _load(self, trail_id: str) -> Trail | None:
        with self.runtime.db.read() as conn:
            return trails.get_by_id(conn, trail_id)

    def _outbox(self, trail_id: str) -> list[Any]:
        o = trail_outbox.c
        with self.runtime.db.read() as conn:
            return list(
                conn.execute(
                    select(trail_outbox).where(o.trail_id == trail_id).order_by(o.created_at, o.id)
                )
            )

    def _process(self, trail_id: str, report: TickReport, *, force: bool) -> None:
        trail = self._load(trail_id)
        if trail is None:
            return
        now = self.runtime.clock.now()
        for row in self._outbox(trail_id):
            if not self._finish(trail, row, report):
                return
        trail = self._load(trail_id)
        if trail is None:
            return
        due = force or trail.next_delivery_due is None or now >= trail.next_delivery_due
        if due:
            for _ in range(MAX_ROUNDS_PER_TICK):
                outcome = self._log_round(trail, report)
                if outcome != "more":
                    break
                trail = self._load(trail_id)
                if trail is None:
                    return
            if outcome == "failed":
                return
            self._schedule_next(trail_id, now)
        trail = self._load(trail_id)
        if trail is None:
            return
        self._digests(trail, report, force=force)
        self._drop_if_finished(trail_id)

    def _pending_upto(self, trail: Trail) -> int | None:
        """None: deliver whatever arrives; n: deliver up to seq n (stopped or deleted)."""
        if trail.logging and trail.deleted_at is None:
            return None
        return trail.stop_seq if trail.stop_seq is not None else trail.cursor_seq

    # --- log files ---------------------------------------------------------------------------

    def _log_round(self, trail: Trail, report: TickReport) -> str:
        """Plan and deliver one round: "idle", "done", "more" (backlog left) or "failed"."""
        outcome, row = self.plan_round(trail)
        if row is None:
            return outcome
        if not self._finish(trail, row, report):
            return "failed"
        return outcome

    def plan_round(self, trail: Trail) -> tuple[str, Any]:
        """Fix the next round of `trail` in the outbox: ("done" | "more", its outbox row), or
        (outcome, None) when there is nothing to write (the cursor may still have moved)."""
        upto = self._pending_upto(trail)
        cursor = trail.cursor_seq
        if upto is not None and cursor >= upto:
            return "idle", None
        with self.runtime.db.read() as conn:
            events = queue.read_after(conn, trail.account_id, cursor, MAX_EVENTS_PER_ROUND, upto)
        full = len(events) == MAX_EVENTS_PER_ROUND
        if not events:
            if upto is not None:
                self._advance(trail.id, cursor, upto)
            return "idle", None
        last = events[-1].seq if full or upto is None else upto
        spec = RoundSpec.of(trail)
        groups = spec.group(events)
        outcome = "more" if full else "done"
        if not groups:
            self._advance(trail.id, cursor, last)
            return outcome, None
        delivered_at = self.runtime.clock.now()
        files = [
            {
                "region": region,
                "part": part,
                "key": log_file_key(
                    trail.prefix_path, trail.account_id, region, delivered_at, unique_suffix()
                ),
            }
            for region, part in groups
        ]
        plan = {
            "first_seq": cursor,
            "last_seq": last,
            "arn": trail.arn,
            "delivered_at": _iso_full(delivered_at),
            "spec": spec.to_plan(),
            "files": files,
        }
        row_id = str(uuid.uuid4())
        with self.runtime.db.begin() as conn:
            current = trails.get_by_id(conn, trail.id, lock=True)
            if current is None or current.cursor_seq != cursor:
                return "idle", None
            # Another worker (a lease changing hands) may have planned this range already.
            planned = conn.execute(
                select(trail_outbox.c.id).where(
                    trail_outbox.c.trail_id == trail.id, trail_outbox.c.kind == "log"
                )
            ).first()
            if planned is not None:
                return "idle", None
            conn.execute(
                insert(trail_outbox).values(
                    id=row_id,
                    trail_id=trail.id,
                    kind="log",
                    created_at=delivered_at,
                    bucket=trail.s3_bucket,
                    plan=json.dumps(plan, separators=(",", ":")),
                    body=None,
                    done=None,
                    attempts=0,
                )
            )
        with self.runtime.db.read() as conn:
            row = conn.execute(select(trail_outbox).where(trail_outbox.c.id == row_id)).first()
        return outcome, row

    def _finish(self, trail: Trail, row: Any, report: TickReport) -> bool:
        """Write (or re-write) an outbox row's objects and confirm it. False if S3 refused."""
        if row.kind == "digest":
            return self._finish_digest(trail, row, report)
        written = self.write_round(trail, row, report)
        if written is None:
            return False
        plan = json.loads(row.plan)
        self._confirm_round(trail, row.id, int(plan["first_seq"]), int(plan["last_seq"]), written)
        return True

    def write_round(
        self, trail: Trail, row: Any, report: TickReport
    ) -> list[dict[str, Any]] | None:
        """PutObject every file of a planned round (again, if a crash interrupted it): the same
        keys with the same bytes. The log-file rows for the digest, or None if S3 refused."""
        plan = json.loads(row.plan)
        spec = RoundSpec.from_plan(plan["spec"])
        first, last = int(plan["first_seq"]), int(plan["last_seq"])
        with self.runtime.db.read() as conn:
            events = queue.read_after(conn, spec.account_id, first, MAX_EVENTS_PER_ROUND, last)
        groups = spec.group(events)
        done: list[str] = json.loads(row.done) if row.done else []
        written: list[dict[str, Any]] = []
        for entry in plan["files"]:
            chunk = groups.get((entry["region"], int(entry["part"])), [])
            if not chunk:
                continue
            body = log_body([e.record for e in chunk])
            key = entry["key"]
            if key not in done:
                try:
                    _put(self.runtime, plan["arn"], spec.account_id, row.bucket, key,
                         compress(body))
                except Exception as exc:
                    self._log_failure(trail, row, done, exc, report)
                    return None
                done.append(key)
                self._mark_done(row.id, done)
            written.append(
                {
                    "trail_id": trail.id,
                    "s3_key": key,
                    "region": entry["region"],
                    "bucket": row.bucket,
                    "sha256": sha256_hex(body),
                    "oldest_event": min(e.event_time for e in chunk),
                    "newest_event": max(e.event_time for e in chunk),
                    "delivered_at": self.runtime.clock.now(),
                    "digest_id": None,
                }
            )
            report.log_files += 1
            report.events += len(chunk)
        return written

    def _mark_done(self, row_id: str, done: list[str]) -> None:
        with self.runtime.db.begin() as conn:
            conn.execute(
                update(trail_outbox)
                .where(trail_outbox.c.id == row_id)
                .values(done=json.dumps(done))
            )

    def _log_failure(
        self, trail: Trail, row: Any, done: list[str], exc: BaseException, report: TickReport
    ) -> None:
        code = _error_code(exc)
        if not isinstance(exc, AwsError):
            log.exception("writing a CloudTrail log file failed")
        report.errors.append(code)
        now = self.runtime.clock.now()
        t = trail_trails.c
        with self.runtime.db.begin() as conn:
            conn.execute(
                update(trail_trails)
                .where(t.id == trail.id)
                .values(
                    latest_delivery_error=code,
                    latest_delivery_attempt_time=now,
                    next_delivery_due=now + self.delivery_interval,
                )
            )
            give_up = (
                trail.deleted_at is not None and int(row.attempts) + 1 >= MAX_ATTEMPTS_AFTER_DELETE
            )
            if not done and not give_up:
                # Nothing of this round exists anywhere: plan it afresh next time, with the
                # trail's settings and the time of that attempt.
                conn.execute(delete(trail_outbox).where(trail_outbox.c.id == row.id))
            elif give_up:
                conn.execute(delete(trail_outbox).where(trail_outbox.c.id == row.id))
                plan = json.loads(row.plan)
                conn.execute(
                    update(trail_trails)
                    .where(t.id == trail.id)
                    .values(cursor_seq=int(plan["last_seq"]))
                )
            else:
                conn.execute(
                    update(trail_outbox)
                    .where(trail_outbox.c.id == row.id)
                    .values(attempts=trail_outbox.c.attempts + 1)
                )

    def _confirm_round(
        self, trail: Trail, row_id: str, first: int, last: int, written: list[dict[str, Any]]
    ) -> None:
        now = self.runtime.clock.now()
        t = trail_trails.c
        with self.runtime.db.begin() as conn:
            gone = conn.execute(
                delete(trail_outbox).where(trail_outbox.c.id == row_id)
            ).rowcount
            if not gone:
                return  # another worker confirmed it
            current = trails.get_by_id(conn, trail.id, lock=True)
            if current is None:
                return
            gaps = [g for g in current.gaps if int(g[1]) > last]
            conn.execute(
                update(trail_trails)
                .where(t.id == trail.id, t.cursor_seq == first)
                .values(
                    cursor_seq=last,
                    gaps=json.dumps(gaps) if gaps else None,
                    latest_delivery_time=now if written else current.latest_delivery_time,
                    latest_delivery_attempt_time=now,
                    latest_delivery_succeeded_time=now,
                    latest_delivery_error=None,
                )
            )
            if written and current.log_validation:
                conn.execute(insert(trail_log_files), written)
                for region in {w["region"] for w in written}:
                    self._ensure_chain(conn, trail.id, region, now)

    def _advance(self, trail_id: str, cursor: int, to: int) -> None:
        t = trail_trails.c
        with self.runtime.db.begin() as conn:
            current = trails.get_by_id(conn, trail_id, lock=True)
            if current is None:
                return
            gaps = [g for g in current.gaps if int(g[1]) > to]
            conn.execute(
                update(trail_trails)
                .where(t.id == trail_id, t.cursor_seq == cursor)
                .values(cursor_seq=to, gaps=json.dumps(gaps) if gaps else None)
            )

    def _schedule_next(self, trail_id: str, now: datetime) -> None:
        t = trail_trails.c
        with self.runtime.db.begin() as conn:
            conn.execute(
                update(trail_trails)
                .where(t.id == trail_id)
                .values(next_delivery_due=now + self.delivery_interval)
            )

    # --- digests -------------------------------------------------------------------------

    @staticmethod
    def _ensure_chain(conn: Any, trail_id: str, region: str, start: datetime) -> None:
        c = trail_digest_chains.c
        exists = conn.execute(
            select(c.trail_id).where(c.trail_id == trail_id, c.region == region)
        ).first()
        if exists is None:
            conn.execute(
                insert(trail_digest_chains).values(
                    trail_id=trail_id, region=region, period_start=_seconds(start)
                )
            )

    def _digests(self, trail: Trail, report: TickReport, *, force: bool) -> None:
        flushed = (
            not (trail.logging and trail.deleted_at is None)
            and trail.cursor_seq >= (trail.stop_seq or 0)
            and not self._outbox(trail.id)
        )
        final = trail.final_digest_due and flushed
        if not trail.log_validation and not final:
            return
        now = self.runtime.clock.now()
        c = trail_digest_chains.c
        query = select(trail_digest_chains).where(c.trail_id == trail.id)
        with self.runtime.db.read() as conn:
            chains = list(conn.execute(query))
        active = trail.log_validation and trail.logging and trail.deleted_at is None
        if active and not any(chain.region == trail.home_region for chain in chains):
            # The home region's chain starts with logging (or with validation, if turned on
            # later), even before a log file exists: digests come also for empty periods.
            with self.runtime.db.begin() as conn:
                self._ensure_chain(
                    conn, trail.id, trail.home_region, trail.start_logging_time or now
                )
                chains = list(conn.execute(query))
        for chain in chains:
            due = final or force or now >= chain.period_start + self.digest_interval
            if due and not self._emit_digest(trail, chain, now, final, report):
                return
        if final:
            with self.runtime.db.begin() as conn:
                conn.execute(
                    update(trail_trails)
                    .where(trail_trails.c.id == trail.id)
                    .values(final_digest_due=False)
                )

    def _emit_digest(
        self, trail: Trail, chain: Any, now: datetime, final: bool, report: TickReport
    ) -> bool:
        region = chain.region
        end = _seconds(now)
        if chain.last_end is not None and end <= chain.last_end:
            # Digest keys carry the end time to the second; two in one second would collide.
            end = chain.last_end + timedelta(seconds=1)
        start = min(chain.period_start, end)
        signing_key = self.keys.current(region, now)
        key = digests.digest_key(
            trail.prefix_path, trail.account_id, region, trail.name, trail.home_region, end
        )
        row_id = str(uuid.uuid4())
        f = trail_log_files.c
        c = trail_digest_chains.c
        with self.runtime.db.begin() as conn:
            chain_query = select(trail_digest_chains).where(
                c.trail_id == trail.id, c.region == region
            )
            if conn.dialect.name == "postgresql":
                chain_query = chain_query.with_for_update()
            current = conn.execute(chain_query).first()
            if current is None or current.last_end != chain.last_end:
                return True  # another worker moved this chain on
            files = list(
                conn.execute(
                    select(trail_log_files)
                    .where(f.trail_id == trail.id, f.region == region, f.digest_id.is_(None))
                    .order_by(f.delivered_at, f.s3_key)
                )
            )
            previous = (
                digests.Previous(
                    chain.last_bucket, chain.last_key, chain.last_hash, chain.last_signature
                )
                if chain.last_key
                else None
            )
            signed = digests.build(
                account_id=trail.account_id,
                start=start,
                end=end,
                bucket=trail.s3_bucket,
                key=key,
                signing_key=signing_key,
                log_files=[
                    digests.LogFileEntry(r.bucket, r.s3_key, r.sha256, r.oldest_event,
                                         r.newest_event)
                    for r in files
                ],
                previous=previous,
            )
            conn.execute(
                insert(trail_outbox).values(
                    id=row_id,
                    trail_id=trail.id,
                    kind="digest",
                    created_at=now,
                    bucket=trail.s3_bucket,
                    plan=json.dumps(
                        {"region": region, "key": key, "arn": trail.arn,
                         "account": trail.account_id, "signature": signed.signature}
                    ),
                    body=signed.body,
                    done=None,
                    attempts=0,
                )
            )
            if files:
                conn.execute(
                    update(trail_log_files)
                    .where(
                        and_(f.trail_id == trail.id, f.s3_key.in_([r.s3_key for r in files]))
                    )
                    .values(digest_id=row_id)
                )
            if final:
                conn.execute(
                    delete(trail_digest_chains).where(c.trail_id == trail.id, c.region == region)
                )
            else:
                conn.execute(
                    update(trail_digest_chains)
                    .where(c.trail_id == trail.id, c.region == region)
                    .values(
                        period_start=end,
                        last_end=end,
                        last_bucket=trail.s3_bucket,
                        last_key=key,
                        last_signature=signed.signature,
                        last_hash=signed.sha256,
                    )
                )
        with self.runtime.db.read() as conn:
            row = conn.execute(select(trail_outbox).where(trail_outbox.c.id == row_id)).first()
        return row is not None and self._finish_digest(trail, row, report)

    def _finish_digest(self, trail: Trail, row: Any, report: TickReport) -> bool:
        plan = json.loads(row.plan)
        now = self.runtime.clock.now()
        t = trail_trails.c
        try:
            _put(
                self.runtime,
                plan["arn"],
                plan["account"],
                row.bucket,
                plan["key"],
                compress(bytes(row.body)),
                metadata=digests.metadata(plan["signature"]),
            )
        except Exception as exc:
            code = _error_code(exc)
            if not isinstance(exc, AwsError):
                log.exception("writing a CloudTrail digest failed")
            report.errors.append(code)
            with self.runtime.db.begin() as conn:
                conn.execute(
                    update(trail_trails).where(t.id == trail.id).values(latest_digest_error=code)
                )
                if trail.deleted_at is not None and int(row.attempts) + 1 >= (
                    MAX_ATTEMPTS_AFTER_DELETE
                ):
                    conn.execute(delete(trail_outbox).where(trail_outbox.c.id == row.id))
                else:
                    conn.execute(
                        update(trail_outbox)
                        .where(trail_outbox.c.id == row.id)
                        .values(attempts=trail_outbox.c.attempts + 1)
                    )
            return False
        with self.runtime.db.begin() as conn:
            conn.execute(delete(trail_outbox).where(trail_outbox.c.id == row.id))
            conn.execute(delete(trail_log_files).where(trail_log_files.c.digest_id == row.id))
            conn.execute(
                update(trail_trails)
                .where(t.id == trail.id)
                .values(latest_digest_time=now, latest_digest_error=None)
            )
        report.digests += 1
        return True

    # --- housekeeping ----------------------------------------------------------------------

    def _drop_if_finished(self, trail_id: str) -> None:
        """A deleted trail goes once its last files and final digest are written."""
        with self.runtime.db.begin() as conn:
            trail = trails.get_by_id(conn, trail_id, lock=True)
            if trail is None or trail.deleted_at is None:
                return
            if trail.final_digest_due or trail.cursor_seq < (trail.stop_seq or 0):
                return
            pending = conn.execute(
                select(trail_outbox.c.id).where(trail_outbox.c.trail_id == trail_id)
            ).first()
            if pending is not None:
                return
            conn.execute(delete(trail_log_files).where(trail_log_files.c.trail_id == trail_id))
            conn.execute(
                delete(trail_digest_chains).where(trail_digest_chains.c.trail_id == trail_id)
            )
            conn.execute(delete(trail_trails).where(trail_trails.c.id == trail_id))

    def _prune(self) -> None:
        self._last_prune = time.monotonic()
        now = self.runtime.clock.now()
        try:
            with self.runtime.db.begin() as conn:
                top = queue.max_seq(conn)
                floor = top
                for trail in trails.all_trails(conn):
                    upto = self._pending_upto(trail)
                    if upto is None or trail.cursor_seq < upto:
                        floor = min(floor, trail.cursor_seq)
                queue.prune(conn, now - timedelta(days=queue.RETENTION_DAYS), floor)
        except Exception:
            log.exception("pruning the CloudTrail event queue failed")
