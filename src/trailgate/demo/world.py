"""Building the seed's world through the public API of a running server.

Account A (the management account) keeps the log bucket and the reader roles; B and C deliver
their trails into A's bucket (scenario 1: each reads only its own AWSLogs/<id>/); Z is a third
party that reads everything with an external ID (scenario 2). Accounts B, C and Z are separate
AWS accounts, made with the operator CLI as an administrator would; everything inside every
account is done with boto3 against the endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from trailgate.demo import policies

EXTERNAL_ID = "z-logs-5d2e7c"
TRAIL_NAME = "seed-trail"
REGION = "us-east-1"
NO_RETRY = BotoConfig(
    retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"}
)


@dataclass(frozen=True)
class Creds:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass
class World:
    endpoint: str
    a: str
    b: str
    c: str
    z: str
    bucket: str
    z_bucket: str
    roots: dict[str, Creds]
    users: dict[str, Creds]
    roles: dict[str, str]
    trails: dict[str, str] = field(default_factory=dict)

    def client(self, service: str, creds: Creds) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            config=NO_RETRY,
        )

    def account_ids(self) -> dict[str, str]:
        return {"A": self.a, "B": self.b, "C": self.c, "Z": self.z}


def _creds_from_key(key: dict[str, str]) -> Creds:
    return Creds(key["AccessKeyId"], key["SecretAccessKey"])


def build(
    endpoint: str,
    management_root: Creds,
    management_account: str,
    create_account: Callable[[str], dict[str, str]],
    say: Callable[[str], None] = lambda _msg: None,
) -> World:
    """Create accounts, the log bucket, trails, reader roles and users; returns the world."""
    made = {name: create_account(name) for name in ("B", "C", "Z")}
    say("accounts B, C and Z created")
    roots = {"A": management_root}
    roots.update(
        {n: Creds(m["RootAccessKeyId"], m["RootSecretAccessKey"]) for n, m in made.items()}
    )
    a = management_account
    b, c, z = (made[n]["AccountId"] for n in ("B", "C", "Z"))
    world = World(
        endpoint=endpoint,
        a=a,
        b=b,
        c=c,
        z=z,
        bucket=f"seed-cloudtrail-logs-{a}",
        z_bucket=f"z-log-archive-{z}",
        roots=roots,
        users={},
        roles={},
    )

    s3_a = world.client("s3", roots["A"])
    s3_a.create_bucket(Bucket=world.bucket)
    s3_a.put_bucket_policy(
        Bucket=world.bucket,
        Policy=policies.cloudtrail_bucket_policy(world.bucket, [a, b, c], REGION, a),
    )
    say(f"log bucket {world.bucket} with its CloudTrail bucket policy")

    for name in ("A", "B", "C"):
        ct = world.client("cloudtrail", roots[name])
        trail = ct.create_trail(
            Name=TRAIL_NAME, S3BucketName=world.bucket, EnableLogFileValidation=True
        )
        ct.start_logging(Name=trail["TrailARN"])
        world.trails[name] = trail["TrailARN"]
    say("trails in A, B and C deliver into A's bucket, with log file validation")

    iam_a = world.client("iam", roots["A"])
    readers = {
        "B": (b, None, policies.scenario1_access(world.bucket, b)),
        "C": (c, None, policies.scenario1_access(world.bucket, c)),
        "Z": (z, EXTERNAL_ID, policies.scenario2_access(world.bucket, world.z_bucket)),
    }
    for reader, (account, external_id, access) in readers.items():
        name = f"CloudTrailLogReader{reader}"
        role = iam_a.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=policies.trust_account(account, external_id),
            Description=f"Reads the CloudTrail logs of account {reader}",
        )["Role"]
        iam_a.put_role_policy(RoleName=name, PolicyName="LogAccess", PolicyDocument=access)
        world.roles[reader] = role["Arn"]
    say("roles in A: one per reader account (Z's needs the external ID)")

    for user, account, role in (
        ("bob", "B", "B"),
        ("carol", "C", "C"),
        ("zoe", "Z", "Z"),
        ("mallory", "B", None),
    ):
        iam = world.client("iam", roots[account])
        iam.create_user(UserName=user)
        if role is not None:
            iam.put_user_policy(
                UserName=user,
                PolicyName="AssumeLogReader",
                PolicyDocument=policies.allow_assume(world.roles[role]),
            )
        world.users[user] = _creds_from_key(iam.create_access_key(UserName=user)["AccessKey"])
    say("users bob (B), carol (C), zoe (Z), and mallory (B, without the AssumeRole policy)")

    s3_z = world.client("s3", roots["Z"])
    s3_z.create_bucket(Bucket=world.z_bucket)
    s3_z.put_bucket_policy(
        Bucket=world.z_bucket, Policy=policies.allow_put_from(world.z_bucket, world.roles["Z"])
    )
    say(f"Z's archive bucket {world.z_bucket} accepts copies from Z's reader role")
    return world


def make_activity(world: World) -> None:
    """Some calls in each account so every trail has events to deliver."""
    for name in ("A", "B", "C"):
        world.client("sts", world.roots[name]).get_caller_identity()
        world.client("iam", world.roots[name]).list_users()
