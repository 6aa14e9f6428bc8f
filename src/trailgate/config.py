"""Server configuration: one frozen value built by the CLI and handed to every worker process."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

CONFIG_ENV = "TRAILGATE_SERVER_CONFIG"

_OFF = ("0", "off", "false", "no")


def env_switch(name: str, default: bool | None) -> bool | None:
    """An on/off environment setting: "0", "off", "false" or "no" (any case) is off, any other
    value on; unset, empty or "auto" gives `default` (None: the caller decides)."""
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "auto"):
        return default
    return value not in _OFF


@dataclass(frozen=True)
class Config:
    data_dir: Path = Path(".trailgate")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 4566
    workers: int = 1
    region: str = "us-east-1"
    trail_delivery_interval: float = 300.0
    digest_interval: float = 3600.0
    # Host suffixes under which `<bucket>.<suffix>` is virtual-hosted-style S3.
    s3_host_suffixes: tuple[str, ...] = field(
        default=("localhost", "s3.amazonaws.com", "s3.localhost.localstack.cloud")
    )
    # Lets tests move the server's clock forward (POST /_trailgate/clock); never on by default.
    test_clock: bool = False

    def to_env(self) -> str:
        data = asdict(self)
        data["data_dir"] = str(self.data_dir)
        data["s3_host_suffixes"] = list(self.s3_host_suffixes)
        return json.dumps(data)

    @classmethod
    def from_env(cls) -> Config:
        raw = os.environ.get(CONFIG_ENV)
        if not raw:
            return cls()
        data = json.loads(raw)
        data["data_dir"] = Path(data["data_dir"])
        data["s3_host_suffixes"] = tuple(data["s3_host_suffixes"])
        return cls(**data)
