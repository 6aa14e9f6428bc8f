"""The metadata store: migrations, sealing of secrets, accounts and first-start bootstrap."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from trailgate.errors import AwsError
from trailgate.services import accounts
from trailgate.store import schema
from trailgate.store.db import Database
from trailgate.store.migrations import LATEST, SchemaTooNew, current_version, migrate
from trailgate.store.sealing import Sealer, load_master_key


def test_migrate_creates_schema_once_and_is_idempotent(database_url: str) -> None:
    db = Database(database_url)
    assert migrate(db) == LATEST
    assert migrate(db) == LATEST
    with db.read() as conn:
        assert current_version(conn) == LATEST
    db.dispose()


def test_version_6_adds_row_bodies_to_an_older_store(database_url: str) -> None:
    db = Database(database_url)
    migrate(db)
    with db.begin() as conn:  # the store as version 5 left it: no body column
        for table in ("s3_objects", "s3_object_versions"):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN body")
        conn.execute(
            schema.settings.update()
            .where(schema.settings.c.key == "schema_version")
            .values(value="5")
        )
    assert migrate(db) == LATEST == 6
    with db.read() as conn:
        for table in ("s3_objects", "s3_object_versions"):
            columns = {c["name"] for c in inspect(conn).get_columns(table)}
            assert "body" in columns
    db.dispose()


def test_refuses_a_newer_schema(database_url: str) -> None:
    db = Database(database_url)
    migrate(db)
    with db.begin() as conn:
        conn.execute(
            schema.settings.update()
            .where(schema.settings.c.key == "schema_version")
            .values(value=str(LATEST + 1))
        )
    with pytest.raises(SchemaTooNew):
        migrate(db)
    db.dispose()


def test_sealed_secret_is_bound_to_its_row(tmp_path: Path) -> None:
    sealer = Sealer(load_master_key(tmp_path))
    sealed = sealer.seal("s3cr3t", "AKIAEXAMPLE")
    assert b"s3cr3t" not in sealed
    assert sealer.open(sealed, "AKIAEXAMPLE") == "s3cr3t"
    with pytest.raises(Exception):  # noqa: B017 - any authentication failure of AES-GCM
        sealer.open(sealed, "AKIAOTHER")
    assert stat.S_IMODE((tmp_path / "master.key").stat().st_mode) == 0o600
    # The same key is read back on the next start.
    assert Sealer(load_master_key(tmp_path)).open(sealed, "AKIAEXAMPLE") == "s3cr3t"


def test_bootstrap_creates_management_account_once(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(accounts.ROOT_KEY_ID_ENV, raising=False)
    monkeypatch.delenv(accounts.ROOT_SECRET_ENV, raising=False)
    db = Database(database_url)
    migrate(db)
    sealer = Sealer(load_master_key(tmp_path))
    first = accounts.ensure_bootstrapped(db, sealer, tmp_path)
    assert first.created is not None
    assert first.credentials_file is not None
    assert stat.S_IMODE(first.credentials_file.stat().st_mode) == 0o600
    creds = json.loads(first.credentials_file.read_text())
    assert creds["AccountId"] == first.management_account_id
    assert creds["RootAccessKeyId"].startswith("AKIA") and len(creds["RootAccessKeyId"]) == 20
    assert len(creds["RootSecretAccessKey"]) == 40
    second = accounts.ensure_bootstrapped(db, sealer, tmp_path)
    assert second.created is None
    assert second.management_account_id == first.management_account_id
    with db.read() as conn:
        listed = accounts.list_accounts(conn)
        row = conn.execute(
            select(schema.access_keys).where(
                schema.access_keys.c.access_key_id == creds["RootAccessKeyId"]
            )
        ).one()
    assert [a.id for a in listed] == [first.management_account_id]
    assert listed[0].is_management and listed[0].organization_id.startswith("o-")
    # Stored sealed, never in clear.
    assert creds["RootSecretAccessKey"].encode() not in row.secret_sealed
    assert sealer.open(row.secret_sealed, row.access_key_id) == creds["RootSecretAccessKey"]
    db.dispose()


def test_bootstrap_takes_root_key_from_environment(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(accounts.ROOT_KEY_ID_ENV, "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv(accounts.ROOT_SECRET_ENV, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    db = Database(database_url)
    migrate(db)
    sealer = Sealer(load_master_key(tmp_path))
    boot = accounts.ensure_bootstrapped(db, sealer, tmp_path)
    assert boot.credentials_file is None
    assert not (tmp_path / accounts.ROOT_CREDENTIALS_FILE).exists()
    with db.read() as conn:
        row = conn.execute(
            select(schema.access_keys).where(
                schema.access_keys.c.access_key_id == "AKIAIOSFODNN7EXAMPLE"
            )
        ).one()
    assert row.user_id is None and row.account_id == boot.management_account_id
    db.dispose()


def test_create_account_rules(database_url: str, tmp_path: Path) -> None:
    db = Database(database_url)
    migrate(db)
    sealer = Sealer(load_master_key(tmp_path))
    with db.begin() as conn:
        made = accounts.create_account(conn, sealer, name="B", account_id="222222222222")
    assert made.account.id == "222222222222"
    for bad in ("12345", "abcdefghijkl", "1234567890123"):
        with pytest.raises(AwsError), db.begin() as conn:
            accounts.create_account(conn, sealer, name="X", account_id=bad)
    with pytest.raises(AwsError) as dup, db.begin() as conn:
        accounts.create_account(conn, sealer, name="again", account_id="222222222222")
    assert dup.value.code == "DuplicateAccountException"
    with db.read() as conn:
        assert accounts.count_accounts(conn) == 1
    db.dispose()
