"""Tables of CloudTrail: the durable event queue, trails, delivery outbox, delivered log files,
digest chains, signing keys and the delivery lease.

`trail_events` is both the queue the delivery worker drains and the 90-day event history that
LookupEvents reads. `seq` orders it: recorders insert under a lock (SQLite's single writer,
a PostgreSQL advisory lock), so sequence order is commit order and a reader that has seen
`seq = n` has seen every event below it. Each trail keeps a cursor into that order.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    text,
)

from trailgate.store.schema import metadata
from trailgate.store.types import UtcDateTime

SINCE = {"since": 4}

# SQLite only gives a monotonic, never-reused rowid with AUTOINCREMENT on an INTEGER key.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")

trail_events = Table(
    "trail_events",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    # The account whose trails and event history receive this copy (recipientAccountId).
    Column("account_id", String(12), nullable=False),
    Column("event_time", UtcDateTime(), nullable=False),
    Column("region", String(32), nullable=False),
    Column("event_source", String(64), nullable=False),
    Column("event_name", String(128), nullable=False),
    Column("read_only", Boolean, nullable=False),
    Column("management", Boolean, nullable=False),
    Column("username", String(256), nullable=True),
    Column("access_key_id", String(32), nullable=True),
    # S3 data events: what event selectors match on.
    Column("data_bucket", String(63), nullable=True),
    Column("data_key", Text, nullable=True),
    # JSON list of {"ResourceType", "ResourceName"} for LookupEvents.
    Column("resources", Text, nullable=True),
    # The complete CloudTrail record, compact JSON, exactly as it is delivered.
    Column("record", Text, nullable=False),
    info=SINCE,
    sqlite_autoincrement=True,
)
Index(
    "ix_trail_events_history",
    trail_events.c.account_id,
    trail_events.c.region,
    trail_events.c.event_time,
)

# One row per resource of an event, for LookupEvents by ResourceType / ResourceName.
trail_event_resources = Table(
    "trail_event_resources",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("account_id", String(12), nullable=False),
    Column("event_time", UtcDateTime(), nullable=False),
    Column("resource_type", String(128), nullable=False),
    Column("resource_name", String(2048), nullable=False),
    info=SINCE,
)
Index(
    "ix_trail_event_resources_name",
    trail_event_resources.c.account_id,
    trail_event_resources.c.resource_name,
    trail_event_resources.c.event_time,
)
Index(
    "ix_trail_event_resources_type",
    trail_event_resources.c.account_id,
    trail_event_resources.c.resource_type,
    trail_event_resources.c.event_time,
)

trail_trails = Table(
    "trail_trails",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("home_region", String(32), nullable=False),
    Column("name", String(128), nullable=False),
    Column("arn", String(256), nullable=False),
    Column("s3_bucket", String(63), nullable=False),
    Column("s3_prefix", String(200), nullable=True),
    Column("sns_topic", String(256), nullable=True),
    Column("include_global", Boolean, nullable=False),
    Column("multi_region", Boolean, nullable=False),
    Column("log_validation", Boolean, nullable=False),
    Column("kms_key_id", String(256), nullable=True),
    Column("cw_log_group_arn", String(256), nullable=True),
    Column("cw_role_arn", String(256), nullable=True),
    Column("is_organization", Boolean, nullable=False),
    # JSON: the basic event selectors, or the advanced ones (exactly one is set).
    Column("event_selectors", Text, nullable=True),
    Column("advanced_selectors", Text, nullable=True),
    Column("has_custom_selectors", Boolean, nullable=False),
    # JSON list of {"Key", "Value"}.
    Column("tags", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    # Logging state. Events with seq <= cursor_seq are done for this trail; stop_seq bounds
    # what is still owed after StopLogging; `gaps` (JSON [[after, upto], ...]) are seq ranges
    # recorded while the trail was stopped, skipped once the cursor reaches them.
    Column("logging", Boolean, nullable=False),
    Column("cursor_seq", BigInteger, nullable=False),
    Column("stop_seq", BigInteger, nullable=True),
    Column("gaps", Text, nullable=True),
    Column("final_digest_due", Boolean, nullable=False),
    Column("start_logging_time", UtcDateTime(), nullable=True),
    Column("stop_logging_time", UtcDateTime(), nullable=True),
    Column("latest_delivery_time", UtcDateTime(), nullable=True),
    Column("latest_delivery_attempt_time", UtcDateTime(), nullable=True),
    Column("latest_delivery_succeeded_time", UtcDateTime(), nullable=True),
    Column("latest_delivery_error", String(256), nullable=True),
    Column("latest_digest_time", UtcDateTime(), nullable=True),
    Column("latest_digest_error", String(256), nullable=True),
    Column("next_delivery_due", UtcDateTime(), nullable=True),
    # Set by DeleteTrail: the trail is gone from the API; the worker flushes it, then drops it.
    Column("deleted_at", UtcDateTime(), nullable=True),
    info=SINCE,
)
# Names are unique per account and home region among live trails; a deleted trail still being
# flushed does not block a new one with the same name.
Index(
    "ux_trail_trails_live_name",
    trail_trails.c.account_id,
    trail_trails.c.home_region,
    trail_trails.c.name,
    unique=True,
    sqlite_where=text("deleted_at IS NULL"),
    postgresql_where=text("deleted_at IS NULL"),
)

# Deliveries decided but not yet confirmed: one row per delivery round (log files) or digest.
# Its content is fixed when the row is written, so a round interrupted by a crash is written
# again with the same keys and bytes (an overwrite, never a second copy).
trail_outbox = Table(
    "trail_outbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("trail_id", String(36), nullable=False),
    Column("kind", String(8), nullable=False),  # "log" | "digest"
    Column("created_at", UtcDateTime(), nullable=False),
    Column("bucket", String(63), nullable=False),
    # log: JSON {"first_seq", "last_seq", "filter", "files": [{"region", "key", "part"}]}
    # digest: JSON {"region", "key", "end", "signature", "fingerprint", "hash"}
    Column("plan", Text, nullable=False),
    # digest: the uncompressed digest document.
    Column("body", LargeBinary, nullable=True),
    # JSON list of keys already written.
    Column("done", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    info=SINCE,
)
Index("ix_trail_outbox_trail", trail_outbox.c.trail_id, trail_outbox.c.created_at)

# Log files delivered, kept until a digest lists them.
trail_log_files = Table(
    "trail_log_files",
    metadata,
    Column("trail_id", String(36), primary_key=True),
    Column("s3_key", String(1024), primary_key=True),
    Column("region", String(32), nullable=False),
    Column("bucket", String(63), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("oldest_event", UtcDateTime(), nullable=False),
    Column("newest_event", UtcDateTime(), nullable=False),
    Column("delivered_at", UtcDateTime(), nullable=False),
    Column("digest_id", String(36), nullable=True),
    info=SINCE,
)
Index("ix_trail_log_files_pending", trail_log_files.c.trail_id, trail_log_files.c.region,
      trail_log_files.c.digest_id)

# The digest chain of a trail in one source region.
trail_digest_chains = Table(
    "trail_digest_chains",
    metadata,
    Column("trail_id", String(36), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("period_start", UtcDateTime(), nullable=False),
    Column("last_end", UtcDateTime(), nullable=True),
    Column("last_bucket", String(63), nullable=True),
    Column("last_key", String(1024), nullable=True),
    Column("last_signature", String(1024), nullable=True),
    Column("last_hash", String(64), nullable=True),
    info=SINCE,
)

# Per-region RSA keys that sign digests. Private keys are sealed with the master key.
trail_signing_keys = Table(
    "trail_signing_keys",
    metadata,
    Column("fingerprint", String(32), primary_key=True),
    Column("region", String(32), nullable=False),
    Column("public_der", LargeBinary, nullable=False),
    Column("private_sealed", LargeBinary, nullable=False),
    Column("valid_from", UtcDateTime(), nullable=False),
    Column("valid_to", UtcDateTime(), nullable=False),
    info=SINCE,
)
Index("ix_trail_signing_keys_region", trail_signing_keys.c.region, trail_signing_keys.c.valid_from)

# Which process runs the delivery worker: the holder renews `expires_at`; anyone may take an
# expired lease.
trail_leases = Table(
    "trail_leases",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_at", BigInteger, nullable=False),  # epoch milliseconds, wall clock
    info=SINCE,
)
