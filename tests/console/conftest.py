"""Fixtures of the console tests: a server (tests/conftest.py's `server`, with the test clock)
whose management account has an administrator `admin` with a console password."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from console_support import ADMIN_POLICY, Console, make_console_user

from trailgate.testing.server import ServerProcess


@pytest.fixture
def admin_server(server: ServerProcess) -> ServerProcess:
    make_console_user(server, "admin", policy_arns=(ADMIN_POLICY,))
    return server


@pytest.fixture
def admin(admin_server: ServerProcess) -> Iterator[Console]:
    console = Console.open(admin_server)
    response = console.signin("admin")
    assert response.status_code == 303, response.text
    yield console
    console.close()
