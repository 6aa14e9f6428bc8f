"""`aws cloudtrail validate-logs` (AWS CLI v1) against trailgate's digests: exit 0 on untouched
logs, 1 once a log file or digest is changed or deleted. The CLI reaches trailgate through
AWS_ENDPOINT_URL, as the reference notes require (its S3 clients ignore --endpoint-url)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from trail_support import (
    build_world,
    client,
    delivery_policy,
    list_keys,
    root_of,
    trail_arn,
    wait_for,
)

from trailgate.testing.server import ServerProcess

AWS = str(Path(sys.executable).parent / "aws")


def validate(
    server: ServerProcess, creds: dict[str, str], arn: str, start: datetime, *extra: str
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=server.endpoint,
        AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    env.pop("AWS_SESSION_TOKEN", None)
    cmd = [
        AWS, "cloudtrail", "validate-logs", "--trail-arn", arn,
        "--start-time", start.strftime("%Y-%m-%dT%H:%M:%SZ"), "--verbose", *extra,
    ]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def settled(s3: object, bucket: str, prefix: str) -> list[str]:
    """The digests once StopLogging's final one is written: none follow it (the trail's digest
    interval is 2 s)."""
    previous: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(3)
        current = list_keys(s3, bucket, prefix)
        if current and current == previous:
            return current
        previous = current
    raise AssertionError("digests kept coming after StopLogging")


def test_validate_logs_accepts_untouched_logs_and_catches_changes(
    fast_server: ServerProcess,
) -> None:
    server = fast_server
    root = root_of(server)
    account = server.management_account_id
    bucket = f"validated-{account}"
    arn = trail_arn(account, "audited")
    s3 = client(server, "s3", root)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket, Policy=delivery_policy(bucket, [(account, arn)], prefix="org/logs")
    )
    ct = client(server, "cloudtrail", root)
    ct.create_trail(
        Name="audited", S3BucketName=bucket, S3KeyPrefix="org/logs", EnableLogFileValidation=True
    )
    start = datetime.now(UTC) - timedelta(minutes=5)
    ct.start_logging(Name="audited")
    iam = client(server, "iam", root)
    for n in range(3):
        iam.create_user(UserName=f"user-{n}")
        wait_for(lambda n=n: len([k for k in list_keys(s3, bucket) if "/CloudTrail/" in k]) > n)
    ct.stop_logging(Name="audited")
    prefix = f"org/logs/AWSLogs/{account}/"
    digests = settled(s3, bucket, prefix + "CloudTrail-Digest/")
    assert len(digests) >= 2
    logs = [k for k in list_keys(s3, bucket, prefix + "CloudTrail/")]
    assert len(logs) >= 3

    ok = validate(server, root, arn, start)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"{len(digests)}/{len(digests)} digest files valid" in ok.stdout
    assert f"{len(logs)}/{len(logs)} log files valid" in ok.stdout

    # A changed log file.
    body = gzip.decompress(s3.get_object(Bucket=bucket, Key=logs[0])["Body"].read())
    s3.put_object(Bucket=bucket, Key=logs[0], Body=gzip.compress(body.replace(b"user-", b"evil-")))
    changed = validate(server, root, arn, start)
    assert changed.returncode == 1
    assert f"{logs[0]}\tINVALID: hash value doesn't match" in changed.stderr

    # A deleted log file.
    s3.delete_object(Bucket=bucket, Key=logs[1])
    deleted = validate(server, root, arn, start)
    assert deleted.returncode == 1
    assert f"{logs[1]}\tINVALID: not found" in deleted.stderr

    # A digest rewritten without its signature.
    digest = s3.get_object(Bucket=bucket, Key=digests[-1])["Body"].read()
    s3.put_object(Bucket=bucket, Key=digests[-1], Body=digest)
    unsigned = validate(server, root, arn, start)
    assert unsigned.returncode == 1
    assert "INVALID: signature verification failed" in unsigned.stderr


def test_validate_logs_for_another_accounts_trail_in_the_shared_bucket(
    fast_server: ServerProcess,
) -> None:
    server = fast_server
    world = build_world(server, validation=True)
    start = datetime.now(UTC) - timedelta(minutes=5)
    world.client("B", "iam").create_user(UserName="in-b")
    s3 = world.client("A", "s3")
    wait_for(lambda: list_keys(s3, world.bucket, f"AWSLogs/{world.b}/CloudTrail/"))
    wait_for(lambda: len(list_keys(s3, world.bucket, f"AWSLogs/{world.b}/CloudTrail-Digest/")) >= 2)
    # A owns the bucket and validates B's trail by naming the bucket (B's trail is not A's).
    result = validate(server, world.roots["A"], world.trails["B"], start, "--s3-bucket",
                      world.bucket)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "log files valid" in result.stdout and "INVALID" not in result.stdout
