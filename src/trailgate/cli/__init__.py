"""The `trailgate` command line: `serve`, `demo`, `admin` and `policy` subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trailgate", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    from trailgate.cli import policy as policy_cmd

    policy_cmd.register(sub)
    for name in ("serve", "admin", "demo"):
        try:
            module = __import__(f"trailgate.cli.{name}", fromlist=["register"])
        except ImportError:
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
