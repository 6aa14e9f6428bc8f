"""trailscraper 0.10.0 against trailgate: `download` our log files from S3, `select` records
(also filtered by assumed role, and straight from LookupEvents), `generate` an IAM policy.

trailscraper pins an older boto3/botocore than trailgate's, so it lives in its own virtualenv:
`$TRAILSCRAPER`, else `.venv/tools/trailscraper/bin/trailscraper` next to this interpreter's
venv, else `trailscraper` on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from trail_support import allow, client, delivery_policy, make_user, root_of, trail_arn, wait_for
from trail_support import delivered as delivered_records

from trailgate.testing.server import ServerProcess


def trailscraper() -> str | None:
    candidates = [
        os.environ.get("TRAILSCRAPER"),
        str(Path(sys.executable).parent.parent / "tools/trailscraper/bin/trailscraper"),
        shutil.which("trailscraper"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    return None


TOOL = trailscraper()
# scripts/install.sh installs it; in CI a missing trailscraper is a failure, not a skip.
pytestmark = pytest.mark.skipif(
    TOOL is None and not os.environ.get("CI"),
    reason="trailscraper is not installed (see the module docstring)",
)


def run(server: ServerProcess, creds: dict[str, str], *args: str, stdin: str | None = None
        ) -> str:
    assert TOOL is not None
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=server.endpoint,
        AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    done = subprocess.run(
        [TOOL, *args], env=env, input=stdin, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def actions(policy_text: str) -> set[str]:
    policy = json.loads(policy_text)
    found: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        found.update(statement["Action"])
    return found


def resources(policy_text: str) -> set[str]:
    found: set[str] = set()
    for statement in json.loads(policy_text)["Statement"]:
        found.update(statement["Resource"])
    return found


def test_trailscraper_downloads_our_logs_and_generates_a_policy(
    fast_server: ServerProcess, tmp_path: Path
) -> None:
    server = fast_server
    root = root_of(server)
    account = server.management_account_id
    bucket = f"scraped-{account}"
    arn = trail_arn(account, "scraped")
    s3 = client(server, "s3", root)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=delivery_policy(bucket, [(account, arn)], "ct"))
    ct = client(server, "cloudtrail", root)
    ct.create_trail(Name="scraped", S3BucketName=bucket, S3KeyPrefix="ct")
    ct.start_logging(Name="scraped")

    # A user's activity, and a role session's.
    worker = make_user(server, root, "worker", allow(["iam:ListUsers", "iam:GetUser",
                                                      "sts:AssumeRole"]))
    client(server, "iam", worker).list_users()
    client(server, "iam", worker).get_user(UserName="worker")
    iam = client(server, "iam", root)
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "sts:AssumeRole"}]}  # fmt: skip
    role_arn = iam.create_role(RoleName="Deployer", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    iam.put_role_policy(RoleName="Deployer", PolicyName="p",
                        PolicyDocument=json.dumps(allow(["iam:ListRoles"])))
    session = client(server, "sts", worker).assume_role(
        RoleArn=role_arn, RoleSessionName="deploy"
    )["Credentials"]
    client(server, "iam", session).list_roles()
    wait_for(
        lambda: any(
            r["eventName"] == "ListRoles" for r in delivered_records(s3, bucket, account, "ct")
        )
    )

    today = datetime.now(UTC)
    since = (today - timedelta(days=1)).strftime("%Y-%m-%d")
    until = (today + timedelta(days=1)).strftime("%Y-%m-%d")
    logs = tmp_path / "logs"
    run(
        server, root, "download", "--bucket", bucket, "--prefix", "ct/", "--account-id", account,
        "--region", "us-east-1", "--log-dir", str(logs), "--from", since, "--to", until,
    )  # fmt: skip
    files = list(logs.rglob("*.json.gz"))
    assert files, "trailscraper downloaded nothing"
    assert all(f"AWSLogs/{account}/CloudTrail/us-east-1/" in str(f) for f in files)

    selected = run(server, root, "select", "--log-dir", str(logs), "--from", since, "--to",
                   until)
    records: list[dict[str, Any]] = json.loads(selected)["Records"]
    names = {r["eventName"] for r in records}
    assert {"ListUsers", "GetUser", "AssumeRole", "ListRoles", "StartLogging"} <= names

    policy = run(server, root, "generate", stdin=selected)
    assert {"iam:ListUsers", "iam:GetUser", "sts:AssumeRole", "iam:ListRoles",
            "cloudtrail:StartLogging"} <= actions(policy)
    assert role_arn in resources(policy)  # from the AssumeRole record's resources

    by_role = run(
        server, root, "select", "--log-dir", str(logs), "--from", since, "--to", until,
        "--filter-assumed-role-arn", role_arn,
    )  # fmt: skip
    role_policy = run(server, root, "generate", stdin=by_role)
    assert actions(role_policy) == {"iam:ListRoles"}

    # The same through event history (LookupEvents) instead of S3.
    from_api = run(
        server, root, "select", "--use-cloudtrail-api", "--from", since, "--to", until,
    )  # fmt: skip
    api_names = {r["eventName"] for r in json.loads(from_api)["Records"]}
    assert {"ListUsers", "AssumeRole", "ListRoles"} <= api_names
