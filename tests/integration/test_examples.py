"""The runnable examples in examples/, run as a user would run them, against a real server."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from trailgate.testing.server import ServerProcess
from trailgate.testing.world import Account

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BIN = Path(sys.executable).parent


def _log(records: int) -> bytes:
    return gzip.compress(json.dumps({"Records": [{"eventName": "X"}] * records}).encode())


@pytest.fixture
def seed(server: ServerProcess) -> dict[str, str]:
    a = Account(
        server.endpoint,
        server.management_account_id,
        server.root["RootAccessKeyId"],
        server.root["RootSecretAccessKey"],
    )
    made = server.create_account("B")
    b = Account(
        server.endpoint, made["AccountId"], made["RootAccessKeyId"], made["RootSecretAccessKey"]
    )
    bucket = f"logs-{a.id}"
    s3 = a.client("s3")
    s3.create_bucket(Bucket=bucket)
    b_prefix = f"AWSLogs/{b.id}/CloudTrail/us-east-1/2026/11/29/"
    for i in range(2):
        s3.put_object(
            Bucket=bucket,
            Key=f"{b_prefix}{b.id}_CloudTrail_us-east-1_f{i}.json.gz",
            Body=_log(i + 1),
        )
    s3.put_object(Bucket=bucket, Key="AWSLogs/999999999999/CloudTrail/other.json.gz", Body=_log(1))
    role = a.create_role(
        "Test",
        trust_accounts=[b.id],
        policy={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": f"arn:aws:s3:::{bucket}",
                },
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{b.id}/*",
                },
            ],
        },
    )
    user = b.create_user(
        "bob",
        policy={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": role.arn}],
        },
    )
    return {
        "endpoint": server.endpoint,
        "bucket": bucket,
        "prefix": f"AWSLogs/{b.id}/",
        "role": role.arn,
        "key": user.access_key_id,
        "secret": user.secret_access_key,
        "b": b.id,
    }


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env.update(extra)
    return env


def test_seed_boto2_example(seed: dict[str, str]) -> None:
    url = urlsplit(seed["endpoint"])
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "seed_boto2.py")],
        env=_env(
            AWS_ACCESS_KEY_ID=seed["key"],
            AWS_SECRET_ACCESS_KEY=seed["secret"],
            TRAILGATE_HOST=url.hostname or "",
            TRAILGATE_PORT=str(url.port),
            ROLE_ARN=seed["role"],
            BUCKET=seed["bucket"],
            LOG_PREFIX=seed["prefix"],
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == seed["bucket"]
    assert len(lines) == 3 and all(seed["prefix"] in line for line in lines[1:])


def test_seed_boto3_example(seed: dict[str, str]) -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "seed_boto3.py")],
        env=_env(
            AWS_ACCESS_KEY_ID=seed["key"],
            AWS_SECRET_ACCESS_KEY=seed["secret"],
            AWS_ENDPOINT_URL=seed["endpoint"],
            ROLE_ARN=seed["role"],
            BUCKET=seed["bucket"],
            LOG_PREFIX=seed["prefix"],
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == seed["bucket"] and len(lines) == 3


def test_seed_cli_example(seed: dict[str, str]) -> None:
    out = subprocess.run(
        ["bash", str(EXAMPLES / "seed_cli.sh")],
        env=_env(
            AWS_ENDPOINT_URL=seed["endpoint"],
            USER_KEY_ID=seed["key"],
            USER_SECRET=seed["secret"],
            ROLE_ARN=seed["role"],
            BUCKET=seed["bucket"],
            LOG_PREFIX=seed["prefix"],
        ),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert ":assumed-role/Test/" in out.stdout
    assert "log.json.gz" in out.stdout


def test_example_pytest_fixture() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-o",
            "addopts=",
            "-p",
            "no:cacheprovider",
            str(EXAMPLES / "test_my_design.py"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=EXAMPLES,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout
