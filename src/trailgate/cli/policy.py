"""`trailgate policy validate | simulate`: the policy engine from the command line."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser("policy", help="validate and simulate IAM policies")
    parser.set_defaults(func=lambda args: parser.print_help())
