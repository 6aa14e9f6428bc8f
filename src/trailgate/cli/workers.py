"""`trailgate serve --workers N`: N uvicorn worker processes, each with a listening socket of its
own on the same port (SO_REUSEPORT), under a small supervisor.

uvicorn's own supervisor hands every worker the same listening socket; the worker whose event
loop wakes first then accepts every pending connection, so a client that opens its keep-alive
connections at once (a load generator, a connection pool) often lands 12 or 14 of 16 of them on
one worker, leaving the other cores idle. With a socket per worker the kernel spreads new
connections over the workers by their address hash.

The supervisor restarts a worker that dies (with the same socket), stops when a worker fails to
start (exit code 3, as uvicorn's), and on SIGTERM/SIGINT stops every worker and waits for them;
workers also stop when the supervisor dies without that (SIGKILL).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
from typing import Any

log = logging.getLogger("trailgate.serve")

STARTUP_FAILURE = 3


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets listening on host:port together (the kernel picks one per connection)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    for _ in range(count):
        # IPPROTO_TCP given explicitly: asyncio sets TCP_NODELAY on accepted connections only
        # for sockets whose proto says TCP (else every keep-alive reply waits for a delayed ACK).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


def _die_with(parent: int) -> None:
    """Have the kernel send SIGTERM to this worker when the supervisor dies, even by SIGKILL
    (Linux's PR_SET_PDEATHSIG), so no orphaned worker keeps serving the port."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the supervisor's own stop is all there is
        return
    if os.getppid() != parent:  # the supervisor died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _worker(uv_config: Any, sock: socket.socket, parent: int) -> None:
    import sys

    import uvicorn

    _die_with(parent)
    server = uvicorn.Server(uv_config)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def supervise(uv_config: Any, sockets: list[socket.socket]) -> int:
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()

    def start(sock: socket.socket) -> Any:
        process = context.Process(
            target=_worker, args=(uv_config, sock, os.getpid()), daemon=False
        )
        process.start()
        return process

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    processes = [start(sock) for sock in sockets]
    status = 0
    while not stop.wait(0.5):
        for index, process in enumerate(processes):
            if process.is_alive():
                continue
            if process.exitcode == STARTUP_FAILURE:
                log.error("worker %s failed to start; stopping", process.pid)
                status = STARTUP_FAILURE
                stop.set()
                break
            log.warning("worker %s exited with %s; starting another", process.pid, process.exitcode)
            processes[index] = start(sockets[index])
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn's graceful shutdown (runtime closed)
    for process in processes:
        process.join(30)
        if process.is_alive():
            process.kill()
            process.join()
    return status
