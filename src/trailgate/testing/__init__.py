"""Test support for trailgate and for its users: start an isolated server, get ready clients."""

from trailgate.testing.server import ServerProcess, free_port, start_server
from trailgate.testing.world import Account, Role, Session, Trailgate, User

__all__ = [
    "Account",
    "Role",
    "ServerProcess",
    "Session",
    "Trailgate",
    "User",
    "free_port",
    "start_server",
]
