"""An isolated `trailgate serve` in a subprocess on a free loopback port, stopped by its PID.

Each server gets its own data dir and, when a PostgreSQL URL is given, its own fresh database
(created here, dropped on stop), so servers never share state by accident.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _admin_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def create_database(base_url: str) -> str:
    """A new empty database on the server of `base_url`; returns its URL."""
    import psycopg

    name = "tg_" + secrets.token_hex(6)
    with psycopg.connect(_admin_url(base_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    prefix, _, _ = _admin_url(base_url).rpartition("/")
    return f"{prefix}/{name}"


def drop_database(url: str) -> None:
    import psycopg

    prefix, _, name = _admin_url(url).rpartition("/")
    with psycopg.connect(f"{prefix}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class ServerProcess:
    """A running server; `endpoint` is its URL, `root` the management root's credentials."""

    process: subprocess.Popen[bytes]
    endpoint: str
    port: int
    data_dir: Path
    database_url: str | None
    root: dict[str, str]
    management_account_id: str
    log_path: Path
    owns_data_dir: bool = True
    owns_database: bool = False
    extra_args: list[str] = field(default_factory=list)

    def admin(self, *args: str) -> dict[str, Any] | list[Any]:
        """Run `trailgate admin ... --json` against this server's store."""
        cmd = [sys.executable, "-m", "trailgate", "admin", *args, "--json", *self.store_args()]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60)
        return json.loads(out.stdout)

    def create_account(self, name: str, account_id: str | None = None) -> dict[str, str]:
        args = ["account", "create", "--name", name]
        if account_id:
            args += ["--id", account_id]
        result = self.admin(*args)
        assert isinstance(result, dict)
        return result

    def store_args(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def advance_clock(self, seconds: float) -> None:
        req = urllib.request.Request(
            f"{self.endpoint}/_trailgate/clock",
            data=json.dumps({"advance": seconds}).encode(),
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, *, keep_state: bool = False) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        if keep_state:
            return
        if self.owns_database and self.database_url:
            drop_database(self.database_url)
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL, as a crash would; state is kept for a restart."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=15)

    def restart(self) -> ServerProcess:
        """A new server process on the same port and store; this object then stands for it
        (so whoever stops this object stops the new process)."""
        self.stop(keep_state=True)
        fresh = start_server(
            data_dir=self.data_dir,
            database_url=self.database_url,
            port=self.port,
            extra_args=self.extra_args,
            _owns_database=self.owns_database,
        )
        self.process = fresh.process
        self.root = fresh.root or self.root
        self.management_account_id = fresh.management_account_id
        return self

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    *,
    data_dir: Path | None = None,
    database_url: str | None = None,
    port: int | None = None,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
    _owns_database: bool = False,
) -> ServerProcess:
    """Start `trailgate serve` on 127.0.0.1 and wait until /_trailgate/health answers 200.

    `database_url` names a PostgreSQL server to use as is; pass `fresh_database(url)` for an
    isolated one.
    """
    owns_dir = data_dir is None
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="trailgate-"))
    port = port or free_port()
    log_path = data_dir / "server.log"
    cmd = [
        sys.executable, "-m", "trailgate", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir),
        *(extra_args or []),
    ]  # fmt: skip
    if database_url:
        cmd += ["--database-url", database_url]
    proc_env = dict(os.environ)
    proc_env.update(env or {})
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")  # noqa: SIM115 - the child process owns the handle
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=proc_env)
    log.close()
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{endpoint}/_trailgate/health", timeout=2) as resp:
                if resp.status == 200:
                    health = json.loads(resp.read())
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"server did not become healthy:\n{log_path.read_text()}")
        time.sleep(0.05)
    creds_file = data_dir / "root-credentials.json"
    root: dict[str, str] = {}
    if creds_file.exists():
        root = json.loads(creds_file.read_text())
    if env and env.get("TRAILGATE_ROOT_ACCESS_KEY_ID"):
        root = {
            "AccountId": health["managementAccountId"],
            "RootAccessKeyId": env["TRAILGATE_ROOT_ACCESS_KEY_ID"],
            "RootSecretAccessKey": env["TRAILGATE_ROOT_SECRET_ACCESS_KEY"],
        }
    return ServerProcess(
        process=process,
        endpoint=endpoint,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        root=root,
        management_account_id=health["managementAccountId"],
        log_path=log_path,
        owns_data_dir=owns_dir,
        owns_database=_owns_database,
        extra_args=list(extra_args or []),
    )


def fresh_database(base_url: str) -> str:
    return create_database(base_url)
