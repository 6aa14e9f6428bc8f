"""Shared fixtures: a store on SQLite (default) or on PostgreSQL when TRAILGATE_TEST_DATABASE_URL
is set, and a running `trailgate serve` on a free loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from trailgate.testing.server import ServerProcess, create_database, drop_database, start_server

PG_BASE_URL = os.environ.get("TRAILGATE_TEST_DATABASE_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests that touch the store run twice in CI: on SQLite, then on PostgreSQL (-m postgres).
    for item in items:
        if {"database_url", "server", "server_factory"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a new PostgreSQL database or a new SQLite file."""
    if PG_BASE_URL:
        url = create_database(PG_BASE_URL)
        try:
            yield url
        finally:
            drop_database(url)
    else:
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[object]:
    """Starts servers on demand (each with its own data dir and database); stops them all."""
    started: list[ServerProcess] = []
    databases: list[str] = []

    def start(**kwargs: object) -> ServerProcess:
        if PG_BASE_URL and "database_url" not in kwargs:
            url = create_database(PG_BASE_URL)
            databases.append(url)
            kwargs["database_url"] = url
        server = start_server(**kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(keep_state=True)
        import shutil

        shutil.rmtree(server.data_dir, ignore_errors=True)
    for url in databases:
        drop_database(url)


@pytest.fixture
def server(server_factory: object) -> ServerProcess:
    return server_factory(extra_args=["--test-clock"])  # type: ignore[operator]
