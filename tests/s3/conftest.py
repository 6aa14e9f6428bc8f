"""Fixtures for the S3 tests: one real `trailgate serve` per test module (on SQLite, or on a fresh
PostgreSQL database when TRAILGATE_TEST_DATABASE_URL is set), boto3 clients for account roots,
and fresh bucket names."""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from trailgate.testing.server import ServerProcess, create_database, drop_database, start_server

PG_BASE_URL = os.environ.get("TRAILGATE_TEST_DATABASE_URL")
NO_RETRY = {"max_attempts": 1, "mode": "standard"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "s3server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="module")
def s3server() -> Iterator[ServerProcess]:
    database_url = create_database(PG_BASE_URL) if PG_BASE_URL else None
    server = start_server(database_url=database_url, extra_args=["--test-clock"])
    try:
        yield server
    finally:
        server.stop()
        if database_url:
            drop_database(database_url)


def make_client(
    server: ServerProcess,
    key: str,
    secret: str,
    *,
    region: str = "us-east-1",
    style: str = "path",
    token: str | None = None,
    **config: Any,
) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(s3={"addressing_style": style}, retries=NO_RETRY, **config),
    )


@pytest.fixture(scope="module")
def s3(s3server: ServerProcess) -> Any:
    """The management account's root."""
    return make_client(s3server, s3server.root["RootAccessKeyId"],
                       s3server.root["RootSecretAccessKey"])


@pytest.fixture(scope="module")
def account_b(s3server: ServerProcess) -> dict[str, str]:
    return s3server.create_account("account-b")


@pytest.fixture(scope="module")
def s3_b(s3server: ServerProcess, account_b: dict[str, str]) -> Any:
    return make_client(s3server, account_b["RootAccessKeyId"], account_b["RootSecretAccessKey"])


_counter = itertools.count()


@pytest.fixture
def bucket_name() -> Callable[[], str]:
    def make() -> str:
        return f"tg-{secrets.token_hex(4)}-{next(_counter)}"

    return make


@pytest.fixture
def bucket(s3: Any, bucket_name: Callable[[], str]) -> str:
    name = bucket_name()
    s3.create_bucket(Bucket=name)
    return name
