"""Decisions per second of the policy engine on one core (no timed assertions).

(a) the seed's policies: CloudTrail log sharing between accounts (A owns the bucket and the
    roles; B and C read their own logs, Z, a third party, reads everything with an external ID);
(b) 100 identity policies of 20 statements each, every statement with conditions, evaluated
    together for one principal.

    python bench/policy_bench.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence

from trailgate.policy import (
    AuthzRequest,
    PolicyKind,
    PolicySet,
    PrincipalInfo,
    compile_policy,
    evaluate,
)

A, B, C, Z = "111111111111", "222222222222", "333333333333", "444444444444"
BUCKET = "ct-central-111111111111"
EXTERNAL_ID = "Z-ext-4242"


def _v(statements: list[dict[str, object]]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": statements}


def seed_cases() -> list[tuple[AuthzRequest, PolicySet]]:
    user_assume = {
        account: compile_policy(_v([{"Effect": "Allow", "Action": ["sts:AssumeRole"],
                                     "Resource": f"arn:aws:iam::{A}:role/{name}"}]),
                                PolicyKind.IDENTITY, f"{name}-user-assume")
        for account, name in ((B, "LogsB"), (C, "LogsC"), (Z, "LogsZ"))
    }
    trust = {
        account: compile_policy(_v([{"Sid": "", "Effect": "Allow",
                                     "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                                     "Action": "sts:AssumeRole"}]), PolicyKind.TRUST, "trust")
        for account in (B, C)
    }
    trust[Z] = compile_policy(_v([{
        "Sid": "", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{Z}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]),
        PolicyKind.TRUST, "trust-z")
    scoped = {
        account: compile_policy(_v([
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}",
             "Condition": {"StringLike": {"s3:prefix": [f"AWSLogs/{account}/*", "AWSLogs/"]}}},
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/{account}/*"},
        ]), PolicyKind.IDENTITY, f"logs-{account}")
        for account in (B, C)
    }
    third_party = compile_policy(_v([
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
         "Resource": f"arn:aws:s3:::{BUCKET}/*"},
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
         "Resource": f"arn:aws:s3:::{BUCKET}"},
    ]), PolicyKind.IDENTITY, "logs-z")

    cases: list[tuple[AuthzRequest, PolicySet]] = []
    for account, role in ((B, "LogsB"), (C, "LogsC"), (Z, "LogsZ")):
        user = PrincipalInfo.from_arn(f"arn:aws:iam::{account}:user/reader")
        context = {"sts:ExternalId": EXTERNAL_ID} if account == Z else {}
        cases.append((
            AuthzRequest(user, "sts:AssumeRole", f"arn:aws:iam::{A}:role/{role}", A, context),
            PolicySet(identity=[user_assume[account]], resource=trust[account],
                      resource_is_trust_policy=True),
        ))
    for _account, role, policy in ((B, "LogsB", scoped[B]), (C, "LogsC", scoped[C]),
                                  (Z, "LogsZ", third_party)):
        session = PrincipalInfo.from_arn(f"arn:aws:sts::{A}:assumed-role/{role}/s")
        policies = PolicySet(identity=[policy])
        for other in (B, C):
            key = f"AWSLogs/{other}/CloudTrail/us-east-1/2024/05/01/x.json.gz"
            cases.append((AuthzRequest(session, "s3:GetObject",
                                       f"arn:aws:s3:::{BUCKET}/{key}", A), policies))
            cases.append((AuthzRequest(session, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", A,
                                       {"s3:prefix": f"AWSLogs/{other}/"}), policies))
    return cases


_SERVICES = ["ec2", "sqs", "dynamodb", "kms", "sns", "lambda", "logs", "rds"]
_VERBS = ["Get", "List", "Put", "Delete", "Describe", "Create", "Update", "Tag"]
_NOUNS = ["Object", "Bucket", "Item", "Queue", "Key", "Topic", "Function", "Role"]


def large_policy_set(rng: random.Random) -> tuple[PolicySet, list[str]]:
    policies = []
    for p in range(100):
        statements = []
        for s in range(20):
            service = rng.choice(_SERVICES)
            actions = [f"{service}:{rng.choice(_VERBS)}{rng.choice(_NOUNS)}" for _ in range(3)]
            if rng.random() < 0.3:
                actions.append(f"{service}:{rng.choice(_VERBS)}*")
            condition: dict[str, dict[str, object]] = {
                "StringEquals": {"aws:PrincipalTag/team": rng.choice(["red", "blue", "green"])},
                "IpAddress": {"aws:SourceIp": [f"10.{rng.randrange(4)}.0.0/16",
                                               "192.168.0.0/24"]},
            }
            if rng.random() < 0.5:
                condition["StringLike"] = {"s3:prefix": ["home/${aws:username}/*",
                                                         "public/*"]}
            if rng.random() < 0.5:
                condition["DateLessThan"] = {"aws:CurrentTime": "2030-01-01T00:00:00Z"}
            if rng.random() < 0.3:
                condition["NumericLessThanEquals"] = {"s3:max-keys": "100"}
            statements.append({
                "Sid": f"S{p}x{s}",
                "Effect": "Deny" if rng.random() < 0.1 else "Allow",
                "Action": actions,
                "Resource": [f"arn:aws:{service}:*:{A}:{rng.choice(_NOUNS).lower()}/"
                             f"{rng.choice(['*', 'team-*', 'prod/*'])}"],
                "Condition": condition,
            })
        policies.append(compile_policy(_v(statements), PolicyKind.IDENTITY, f"p{p}"))
    actions = [f"{svc}:{verb}{noun}" for svc in _SERVICES for verb in _VERBS for noun in _NOUNS]
    return PolicySet(identity=policies), actions


def large_cases(rng: random.Random, count: int) -> list[tuple[AuthzRequest, PolicySet]]:
    policies, actions = large_policy_set(rng)
    user = PrincipalInfo.from_arn(f"arn:aws:iam::{A}:user/alice")
    cases = []
    for _ in range(count):
        action = rng.choice(actions)
        service = action.split(":")[0]
        resource = f"arn:aws:{service}:us-east-1:{A}:{rng.choice(_NOUNS).lower()}/team-x"
        context = {
            "aws:PrincipalTag/team": rng.choice(["red", "blue", "green"]),
            "aws:SourceIp": f"10.{rng.randrange(4)}.1.2",
            "aws:username": "alice",
            "aws:CurrentTime": "2026-11-29T12:00:00Z",
            "s3:prefix": rng.choice(["home/alice/x", "public/y", "other/z"]),
            "s3:max-keys": str(rng.randrange(200)),
        }
        cases.append((AuthzRequest(user, action, resource, A, context), policies))
    return cases


def rate(cases: Sequence[tuple[AuthzRequest, PolicySet]], seconds: float) -> float:
    """Decisions per second, cycling through `cases` for about `seconds`."""
    for request, policies in cases:  # warm the per-policy action caches
        evaluate(request, policies)
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for request, policies in cases:
            evaluate(request, policies)
        done += len(cases)
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - start)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    seed = seed_cases()
    print(f"(a) seed policies: {rate(seed, args.seconds):,.0f} decisions/s "
          f"({len(seed)} distinct requests)")
    large = large_cases(random.Random(7), 200)
    print(f"(b) 100 policies x 20 statements with conditions: "
          f"{rate(large, args.seconds):,.0f} decisions/s")


if __name__ == "__main__":
    main()
