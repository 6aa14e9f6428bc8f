"""Tables of IAM entities (users, groups, roles, policies, login profiles) and STS sessions.

Names are unique per account case-insensitively (`name_lower`), as in IAM; the original spelling
is kept in `name`. Policy documents are stored exactly as received (the text), and compiled by
the runtime's policy cache when used.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from trailgate.store.schema import metadata
from trailgate.store.types import UtcDateTime

SINCE = {"since": 2}

iam_users = Table(
    "iam_users",
    metadata,
    Column("id", String(32), primary_key=True),  # AIDA...
    Column("account_id", String(12), nullable=False),
    Column("name", String(64), nullable=False),
    Column("name_lower", String(64), nullable=False),
    Column("path", String(512), nullable=False, default="/"),
    Column("permissions_boundary", String(2048), nullable=True),  # managed policy ARN
    Column("created_at", UtcDateTime(), nullable=False),
    Column("password_last_used", UtcDateTime(), nullable=True),
    UniqueConstraint("account_id", "name_lower"),
    info=SINCE,
)

iam_groups = Table(
    "iam_groups",
    metadata,
    Column("id", String(32), primary_key=True),  # AGPA...
    Column("account_id", String(12), nullable=False),
    Column("name", String(128), nullable=False),
    Column("name_lower", String(128), nullable=False),
    Column("path", String(512), nullable=False, default="/"),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("account_id", "name_lower"),
    info=SINCE,
)

iam_group_members = Table(
    "iam_group_members",
    metadata,
    Column("group_id", String(32), primary_key=True),
    Column("user_id", String(32), primary_key=True),
    info=SINCE,
)
Index("ix_group_members_user", iam_group_members.c.user_id)

iam_roles = Table(
    "iam_roles",
    metadata,
    Column("id", String(32), primary_key=True),  # AROA...
    Column("account_id", String(12), nullable=False),
    Column("name", String(64), nullable=False),
    Column("name_lower", String(64), nullable=False),
    Column("path", String(512), nullable=False, default="/"),
    Column("trust_policy", Text, nullable=False),
    Column("description", String(1000), nullable=True),
    Column("max_session_duration", Integer, nullable=False, default=3600),
    Column("permissions_boundary", String(2048), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Column("last_used_region", String(32), nullable=True),
    UniqueConstraint("account_id", "name_lower"),
    info=SINCE,
)

# Inline policies of users, groups and roles: owner_type is "user" | "group" | "role".
iam_inline_policies = Table(
    "iam_inline_policies",
    metadata,
    Column("owner_type", String(8), primary_key=True),
    Column("owner_id", String(32), primary_key=True),
    Column("name_lower", String(128), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("document", Text, nullable=False),
    info=SINCE,
)

# Managed policies; AWS managed ones have account_id "aws".
iam_managed_policies = Table(
    "iam_managed_policies",
    metadata,
    Column("arn", String(2048), primary_key=True),
    Column("id", String(32), nullable=False, unique=True),  # ANPA...
    Column("account_id", String(12), nullable=False),
    Column("name", String(128), nullable=False),
    Column("name_lower", String(128), nullable=False),
    Column("path", String(512), nullable=False, default="/"),
    Column("description", String(1000), nullable=True),
    Column("default_version", String(16), nullable=False, default="v1"),
    Column("next_version", Integer, nullable=False, default=2),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("account_id", "name_lower"),
    info=SINCE,
)

iam_policy_versions = Table(
    "iam_policy_versions",
    metadata,
    Column("policy_arn", String(2048), primary_key=True),
    Column("version_id", String(16), primary_key=True),
    Column("document", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    info=SINCE,
)

iam_attachments = Table(
    "iam_attachments",
    metadata,
    Column("owner_type", String(8), primary_key=True),
    Column("owner_id", String(32), primary_key=True),
    Column("policy_arn", String(2048), primary_key=True),
    info=SINCE,
)
Index("ix_attachments_policy", iam_attachments.c.policy_arn)

# Tags of users, roles, managed policies: resource_type "user" | "role" | "policy".
iam_tags = Table(
    "iam_tags",
    metadata,
    Column("resource_type", String(8), primary_key=True),
    Column("resource_id", String(2048), primary_key=True),
    Column("key_lower", String(128), primary_key=True),
    Column("key", String(128), nullable=False),
    Column("value", String(256), nullable=False),
    info=SINCE,
)

# Console passwords: salted scrypt hashes only. user_id NULL is the account root's.
iam_login_profiles = Table(
    "iam_login_profiles",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("user_key", String(32), primary_key=True),  # user id, or "root"
    Column("password_hash", String(512), nullable=False),
    Column("password_reset_required", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime(), nullable=False),
    info=SINCE,
)

iam_account_aliases = Table(
    "iam_account_aliases",
    metadata,
    Column("alias", String(63), primary_key=True),
    Column("account_id", String(12), nullable=False, unique=True),
    info=SINCE,
)

# Temporary credentials issued by STS. The session token is sealed (bound to "<key id>/token")
# like the secret: a copy of the database alone reveals neither.
sts_sessions = Table(
    "sts_sessions",
    metadata,
    Column("access_key_id", String(32), primary_key=True),  # ASIA...
    Column("account_id", String(12), nullable=False),  # the account whose principal it is
    Column("kind", String(16), nullable=False),  # "AssumedRole" | "SessionToken"
    Column("role_id", String(32), nullable=True),
    Column("session_name", String(64), nullable=True),
    Column("user_id", String(32), nullable=True),  # GetSessionToken of an IAM user
    Column("secret_sealed", LargeBinary, nullable=False),
    Column("token_sealed", LargeBinary, nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("session_policy", Text, nullable=True),  # inline Policy parameter
    Column("session_policy_arns", Text, nullable=True),  # JSON list of managed policy ARNs
    Column("source_identity", String(64), nullable=True),
    Column("tags", Text, nullable=True),  # JSON {key: value}, session + transitive tags
    Column("transitive_tag_keys", Text, nullable=True),  # JSON list
    Column("source_arn", String(2048), nullable=True),  # who assumed the role
    Column("chained", Boolean, nullable=False, default=False),
    info=SINCE,
)
Index("ix_sts_sessions_expiry", sts_sessions.c.expires_at)
