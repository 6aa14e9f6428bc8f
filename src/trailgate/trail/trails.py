"""Trails as values, the store reads every part of CloudTrail shares, and the per-process index of
logging trails the recorder asks whether anyone selected an S3 data event.

A trail belongs to an account and a home region; a multi-region trail also shows in every other
region (a "shadow trail"). A deleted trail keeps its row, hidden from the API, until the
delivery worker has flushed its last events and final digest.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from trailgate.store.schema_trail import trail_trails
from trailgate.trail.records import GLOBAL_REGION
from trailgate.trail.selectors import EventFacts, TrailFilter

if TYPE_CHECKING:
    from trailgate.runtime import Runtime

GENERATION = "trail"
# How stale another worker's view of trail settings may be (logging starts "within minutes"
# on AWS; this is far inside that).
INDEX_TTL = 0.5
GLOBAL_SOURCES = frozenset({"iam.amazonaws.com", "organizations.amazonaws.com"})


def is_global_event(event_source: str, region: str) -> bool:
    return event_source in GLOBAL_SOURCES or (
        event_source == "sts.amazonaws.com" and region == GLOBAL_REGION
    )


@dataclass(frozen=True)
class Trail:
    id: str
    account_id: str
    home_region: str
    name: str
    arn: str
    s3_bucket: str
    s3_prefix: str | None
    sns_topic: str | None
    include_global: bool
    multi_region: bool
    log_validation: bool
    kms_key_id: str | None
    cw_log_group_arn: str | None
    cw_role_arn: str | None
    is_organization: bool
    event_selectors: str | None
    advanced_selectors: str | None
    has_custom_selectors: bool
    tags: list[dict[str, str]]
    created_at: datetime
    logging: bool
    cursor_seq: int
    stop_seq: int | None
    gaps: list[list[int]]
    final_digest_due: bool
    start_logging_time: datetime | None
    stop_logging_time: datetime | None
    latest_delivery_time: datetime | None
    latest_delivery_attempt_time: datetime | None
    latest_delivery_succeeded_time: datetime | None
    latest_delivery_error: str | None
    latest_digest_time: datetime | None
    latest_digest_error: str | None
    next_delivery_due: datetime | None
    deleted_at: datetime | None
    filter: TrailFilter = field(compare=False, repr=False, default=TrailFilter((), None))

    @property
    def prefix_path(self) -> str:
        """The key prefix before `AWSLogs/` ("" or "prefix/")."""
        return f"{self.s3_prefix}/" if self.s3_prefix else ""

    def covers(self, region: str, event_source: str) -> bool:
        """Whether events of `region` (and this source) belong in this trail at all."""
        if is_global_event(event_source, region):
            return self.include_global
        return self.multi_region or region == self.home_region

    def file_region(self, region: str) -> str:
        """The region folder an event of `region` is delivered under."""
        return region if self.multi_region else self.home_region

    def wants(self, facts: EventFacts, region: str) -> bool:
        return self.covers(region, facts.event_source) and self.filter.matches(facts)

    def visible_in(self, region: str) -> bool:
        return self.deleted_at is None and (self.home_region == region or self.multi_region)


def row_to_trail(row: Any) -> Trail:
    m = row._mapping
    return Trail(
        id=m["id"],
        account_id=m["account_id"],
        home_region=m["home_region"],
        name=m["name"],
        arn=m["arn"],
        s3_bucket=m["s3_bucket"],
        s3_prefix=m["s3_prefix"],
        sns_topic=m["sns_topic"],
        include_global=bool(m["include_global"]),
        multi_region=bool(m["multi_region"]),
        log_validation=bool(m["log_validation"]),
        kms_key_id=m["kms_key_id"],
        cw_log_group_arn=m["cw_log_group_arn"],
        cw_role_arn=m["cw_role_arn"],
        is_organization=bool(m["is_organization"]),
        event_selectors=m["event_selectors"],
        advanced_selectors=m["advanced_selectors"],
        has_custom_selectors=bool(m["has_custom_selectors"]),
        tags=json.loads(m["tags"] or "[]"),
        created_at=m["created_at"],
        logging=bool(m["logging"]),
        cursor_seq=int(m["cursor_seq"]),
        stop_seq=m["stop_seq"],
        gaps=json.loads(m["gaps"]) if m["gaps"] else [],
        final_digest_due=bool(m["final_digest_due"]),
        start_logging_time=m["start_logging_time"],
        stop_logging_time=m["stop_logging_time"],
        latest_delivery_time=m["latest_delivery_time"],
        latest_delivery_attempt_time=m["latest_delivery_attempt_time"],
        latest_delivery_succeeded_time=m["latest_delivery_succeeded_time"],
        latest_delivery_error=m["latest_delivery_error"],
        latest_digest_time=m["latest_digest_time"],
        latest_digest_error=m["latest_digest_error"],
        next_delivery_due=m["next_delivery_due"],
        deleted_at=m["deleted_at"],
        filter=TrailFilter.from_json(m["event_selectors"], m["advanced_selectors"]),
    )


def trail_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:cloudtrail:{region}:{account_id}:trail/{name}"


def account_trails(conn: Connection, account_id: str) -> list[Trail]:
    t = trail_trails.c
    rows = conn.execute(
        select(trail_trails)
        .where(t.account_id == account_id, t.deleted_at.is_(None))
        .order_by(t.home_region, t.name)
    )
    return [row_to_trail(r) for r in rows]


def get_by_id(conn: Connection, trail_id: str, *, lock: bool = False) -> Trail | None:
    query = select(trail_trails).where(trail_trails.c.id == trail_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return row_to_trail(row) if row else None


def all_trails(conn: Connection) -> list[Trail]:
    """Every trail with work left: live trails and deleted ones not yet flushed."""
    return [row_to_trail(r) for r in conn.execute(select(trail_trails))]


def changed(runtime: Runtime, conn: Connection) -> None:
    """Inside a transaction that changed trail settings: other workers refresh their index."""
    from trailgate.services.accounts import bump_generation

    bump_generation(conn, GENERATION)
    index = getattr(runtime.recorder, "index", None)
    if index is not None:
        index.invalidate()


class TrailIndex:
    """The logging trails per account, as the recorder needs them; refreshed when the `trail`
    generation moves (checked at most every INDEX_TTL seconds)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._lock = threading.Lock()
        self._by_account: dict[str, list[Trail]] = {}
        self._data_events = False
        self._generation = -1
        self._checked = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._checked = 0.0
            self._generation = -1

    def trails_of(self, account_id: str) -> list[Trail]:
        self._refresh()
        return self._by_account.get(account_id, [])

    def any_data_events(self) -> bool:
        """Whether any logging trail may select a data event at all."""
        self._refresh()
        return self._data_events

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < INDEX_TTL:
            return
        from trailgate.services.accounts import read_generation

        db = self._runtime.db
        with db.read() as conn:
            generation = read_generation(conn, GENERATION)
            stale = generation != self._generation
            rows = conn.execute(select(trail_trails).where(trail_trails.c.logging.is_(True))) if (
                stale
            ) else None
            trails = [row_to_trail(r) for r in rows] if rows is not None else None
        with self._lock:
            self._checked = now
            if trails is not None:
                by_account: dict[str, list[Trail]] = {}
                for trail in trails:
                    by_account.setdefault(trail.account_id, []).append(trail)
                self._by_account = by_account
                self._data_events = any(t.filter.may_select_data_events() for t in trails)
                self._generation = generation
