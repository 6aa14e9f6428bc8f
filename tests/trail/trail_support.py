"""Helpers for the CloudTrail tests: clients, the delivery bucket policy of AWS's documentation,
a world of accounts A (management), B and C whose trails all deliver into A's bucket, and
readers for delivered log files."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from trailgate.testing.server import ServerProcess

NO_RETRY = BotoConfig(retries={"max_attempts": 1, "mode": "standard"})
FAST = ["--trail-delivery-interval", "1", "--digest-interval", "2", "--test-clock"]
REGION = "us-east-1"


def client(server: ServerProcess, service: str, creds: dict[str, str]) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        config=NO_RETRY,
    )


def root_of(server: ServerProcess) -> dict[str, str]:
    return {
        "AccessKeyId": server.root["RootAccessKeyId"],
        "SecretAccessKey": server.root["RootSecretAccessKey"],
    }


def trail_arn(account: str, name: str, region: str = REGION) -> str:
    return f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"


def delivery_policy(bucket: str, writers: list[tuple[str, str]], prefix: str = "") -> str:
    """AWS's documented bucket policy for CloudTrail, one (account, trail ARN) per writer."""
    path = f"{prefix}/" if prefix else ""
    arns = [arn for _, arn in writers]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailAclCheck20150319",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{bucket}",
                    "Condition": {"StringEquals": {"aws:SourceArn": arns}},
                },
                {
                    "Sid": "AWSCloudTrailWrite20150319",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": [
                        f"arn:aws:s3:::{bucket}/{path}AWSLogs/{account}/*"
                        for account, _ in writers
                    ],
                    "Condition": {
                        "StringEquals": {
                            "s3:x-amz-acl": "bucket-owner-full-control",
                            "aws:SourceArn": arns,
                        }
                    },
                },
            ],
        }
    )


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def list_keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return keys


def log_keys(s3: Any, bucket: str, account: str, prefix: str = "") -> list[str]:
    path = f"{prefix}/" if prefix else ""
    return [k for k in list_keys(s3, bucket, f"{path}AWSLogs/{account}/CloudTrail/")]


def read_log(s3: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    document = json.loads(gzip.decompress(body))
    assert set(document) == {"Records"}
    return document["Records"]


def delivered(s3: Any, bucket: str, account: str, prefix: str = "") -> list[dict[str, Any]]:
    """Every record delivered for `account`, file by file."""
    records: list[dict[str, Any]] = []
    for key in log_keys(s3, bucket, account, prefix):
        records.extend(read_log(s3, bucket, key))
    return records


def wait_for_records(
    s3: Any,
    bucket: str,
    account: str,
    match: Callable[[dict[str, Any]], bool],
    *,
    count: int = 1,
    prefix: str = "",
    timeout: float = 30.0,
) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]]:
        hits = [r for r in delivered(s3, bucket, account, prefix) if match(r)]
        return hits if len(hits) >= count else []

    return wait_for(found, timeout)


@dataclass
class World:
    """A (management, owns the bucket), B and C, each with a logging trail into A's bucket."""

    server: ServerProcess
    a: str
    b: str
    c: str
    roots: dict[str, dict[str, str]]
    bucket: str
    trails: dict[str, str] = field(default_factory=dict)

    def client(self, account: str, service: str) -> Any:
        return client(self.server, service, self.roots[account])

    @property
    def ids(self) -> dict[str, str]:
        return {"A": self.a, "B": self.b, "C": self.c}


def build_world(server: ServerProcess, *, validation: bool = False, start: bool = True) -> World:
    made = {n: server.create_account(n) for n in ("B", "C")}
    roots = {
        n: {"AccessKeyId": m["RootAccessKeyId"], "SecretAccessKey": m["RootSecretAccessKey"]}
        for n, m in made.items()
    }
    roots["A"] = root_of(server)
    a = server.management_account_id
    world = World(server, a, made["B"]["AccountId"], made["C"]["AccountId"], roots,
                  f"central-trail-{a}")
    s3 = world.client("A", "s3")
    s3.create_bucket(Bucket=world.bucket)
    writers = [(world.ids[n], trail_arn(world.ids[n], f"trail-{n.lower()}")) for n in "ABC"]
    s3.put_bucket_policy(Bucket=world.bucket, Policy=delivery_policy(world.bucket, writers))
    for name in "ABC":
        ct = world.client(name, "cloudtrail")
        out = ct.create_trail(
            Name=f"trail-{name.lower()}",
            S3BucketName=world.bucket,
            EnableLogFileValidation=validation,
        )
        world.trails[name] = out["TrailARN"]
        if start:
            ct.start_logging(Name=f"trail-{name.lower()}")
    return world


def make_user(
    server: ServerProcess, root: dict[str, str], name: str, policy: dict[str, Any] | None
) -> dict[str, str]:
    iam = client(server, "iam", root)
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="policy", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def allow(actions: list[str], resource: str = "*") -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
    }
