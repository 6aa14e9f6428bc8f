"""`trailgate policy validate | simulate`: the policy engine from the command line.

    trailgate policy validate FILE [--kind identity|resource|trust|boundary|session|scp]
    trailgate policy simulate --principal ARN --action ACTION --resource ARN
        [--identity-policy FILE]... [--resource-policy FILE] [--boundary FILE]
        [--session-policy FILE] [--scp-level FILE [FILE ...]]... [--resource-account ID]
        [--context KEY=VALUE]... [--json]
    trailgate policy simulate --batch FILE|-

`validate` prints "valid" and exits 0, or prints the messages and exits 1. `simulate` prints the
decision and its explanation and exits 0 whatever the decision (1 for unusable input). A
`--context` key given several times is a multivalued key; a VALUE written as a JSON list
(`aws:TagKeys=["a"]`) is multivalued too. The resource policy is read as a role trust policy
when the action is of the sts:AssumeRole family and the resource a role ARN.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from trailgate.policy import PolicyKind, validate_policy

_KINDS = [kind.value for kind in PolicyKind]


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _validate(args: argparse.Namespace) -> int:
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    # Bytes: the validator reports text that is not UTF-8 the way IAM does.
    messages = validate_policy(data, PolicyKind(args.kind))
    if not messages:
        print("valid")
        return 0
    for message in messages:
        print(message)
    return 1


def parse_context(pairs: list[str]) -> dict[str, Any]:
    """KEY=VALUE pairs; a key given several times (or a JSON-list VALUE) is multivalued."""
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--context needs KEY=VALUE, got {pair!r}")
        parsed: Any = value
        if value.startswith("["):
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                parsed = value
            if not isinstance(parsed, list):
                parsed = value
        if key in context:
            previous = context[key]
            previous = previous if isinstance(previous, list) else [previous]
            context[key] = previous + (parsed if isinstance(parsed, list) else [parsed])
        else:
            context[key] = parsed
    return context


def _simulate_one(args: argparse.Namespace) -> int:
    from trailgate.policy.batch import BatchSimulator, CaseError
    from trailgate.policy.evaluate import evaluate

    missing = [name for name in ("principal", "action", "resource")
               if not getattr(args, name)]
    if missing:
        print("simulate needs " + ", ".join(f"--{name}" for name in missing)
              + " (or --batch FILE)", file=sys.stderr)
        return 2
    try:
        context = parse_context(args.context)
        case: dict[str, Any] = {
            "request": {
                "principal": args.principal, "action": args.action,
                "resource": args.resource, "resourceAccount": args.resource_account,
                "context": context,
            },
            "identityPolicies": [
                {"name": path, "policy": _read(path)} for path in args.identity_policy
            ],
            "resourcePolicy": (
                {"name": args.resource_policy, "policy": _read(args.resource_policy)}
                if args.resource_policy else None
            ),
            "permissionBoundaries": (
                [{"name": args.boundary, "policy": _read(args.boundary)}]
                if args.boundary else []
            ),
            "sessionPolicy": (
                {"name": args.session_policy, "policy": _read(args.session_policy)}
                if args.session_policy else None
            ),
            "scps": [
                [{"name": path, "policy": _read(path)} for path in level]
                for level in args.scp_level
            ],
        }
        request, policies = BatchSimulator().build(case)
    except (OSError, ValueError, CaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    result = evaluate(request, policies)
    if args.json:
        print(json.dumps({"decision": result.decision.value, "explanation": result.to_dict()},
                         indent=2))
    else:
        print(result.explain())
    return 0


def _simulate_batch(args: argparse.Namespace) -> int:
    from trailgate.policy.batch import BatchSimulator

    simulator = BatchSimulator()
    try:
        source = sys.stdin if args.batch == "-" else open(args.batch, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        print(f"cannot read {args.batch}: {exc.strerror}", file=sys.stderr)
        return 1
    out = sys.stdout
    try:
        buffer: list[str] = []
        for line in simulator.run(source):
            buffer.append(line)
            if len(buffer) >= 1024:
                out.write("\n".join(buffer) + "\n")
                buffer.clear()
        if buffer:
            out.write("\n".join(buffer) + "\n")
        out.flush()
    finally:
        if source is not sys.stdin:
            source.close()
    return 0


def _simulate(args: argparse.Namespace) -> int:
    if args.batch is not None:
        return _simulate_batch(args)
    return _simulate_one(args)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "policy", help="validate and simulate IAM policies",
        description="Validate IAM policy documents and simulate authorization decisions.")
    parser.set_defaults(func=lambda args: parser.print_help() or 0)
    commands = parser.add_subparsers(dest="policy_command")

    validate = commands.add_parser("validate", help="check a policy document")
    validate.add_argument("file", help="the policy document (JSON), - for standard input")
    validate.add_argument("--kind", choices=_KINDS, default=PolicyKind.IDENTITY.value,
                          help="where the document is attached (default: identity)")
    validate.set_defaults(func=_validate)

    simulate = commands.add_parser(
        "simulate", help="decide one request, or a batch of JSON-lines cases")
    simulate.add_argument("--principal", help="who asks: an ARN, an account id, or anonymous")
    simulate.add_argument("--action", help="the action, e.g. s3:GetObject")
    simulate.add_argument("--resource", help="the resource ARN (or *)")
    simulate.add_argument("--identity-policy", action="append", default=[], metavar="FILE",
                          help="an identity-based policy (repeatable)")
    simulate.add_argument("--resource-policy", metavar="FILE",
                          help="the resource's policy (a trust policy for sts:AssumeRole)")
    simulate.add_argument("--boundary", metavar="FILE", help="the permissions boundary")
    simulate.add_argument("--session-policy", metavar="FILE", help="the session policy")
    simulate.add_argument("--scp-level", action="append", nargs="+", default=[],
                          metavar="FILE",
                          help="the SCPs of one organisation level (repeat per level, root first)")
    simulate.add_argument("--resource-account", metavar="ID",
                          help="the account owning the resource (default: from the ARN, "
                               "else the principal's)")
    simulate.add_argument("--context", action="append", default=[], metavar="KEY=VALUE",
                          help="a condition key (repeat a key for several values)")
    simulate.add_argument("--json", action="store_true", help="print JSON")
    simulate.add_argument("--batch", metavar="FILE",
                          help="JSON-lines cases to decide, - for standard input")
    simulate.set_defaults(func=_simulate)
