"""Fixtures of the CloudTrail tests: a server that delivers every second and digests every two,
and the world of accounts A, B and C whose trails deliver into A's bucket."""

from __future__ import annotations

import pytest
from trail_support import FAST, World, build_world

from trailgate.testing.server import ServerProcess


@pytest.fixture
def fast_server(server_factory: object) -> ServerProcess:
    return server_factory(extra_args=list(FAST))  # type: ignore[operator]


@pytest.fixture
def world(fast_server: ServerProcess) -> World:
    return build_world(fast_server)
