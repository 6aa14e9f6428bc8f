"""Records of IAM entities (users, groups, roles, managed policies) and how they are found.

Lookups are by account and name (case-insensitively, as IAM compares names), by unique id, or
by ARN. `require_*` raise IAM's NoSuchEntity; `find_*` return None. STS and the credential
resolver use these too (re-exported by `principal_policies`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Row, select

from trailgate.errors import AwsError
from trailgate.services.iam.common import (
    AWS_OWNER,
    group_arn,
    no_such_group,
    no_such_role,
    no_such_user,
    policy_arn,
    role_arn,
    user_arn,
    utc,
)
from trailgate.store.schema_iam import iam_groups, iam_managed_policies, iam_roles, iam_users


@dataclass(frozen=True)
class UserRecord:
    id: str
    account_id: str
    name: str
    path: str
    permissions_boundary: str | None
    created_at: datetime
    password_last_used: datetime | None

    @property
    def arn(self) -> str:
        return user_arn(self.account_id, self.path, self.name)


@dataclass(frozen=True)
class GroupRecord:
    id: str
    account_id: str
    name: str
    path: str
    created_at: datetime

    @property
    def arn(self) -> str:
        return group_arn(self.account_id, self.path, self.name)


@dataclass(frozen=True)
class RoleRecord:
    id: str
    account_id: str
    name: str
    path: str
    trust_policy: str
    description: str | None
    max_session_duration: int
    permissions_boundary: str | None
    created_at: datetime
    last_used_at: datetime | None
    last_used_region: str | None

    @property
    def arn(self) -> str:
        return role_arn(self.account_id, self.path, self.name)


@dataclass(frozen=True)
class PolicyRecord:
    arn: str
    id: str
    account_id: str
    name: str
    path: str
    description: str | None
    default_version: str
    next_version: int
    created_at: datetime
    updated_at: datetime

    @property
    def is_aws_managed(self) -> bool:
        return self.account_id == AWS_OWNER


def user_from_row(row: Row) -> UserRecord:
    m = row._mapping
    return UserRecord(
        id=m["id"],
        account_id=m["account_id"],
        name=m["name"],
        path=m["path"],
        permissions_boundary=m["permissions_boundary"],
        created_at=utc(m["created_at"]),  # type: ignore[arg-type]
        password_last_used=utc(m["password_last_used"]),
    )


def group_from_row(row: Row) -> GroupRecord:
    m = row._mapping
    return GroupRecord(
        id=m["id"],
        account_id=m["account_id"],
        name=m["name"],
        path=m["path"],
        created_at=utc(m["created_at"]),  # type: ignore[arg-type]
    )


def role_from_row(row: Row) -> RoleRecord:
    m = row._mapping
    return RoleRecord(
        id=m["id"],
        account_id=m["account_id"],
        name=m["name"],
        path=m["path"],
        trust_policy=m["trust_policy"],
        description=m["description"],
        max_session_duration=int(m["max_session_duration"]),
        permissions_boundary=m["permissions_boundary"],
        created_at=utc(m["created_at"]),  # type: ignore[arg-type]
        last_used_at=utc(m["last_used_at"]),
        last_used_region=m["last_used_region"],
    )


def policy_from_row(row: Row) -> PolicyRecord:
    m = row._mapping
    return PolicyRecord(
        arn=m["arn"],
        id=m["id"],
        account_id=m["account_id"],
        name=m["name"],
        path=m["path"],
        description=m["description"],
        default_version=m["default_version"],
        next_version=int(m["next_version"]),
        created_at=utc(m["created_at"]),  # type: ignore[arg-type]
        updated_at=utc(m["updated_at"]),  # type: ignore[arg-type]
    )


# -- users ---------------------------------------------------------------------------------


def find_user(conn: Connection, account_id: str, name: str) -> UserRecord | None:
    row = conn.execute(
        select(iam_users).where(
            iam_users.c.account_id == account_id, iam_users.c.name_lower == name.lower()
        )
    ).first()
    return user_from_row(row) if row else None


def require_user(conn: Connection, account_id: str, name: str) -> UserRecord:
    user = find_user(conn, account_id, name)
    if user is None:
        raise no_such_user(name)
    return user


def get_user_by_id(conn: Connection, user_id: str) -> UserRecord | None:
    row = conn.execute(select(iam_users).where(iam_users.c.id == user_id)).first()
    return user_from_row(row) if row else None


def list_users(conn: Connection, account_id: str) -> list[UserRecord]:
    rows = conn.execute(select(iam_users).where(iam_users.c.account_id == account_id))
    return [user_from_row(r) for r in rows]


# -- groups --------------------------------------------------------------------------------


def find_group(conn: Connection, account_id: str, name: str) -> GroupRecord | None:
    row = conn.execute(
        select(iam_groups).where(
            iam_groups.c.account_id == account_id, iam_groups.c.name_lower == name.lower()
        )
    ).first()
    return group_from_row(row) if row else None


def require_group(conn: Connection, account_id: str, name: str) -> GroupRecord:
    group = find_group(conn, account_id, name)
    if group is None:
        raise no_such_group(name)
    return group


def get_group_by_id(conn: Connection, group_id: str) -> GroupRecord | None:
    row = conn.execute(select(iam_groups).where(iam_groups.c.id == group_id)).first()
    return group_from_row(row) if row else None


# -- roles ---------------------------------------------------------------------------------


def get_role(conn: Connection, account_id: str, name: str) -> RoleRecord | None:
    """The role `name` of `account_id` (case-insensitive), or None."""
    row = conn.execute(
        select(iam_roles).where(
            iam_roles.c.account_id == account_id, iam_roles.c.name_lower == name.lower()
        )
    ).first()
    return role_from_row(row) if row else None


find_role = get_role


def require_role(conn: Connection, account_id: str, name: str) -> RoleRecord:
    role = get_role(conn, account_id, name)
    if role is None:
        raise no_such_role(name)
    return role


def get_role_by_id(conn: Connection, role_id: str) -> RoleRecord | None:
    row = conn.execute(select(iam_roles).where(iam_roles.c.id == role_id)).first()
    return role_from_row(row) if row else None


def get_role_by_arn(conn: Connection, arn: str) -> RoleRecord | None:
    """The role an ARN names, or None (unknown, malformed, or a path that is not the role's).

    The name is compared case-insensitively like every IAM name; the path must be the role's.
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or parts[3] != "":
        return None
    account_id, resource = parts[4], parts[5]
    if not resource.startswith("role/"):
        return None
    path_and_name = resource[len("role"):]
    path, _, name = path_and_name.rpartition("/")
    path += "/"
    role = get_role(conn, account_id, name) if name else None
    if role is None or role.path != path:
        return None
    return role


# -- managed policies ----------------------------------------------------------------------


def find_policy(conn: Connection, arn: str) -> PolicyRecord | None:
    row = conn.execute(
        select(iam_managed_policies).where(iam_managed_policies.c.arn == arn)
    ).first()
    return policy_from_row(row) if row else None


def find_policy_by_name(conn: Connection, account_id: str, name: str) -> PolicyRecord | None:
    row = conn.execute(
        select(iam_managed_policies).where(
            iam_managed_policies.c.account_id == account_id,
            iam_managed_policies.c.name_lower == name.lower(),
        )
    ).first()
    return policy_from_row(row) if row else None


def visible_policy(conn: Connection, account_id: str, arn: str) -> PolicyRecord | None:
    """A managed policy the account may use: its own or an AWS managed one."""
    policy = find_policy(conn, arn)
    if policy is None or policy.account_id not in (account_id, AWS_OWNER):
        return None
    return policy


def require_visible_policy(
    conn: Connection, account_id: str, arn: str, error: AwsError
) -> PolicyRecord:
    policy = visible_policy(conn, account_id, arn)
    if policy is None:
        raise error
    return policy


def make_policy_arn(account_id: str, path: str, name: str) -> str:
    return policy_arn(account_id, path, name)
