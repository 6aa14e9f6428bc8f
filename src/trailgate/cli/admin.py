"""`trailgate admin ...`: operator commands that work directly on the store, also while serving."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from trailgate.errors import AwsError
from trailgate.services import accounts
from trailgate.store.db import open_database
from trailgate.store.migrations import migrate
from trailgate.store.sealing import Sealer, load_master_key


def add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=Path(".trailgate"))
    parser.add_argument("--database-url", default=None)


def register(sub: Any) -> None:
    admin = sub.add_parser("admin", help="operator commands on the store")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    account = admin_sub.add_parser("account", help="accounts")
    account_sub = account.add_subparsers(dest="account_command", required=True)

    create = account_sub.add_parser("create", help="create an account with its root access key")
    create.add_argument("--name", required=True)
    create.add_argument("--id", dest="account_id", default=None)
    create.add_argument("--email", default=None)
    create.add_argument("--json", action="store_true")
    add_store_options(create)
    create.set_defaults(func=_create)

    listing = account_sub.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true")
    add_store_options(listing)
    listing.set_defaults(func=_list)


def _open(args: argparse.Namespace) -> tuple[Any, Sealer]:
    db = open_database(args.database_url, args.data_dir)
    migrate(db)
    sealer = Sealer(load_master_key(args.data_dir))
    accounts.ensure_bootstrapped(db, sealer, args.data_dir)
    return db, sealer


def _create(args: argparse.Namespace) -> int:
    db, sealer = _open(args)
    try:
        with db.begin() as conn:
            created = accounts.create_account(
                conn, sealer, name=args.name, email=args.email, account_id=args.account_id
            )
    except AwsError as exc:
        print(f"error: {exc.message}")
        return 1
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(created.as_json()))
    else:
        for key, value in created.as_json().items():
            print(f"{key}: {value}")
    return 0


def _list(args: argparse.Namespace) -> int:
    db, _ = _open(args)
    try:
        with db.read() as conn:
            rows = accounts.list_accounts(conn)
    finally:
        db.dispose()
    items = [
        {
            "Id": a.id,
            "Name": a.name,
            "Email": a.email,
            "Status": a.status,
            "Management": a.is_management,
        }
        for a in rows
    ]
    if args.json:
        print(json.dumps(items))
    else:
        for item in items:
            mark = " (management)" if item["Management"] else ""
            print(f"{item['Id']}  {item['Name']}{mark}")
    return 0
