"""Console passwords: CreateLoginProfile, GetLoginProfile, UpdateLoginProfile,
DeleteLoginProfile, and `verify_password` for the console sign-in.

Without UserName the call is about the caller's own profile (an IAM user's, or the root's when
the root calls). The root's profile has user_key "root".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, select

from trailgate.errors import AwsError
from trailgate.services import accounts
from trailgate.services.accounts import bump_generation
from trailgate.services.iam import authz, entities
from trailgate.services.iam.access_keys import KeyOwner, resolve_owner
from trailgate.services.iam.common import (
    already_exists,
    no_such_entity,
    utc,
    validation_error,
)
from trailgate.services.iam.passwords import (
    POLICY_VIOLATION,
    check_password,
    hash_password,
    policy_problem,
)
from trailgate.services.registry import CallContext, operation
from trailgate.store.schema_iam import iam_login_profiles, iam_users

ROOT_KEY = "root"


def _key(owner: KeyOwner) -> str:
    return owner.user.id if owner.user is not None else ROOT_KEY


def _display_name(owner: KeyOwner) -> str:
    return owner.user.name if owner.user is not None else owner.account_id


def _of(account_id: str, key: str) -> tuple[ColumnElement[bool], ...]:
    """The where clause of the profile of user `key` (a user id, or ROOT_KEY) in `account_id`."""
    return (
        iam_login_profiles.c.account_id == account_id,
        iam_login_profiles.c.user_key == key,
    )


def _row(conn: Connection, owner: KeyOwner) -> Any:
    return conn.execute(
        select(iam_login_profiles).where(*_of(owner.account_id, _key(owner)))
    ).first()


def _not_found(owner: KeyOwner) -> Exception:
    return no_such_entity(f"Login Profile for User {_display_name(owner)} cannot be found.")


def _check_policy(conn: Connection, owner: KeyOwner, password: str) -> None:
    account = accounts.get_account(conn, owner.account_id)
    forbidden = (account.name, account.email) if account else ()
    if policy_problem(password, forbidden):
        raise AwsError("PasswordPolicyViolation", POLICY_VIOLATION, 400)


def _shape(owner: KeyOwner, row: Any) -> dict[str, Any]:
    shape: dict[str, Any] = {}
    if owner.user is not None:
        shape["UserName"] = owner.user.name
    shape["CreateDate"] = utc(row.created_at)
    shape["PasswordResetRequired"] = bool(row.password_reset_required)
    return shape


@operation(
    "iam",
    "CreateLoginProfile",
    authorize=authz.on_user("iam:CreateLoginProfile", optional=True),
    blocking=True,
)
def create_login_profile(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    password = params.get("Password")
    if password is None:
        raise validation_error("Password is required.")
    # Hashed before the transaction: scrypt takes tens of milliseconds, which must not be spent
    # holding the database's write lock (every other writer would wait).
    password_hash = hash_password(password)
    with ctx.runtime.db.begin() as conn:
        owner = resolve_owner(ctx, conn, params.get("UserName"))
        if _row(conn, owner) is not None:
            raise already_exists(f"Login Profile for user {_display_name(owner)} already exists.")
        _check_policy(conn, owner, password)
        conn.execute(
            iam_login_profiles.insert().values(
                account_id=owner.account_id,
                user_key=_key(owner),
                password_hash=password_hash,
                password_reset_required=bool(params.get("PasswordResetRequired", False)),
                created_at=ctx.now,
            )
        )
        bump_generation(conn)
        row = _row(conn, owner)
    ctx.runtime.auth_changed()
    return {"LoginProfile": _shape(owner, row)}


@operation(
    "iam",
    "GetLoginProfile",
    authorize=authz.on_user("iam:GetLoginProfile", optional=True),
    read_only=True,
)
def get_login_profile(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.read() as conn:
        owner = resolve_owner(ctx, conn, params.get("UserName"))
        row = _row(conn, owner)
    if row is None:
        raise _not_found(owner)
    return {"LoginProfile": _shape(owner, row)}


@operation(
    "iam",
    "UpdateLoginProfile",
    authorize=authz.on_user("iam:UpdateLoginProfile"),
    blocking=True,
)
def update_login_profile(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    new_password = params.get("Password")
    # As in CreateLoginProfile: hashed outside the write transaction.
    new_hash = hash_password(new_password) if new_password is not None else None
    with ctx.runtime.db.begin() as conn:
        owner = resolve_owner(ctx, conn, params.get("UserName"))
        if _row(conn, owner) is None:
            raise _not_found(owner)
        values: dict[str, Any] = {}
        if new_password is not None:
            _check_policy(conn, owner, new_password)
            values["password_hash"] = new_hash
        if params.get("PasswordResetRequired") is not None:
            values["password_reset_required"] = bool(params["PasswordResetRequired"])
        if values:
            conn.execute(
                iam_login_profiles.update()
                .where(*_of(owner.account_id, _key(owner)))
                .values(**values)
            )
            bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


@operation(
    "iam",
    "DeleteLoginProfile",
    authorize=authz.on_user("iam:DeleteLoginProfile", optional=True),
)
def delete_login_profile(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.begin() as conn:
        owner = resolve_owner(ctx, conn, params.get("UserName"))
        if _row(conn, owner) is None:
            raise _not_found(owner)
        conn.execute(delete(iam_login_profiles).where(*_of(owner.account_id, _key(owner))))
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


def verify_password(
    conn: Connection, account_id: str, user_name: str | None, password: str
) -> bool:
    """Whether `password` is the console password of user `user_name` (None: the root).

    Takes the same time whether or not the user or its profile exists.
    """
    key: str | None = ROOT_KEY
    if user_name is not None:
        user = entities.find_user(conn, account_id, user_name)
        key = user.id if user is not None else None
    stored = None
    if key is not None:
        row = conn.execute(
            select(iam_login_profiles.c.password_hash).where(*_of(account_id, key))
        ).first()
        stored = row.password_hash if row else None
    return check_password(password, stored)


def record_password_use(conn: Connection, user_id: str, when: datetime) -> None:
    """Note a console sign-in of the user: shown as PasswordLastUsed by GetUser / ListUsers."""
    conn.execute(
        iam_users.update().where(iam_users.c.id == user_id).values(password_last_used=when)
    )
