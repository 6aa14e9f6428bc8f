"""Records of IAM entities (users, groups, roles, managed policies) and how they are found.

Lookups are by account and name (case-insensitively, as IAM compares names), by unique id, or
by ARN. `require_*` raise IAM's NoSuchEntity; `find_*` return None. STS and the credential
resolver use these too (re-exported by `principal_policies`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import ColumnElement, Connection, Row, Table, select

from trailgate.errors import AwsError
from trailgate.services.iam.common import (
    AWS_OWNER,
    group_arn,
    no_such_group,
    no_such_role,
    no_such_user,
    non_user_credentials,
    policy_arn,
    role_arn,
    user_arn,
    utc,
)
from trailgate.store.schema_iam import iam_groups, iam_managed_policies, iam_roles, iam_users

if TYPE_CHECKING:
    from trailgate.auth.principal import Principal


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


# -- generic lookups ------------------------------------------------------------------------

R = TypeVar("R")


def _first(
    conn: Connection, table: Table, from_row: Callable[[Row], R], *where: ColumnElement[bool]
) -> R | None:
    row = conn.execute(select(table).where(*where)).first()
    return from_row(row) if row else None


def _named(table: Table, account_id: str, name: str) -> tuple[ColumnElement[bool], ...]:
    """The where clause of "`name` in `account_id`", compared as IAM compares names."""
    return table.c.account_id == account_id, table.c.name_lower == name.lower()


def _required(record: R | None, missing: Callable[[], AwsError]) -> R:
    if record is None:
        raise missing()
    return record


def _in_account(
    conn: Connection, table: Table, from_row: Callable[[Row], R], account_id: str
) -> list[R]:
    rows = conn.execute(select(table).where(table.c.account_id == account_id))
    return [from_row(r) for r in rows]


# -- users ---------------------------------------------------------------------------------


def find_user(conn: Connection, account_id: str, name: str) -> UserRecord | None:
    return _first(conn, iam_users, user_from_row, *_named(iam_users, account_id, name))


def require_user(conn: Connection, account_id: str, name: str) -> UserRecord:
    return _required(find_user(conn, account_id, name), lambda: no_such_user(name))


def get_user_by_id(conn: Connection, user_id: str) -> UserRecord | None:
    return _first(conn, iam_users, user_from_row, iam_users.c.id == user_id)


def list_users(conn: Connection, account_id: str) -> list[UserRecord]:
    return _in_account(conn, iam_users, user_from_row, account_id)


def calling_user(conn: Connection, principal: Principal) -> UserRecord:
    """The IAM user behind a call that names no user (the root is for the caller to handle)."""
    if principal.kind != "IAMUser" or not principal.principal_id:
        raise non_user_credentials()
    user = get_user_by_id(conn, principal.principal_id)
    if user is None:
        raise no_such_user(principal.user_name or "")
    return user


# -- groups --------------------------------------------------------------------------------


def find_group(conn: Connection, account_id: str, name: str) -> GroupRecord | None:
    return _first(conn, iam_groups, group_from_row, *_named(iam_groups, account_id, name))


def require_group(conn: Connection, account_id: str, name: str) -> GroupRecord:
    return _required(find_group(conn, account_id, name), lambda: no_such_group(name))


def get_group_by_id(conn: Connection, group_id: str) -> GroupRecord | None:
    return _first(conn, iam_groups, group_from_row, iam_groups.c.id == group_id)


def list_groups(conn: Connection, account_id: str) -> list[GroupRecord]:
    return _in_account(conn, iam_groups, group_from_row, account_id)


# -- roles ---------------------------------------------------------------------------------


def get_role(conn: Connection, account_id: str, name: str) -> RoleRecord | None:
    """The role `name` of `account_id` (case-insensitive), or None."""
    return _first(conn, iam_roles, role_from_row, *_named(iam_roles, account_id, name))


find_role = get_role


def require_role(conn: Connection, account_id: str, name: str) -> RoleRecord:
    return _required(get_role(conn, account_id, name), lambda: no_such_role(name))


def get_role_by_id(conn: Connection, role_id: str) -> RoleRecord | None:
    return _first(conn, iam_roles, role_from_row, iam_roles.c.id == role_id)


def list_roles(conn: Connection, account_id: str) -> list[RoleRecord]:
    return _in_account(conn, iam_roles, role_from_row, account_id)


PrincipalLookup = Callable[[Connection, str, str], UserRecord | RoleRecord]
"""`require_user` or `require_role`: (conn, account id, name) -> the record."""


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
    return _first(conn, iam_managed_policies, policy_from_row, iam_managed_policies.c.arn == arn)


def find_policy_by_name(conn: Connection, account_id: str, name: str) -> PolicyRecord | None:
    where = _named(iam_managed_policies, account_id, name)
    return _first(conn, iam_managed_policies, policy_from_row, *where)


def visible_policy(conn: Connection, account_id: str, arn: str) -> PolicyRecord | None:
    """A managed policy the account may use: its own or an AWS managed one."""
    policy = find_policy(conn, arn)
    if policy is None or policy.account_id not in (account_id, AWS_OWNER):
        return None
    return policy


def require_visible_policy(
    conn: Connection, account_id: str, arn: str, error: AwsError
) -> PolicyRecord:
    return _required(visible_policy(conn, account_id, arn), lambda: error)


def make_policy_arn(account_id: str, path: str, name: str) -> str:
    return policy_arn(account_id, path, name)
