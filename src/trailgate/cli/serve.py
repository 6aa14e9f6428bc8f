"""`trailgate serve`: migrate and bootstrap the store, then run the ASGI app under uvicorn."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

from trailgate.config import CONFIG_ENV, Config

log = logging.getLogger("trailgate.serve")

# TRAILGATE_HTTP=h11 forces the pure-Python stack (h11 + asyncio), e.g. for A/B measurements.
HTTP_STACK_ENV = "TRAILGATE_HTTP"


def register(sub: Any) -> None:
    parser = sub.add_parser("serve", help="run the AWS-compatible endpoint")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--data-dir", type=Path, default=Path(".trailgate"))
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--trail-delivery-interval", type=float, default=300.0)
    parser.add_argument("--digest-interval", type=float, default=3600.0)
    parser.add_argument(
        "--s3-host-suffix",
        action="append",
        default=None,
        help="host suffix for virtual-hosted-style S3 (repeatable)",
    )
    parser.add_argument(
        "--test-clock",
        action="store_true",
        help="allow POST /_trailgate/clock to move the clock forward (tests only)",
    )
    parser.set_defaults(func=run)


def build_config(args: argparse.Namespace) -> Config:
    kwargs: dict[str, Any] = {}
    if args.s3_host_suffix:
        kwargs["s3_host_suffixes"] = tuple(args.s3_host_suffix)
    return Config(
        data_dir=args.data_dir.resolve(),
        database_url=args.database_url or os.environ.get("TRAILGATE_DATABASE_URL"),
        host=args.host,
        port=args.port,
        workers=args.workers,
        region=args.region,
        trail_delivery_interval=args.trail_delivery_interval,
        digest_interval=args.digest_interval,
        test_clock=args.test_clock,
        **kwargs,
    )


def prepare_store(config: Config) -> str:
    """Migrate and bootstrap before any worker starts; returns the management account id."""
    from trailgate.services import accounts
    from trailgate.store.db import open_database
    from trailgate.store.migrations import migrate
    from trailgate.store.sealing import Sealer, load_master_key

    db = open_database(config.database_url, config.data_dir)
    try:
        migrate(db)
        sealer = Sealer(load_master_key(config.data_dir))
        boot = accounts.ensure_bootstrapped(db, sealer, config.data_dir)
    finally:
        db.dispose()
    if boot.created is not None:
        creds = boot.created.as_json()
        # Printed once, on the start that created the account; afterwards only the 0600 file has it.
        print("trailgate: created the management account", creds["AccountId"], file=sys.stderr)
        if boot.credentials_file is not None:
            print(f"  root access key id:     {creds['RootAccessKeyId']}", file=sys.stderr)
            print(f"  root secret access key: {creds['RootSecretAccessKey']}", file=sys.stderr)
            print(f"  (also written to {boot.credentials_file}, mode 0600)", file=sys.stderr)
    return boot.management_account_id


def http_stack() -> tuple[Any, str]:
    """uvicorn's (http protocol, event loop).

    httptools when installed (uvicorn[standard]), through `uvicorn_http`'s subclass that keeps
    an absolute-form request's target, so a request sent to trailgate as an HTTP proxy is routed
    by the URI's host as RFC 9112 requires; else h11, which passes that target as it is.
    `TRAILGATE_HTTP=h11` forces the pure-Python parser. The loop is uvloop when installed.
    """
    choice = os.environ.get(HTTP_STACK_ENV, "httptools").lower()
    loop = "asyncio"
    try:
        importlib.import_module("uvloop")
        loop = "uvloop"
    except ImportError:
        pass
    if choice != "h11":
        try:
            from trailgate.uvicorn_http import AbsoluteFormHttpToolsProtocol

            return AbsoluteFormHttpToolsProtocol, loop
        except ImportError:
            pass
    return "h11", loop


def run(args: argparse.Namespace) -> int:
    import uvicorn

    config = build_config(args)
    prepare_store(config)
    os.environ[CONFIG_ENV] = config.to_env()
    http, loop = http_stack()
    log.debug("uvicorn http=%s loop=%s", http, loop)
    uv_config = uvicorn.Config(
        "trailgate.server:create_app",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        http=http,
        loop=loop,
        log_level="warning",
        access_log=False,
        lifespan="on",
        server_header=False,
        date_header=True,
    )
    if config.workers <= 1:
        server = uvicorn.Server(uv_config)
        server.run()
        return 0 if server.started else 3
    from trailgate.cli.workers import listening_sockets, supervise

    return supervise(uv_config, listening_sockets(config.host, config.port, config.workers))
