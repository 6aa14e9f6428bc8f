"""Table definitions of the metadata store (SQLAlchemy Core).

Every table records the schema version that introduced it in `info["since"]`; migration N creates
the tables whose `since` is N, so a database at version N-1 gains exactly those. Changes to an
existing table are written as explicit steps in `migrations.py`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from trailgate.store.types import UtcDateTime

metadata = MetaData()


def _since(version: int) -> dict[str, int]:
    return {"since": version}


settings = Table(
    "settings",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
    info=_since(1),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(12), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("email", String(128), nullable=False),
    Column("status", String(32), nullable=False, default="ACTIVE"),
    Column("joined_method", String(16), nullable=False, default="CREATED"),
    Column("is_management", Boolean, nullable=False, default=False),
    Column("alias", String(63), nullable=True, unique=True),
    # Set for the management account and for accounts created through Organizations; accounts
    # made with `trailgate admin account create` stand alone, outside the organisation.
    Column("organization_id", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    info=_since(1),
)

create_account_requests = Table(
    "create_account_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("account_name", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
    Column("account_id", String(12), nullable=True),
    Column("failure_reason", String(64), nullable=True),
    info=_since(1),
)

# Long-term access keys, of an account root (user_id NULL) or of an IAM user. The secret is
# sealed with the instance's master key (store/sealing.py): verification needs it in clear, so
# it cannot be hashed, but a copy of the database alone must not reveal it.
access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(32), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("user_id", String(32), nullable=True),
    Column("secret_sealed", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False, default="Active"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Column("last_used_service", String(64), nullable=True),
    Column("last_used_region", String(32), nullable=True),
    info=_since(1),
)
Index("ix_access_keys_owner", access_keys.c.account_id, access_keys.c.user_id)

# A monotonically increasing counter bumped by every write that can change an authorization
# outcome (keys, policies, roles). Workers compare it to drop their caches.
generations = Table(
    "generations",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
    info=_since(1),
)
