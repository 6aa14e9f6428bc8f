"""Test support for trailgate and for its users: start an isolated server, get ready clients."""

from trailgate.testing.server import ServerProcess, free_port, start_server

__all__ = ["ServerProcess", "free_port", "start_server"]
