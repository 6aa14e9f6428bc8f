"""Accounts and their root access keys: creation, lookup, and first-start bootstrap.

Used by the operator CLI (`trailgate admin account ...`), by Organizations CreateAccount, and by
the server at start-up. Plain functions over the store; no HTTP and no permission checks here.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, func, select

from trailgate.errors import AwsError
from trailgate.services import ids
from trailgate.store import schema
from trailgate.store.db import Database
from trailgate.store.sealing import Sealer

ROOT_KEY_ID_ENV = "TRAILGATE_ROOT_ACCESS_KEY_ID"
ROOT_SECRET_ENV = "TRAILGATE_ROOT_SECRET_ACCESS_KEY"
ROOT_CREDENTIALS_FILE = "root-credentials.json"


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    email: str
    status: str
    joined_method: str
    is_management: bool
    alias: str | None
    created_at: datetime
    organization_id: str | None = None

    @property
    def root_arn(self) -> str:
        return f"arn:aws:iam::{self.id}:root"


@dataclass(frozen=True)
class NewAccount:
    account: Account
    root_access_key_id: str
    root_secret_access_key: str

    def as_json(self) -> dict[str, str]:
        return {
            "AccountId": self.account.id,
            "AccountName": self.account.name,
            "RootAccessKeyId": self.root_access_key_id,
            "RootSecretAccessKey": self.root_secret_access_key,
        }


def now() -> datetime:
    return datetime.now(UTC)


def _row_to_account(row: object) -> Account:
    m = row._mapping  # type: ignore[attr-defined]
    return Account(
        id=m["id"],
        name=m["name"],
        email=m["email"],
        status=m["status"],
        joined_method=m["joined_method"],
        is_management=bool(m["is_management"]),
        alias=m["alias"],
        created_at=m["created_at"],
        organization_id=m["organization_id"],
    )


def get_account(conn: Connection, account_id: str) -> Account | None:
    row = conn.execute(select(schema.accounts).where(schema.accounts.c.id == account_id)).first()
    return _row_to_account(row) if row else None


def list_accounts(conn: Connection) -> list[Account]:
    rows = conn.execute(select(schema.accounts).order_by(schema.accounts.c.created_at))
    return [_row_to_account(r) for r in rows]


def management_account_id(conn: Connection) -> str | None:
    row = conn.execute(
        select(schema.settings.c.value).where(schema.settings.c.key == "management_account_id")
    ).first()
    return row[0] if row else None


def _validate_account_id(account_id: str) -> None:
    if len(account_id) != 12 or not account_id.isdigit():
        raise AwsError("InvalidInputException", "An account id must be exactly 12 digits.")


def insert_access_key(
    conn: Connection,
    sealer: Sealer,
    *,
    account_id: str,
    user_id: str | None,
    access_key_id: str | None = None,
    secret: str | None = None,
) -> tuple[str, str]:
    """Store a new long-term key for an account root (user_id None) or an IAM user."""
    akid = access_key_id or ids.access_key_id()
    secret = secret or ids.secret_access_key()
    conn.execute(
        schema.access_keys.insert().values(
            access_key_id=akid,
            account_id=account_id,
            user_id=user_id,
            secret_sealed=sealer.seal(secret, akid),
            status="Active",
            created_at=now(),
        )
    )
    bump_generation(conn)
    return akid, secret


def bump_generation(conn: Connection, name: str = "auth") -> None:
    """Tell every worker that cached authorization data may be stale."""
    table = schema.generations
    updated = conn.execute(
        table.update().where(table.c.name == name).values(value=table.c.value + 1)
    )
    if updated.rowcount == 0:
        conn.execute(table.insert().values(name=name, value=1))


def read_generation(conn: Connection, name: str = "auth") -> int:
    row = conn.execute(
        select(schema.generations.c.value).where(schema.generations.c.name == name)
    ).first()
    return int(row[0]) if row else 0


def create_account(
    conn: Connection,
    sealer: Sealer,
    *,
    name: str,
    email: str | None = None,
    account_id: str | None = None,
    is_management: bool = False,
    joined_method: str = "CREATED",
    organization_id: str | None = None,
    root_access_key_id: str | None = None,
    root_secret: str | None = None,
) -> NewAccount:
    """Create an account with its root user and one root access key."""
    name = name.strip()
    if not name or len(name) > 50:
        raise AwsError("InvalidInputException", "The account name must be 1 to 50 characters.")
    if account_id is None:
        while True:
            account_id = ids.account_id()
            if get_account(conn, account_id) is None:
                break
    else:
        _validate_account_id(account_id)
        if get_account(conn, account_id) is not None:
            raise AwsError(
                "DuplicateAccountException", f"Account {account_id} already exists.", 409
            )
    email = email or f"{account_id}@accounts.trailgate.invalid"
    created = now()
    conn.execute(
        schema.accounts.insert().values(
            id=account_id,
            name=name,
            email=email,
            status="ACTIVE",
            joined_method=joined_method,
            is_management=is_management,
            organization_id=organization_id,
            created_at=created,
        )
    )
    akid, secret = insert_access_key(
        conn,
        sealer,
        account_id=account_id,
        user_id=None,
        access_key_id=root_access_key_id,
        secret=root_secret,
    )
    account = Account(
        account_id, name, email, "ACTIVE", joined_method, is_management, None, created,
        organization_id,
    )
    return NewAccount(account, akid, secret)


def count_accounts(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(schema.accounts)).scalar_one())


def _random_lower(n: int) -> str:
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def setting(conn: Connection, key: str) -> str | None:
    row = conn.execute(
        select(schema.settings.c.value).where(schema.settings.c.key == key)
    ).first()
    return row[0] if row else None


@dataclass(frozen=True)
class Bootstrap:
    management_account_id: str
    created: NewAccount | None  # set only on the start that created the management account
    credentials_file: Path | None


def ensure_bootstrapped(db: Database, sealer: Sealer, data_dir: Path) -> Bootstrap:
    """Create the management account and its root key on first start, and install or update
    the AWS managed policies; nothing else afterwards."""
    from trailgate.services.iam.managed_aws import ensure_aws_managed_policies

    with db.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7478210003)")
        ensure_aws_managed_policies(conn)
    with db.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7478210002)")
        existing = management_account_id(conn)
        if existing:
            return Bootstrap(existing, None, None)
        env_key = os.environ.get(ROOT_KEY_ID_ENV)
        env_secret = os.environ.get(ROOT_SECRET_ENV)
        if bool(env_key) != bool(env_secret):
            raise SystemExit(f"set both {ROOT_KEY_ID_ENV} and {ROOT_SECRET_ENV}, or neither")
        org_id = "o-" + _random_lower(10)
        root_id = "r-" + _random_lower(4)
        created = create_account(
            conn,
            sealer,
            name="management",
            is_management=True,
            organization_id=org_id,
            root_access_key_id=env_key or None,
            root_secret=env_secret or None,
        )
        conn.execute(
            schema.settings.insert().values(
                key="management_account_id", value=created.account.id
            )
        )
        conn.execute(schema.settings.insert().values(key="organization_id", value=org_id))
        conn.execute(schema.settings.insert().values(key="organization_root_id", value=root_id))
    path: Path | None = None
    if not env_key:
        path = write_credentials_file(data_dir, created)
    return Bootstrap(created.account.id, created, path)


def write_credentials_file(data_dir: Path, created: NewAccount) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / ROOT_CREDENTIALS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(created.as_json(), fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    return path
