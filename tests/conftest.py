"""Shared fixtures: a store on SQLite (default) or on PostgreSQL when TRAILGATE_TEST_DATABASE_URL
is set, and a running `trailgate serve` on a free loopback port."""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from trailgate.testing.server import ServerProcess, create_database, drop_database, start_server

PG_BASE_URL = os.environ.get("TRAILGATE_TEST_DATABASE_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests that touch the store run twice in CI: on SQLite, then on PostgreSQL (-m postgres).
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if {"database_url", "server", "server_factory", "crash_server"} & fixtures:
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


@pytest.fixture
def crash_server() -> Iterator[Callable[..., ServerProcess]]:
    """Starts servers that a test may SIGKILL and restart (state kept in between), all on one
    store (a fresh PostgreSQL database when configured); stops them and removes the store."""
    database_url = create_database(PG_BASE_URL) if PG_BASE_URL else None
    servers: list[ServerProcess] = []

    def start(**kwargs: Any) -> ServerProcess:
        server = start_server(database_url=database_url, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop(keep_state=True)
    if servers:
        shutil.rmtree(servers[0].data_dir, ignore_errors=True)
    if database_url:
        drop_database(database_url)


def kill_under_load(
    server: ServerProcess,
    worker: Callable[[int, threading.Event], None],
    *,
    threads: int,
    delay: tuple[float, float],
) -> None:
    """Run `worker(index, stop)` in `threads` threads, SIGKILL the server after a random delay
    in `delay` seconds, then set `stop` and wait for the threads."""
    stop = threading.Event()
    running = [threading.Thread(target=worker, args=(i, stop)) for i in range(threads)]
    for thread in running:
        thread.start()
    time.sleep(random.uniform(*delay))
    server.kill()
    stop.set()
    for thread in running:
        thread.join(timeout=30)
