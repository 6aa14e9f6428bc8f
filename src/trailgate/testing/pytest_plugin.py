"""pytest fixtures for testing designs against trailgate (registered as the `trailgate` plugin).

- `trailgate_server`: one server for the whole test session (fast).
- `trailgate`: a `Trailgate` handle on it; each test creates its own accounts, so tests do not
  see each other's users or roles.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from trailgate.testing.world import Trailgate


@pytest.fixture(scope="session")
def trailgate_server() -> Iterator[Trailgate]:
    with Trailgate() as tg:
        yield tg


@pytest.fixture
def trailgate(trailgate_server: Trailgate) -> Trailgate:
    return trailgate_server
