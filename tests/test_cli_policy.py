"""`python -m trailgate policy validate | simulate`, run as a subprocess.

Scenario: the seed's log sharing (account A 111111111111 owns the bucket and the roles, B
222222222222 reads its own logs through role LogsB, Z 444444444444 assumes LogsZ with an
external ID).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

A, B, C, Z = "111111111111", "222222222222", "333333333333", "444444444444"
BUCKET = "ct-central-111111111111"
EXTERNAL_ID = "Z-external-4242"


def trailgate(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trailgate", "policy", *args],
                          capture_output=True, text=True, input=stdin, timeout=120)


def write(path: Path, document: dict) -> str:
    path.write_text(json.dumps(document, indent=2))
    return str(path)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    v = "2012-10-17"
    return {
        "b_access": write(tmp_path / "b-access.json", {"Version": v, "Statement": [
            {"Sid": "ListOwnLogs", "Effect": "Allow", "Action": "s3:ListBucket",
             "Resource": f"arn:aws:s3:::{BUCKET}",
             "Condition": {"StringLike": {"s3:prefix": [f"AWSLogs/{B}/*"]}}},
            {"Sid": "ReadOwnLogs", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/{B}/*"}]}),
        "z_trust": write(tmp_path / "z-trust.json", {"Version": v, "Statement": [
            {"Sid": "", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{Z}:root"},
             "Action": "sts:AssumeRole",
             "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]}),
        "z_assume": write(tmp_path / "z-assume.json", {"Version": v, "Statement": [
            {"Effect": "Allow", "Action": ["sts:AssumeRole"],
             "Resource": f"arn:aws:iam::{A}:role/LogsZ"}]}),
        "invalid": write(tmp_path / "invalid.json", {"Version": v, "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject"}]}),
    }


def test_validate_prints_valid(files: dict[str, str]) -> None:
    done = trailgate("validate", files["b_access"])
    assert (done.returncode, done.stdout) == (0, "valid\n")
    done = trailgate("validate", files["z_trust"], "--kind", "trust")
    assert (done.returncode, done.stdout) == (0, "valid\n")


def test_validate_reports_the_messages(files: dict[str, str]) -> None:
    done = trailgate("validate", files["invalid"])
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["Policy statement must contain resources."]
    done = trailgate("validate", files["z_trust"])  # a trust policy is no identity policy
    assert done.returncode == 1
    assert "Policy document should not specify a principal." in done.stdout


def simulate_b(files: dict[str, str], action: str, resource: str, *extra: str
               ) -> subprocess.CompletedProcess[str]:
    return trailgate("simulate", "--principal", f"arn:aws:sts::{A}:assumed-role/LogsB/s",
                     "--action", action, "--resource", resource,
                     "--identity-policy", files["b_access"], "--resource-account", A, *extra)


def test_b_role_lists_and_reads_its_own_logs(files: dict[str, str]) -> None:
    listed = simulate_b(files, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}",
                        "--context", f"s3:prefix=AWSLogs/{B}/")
    assert listed.returncode == 0
    assert listed.stdout.startswith("Decision: Allowed\n")
    assert "statement ListOwnLogs" in listed.stdout
    read = simulate_b(files, "s3:GetObject",
                      f"arn:aws:s3:::{BUCKET}/AWSLogs/{B}/CloudTrail/us-east-1/2024/05/01/f.json.gz")
    assert read.stdout.startswith("Decision: Allowed\n")


def test_b_role_may_not_read_c_logs(files: dict[str, str]) -> None:
    resource = f"arn:aws:s3:::{BUCKET}/AWSLogs/{C}/CloudTrail/us-east-1/2024/05/01/f.json.gz"
    done = simulate_b(files, "s3:GetObject", resource)
    assert done.returncode == 0
    assert done.stdout.startswith("Decision: ImplicitlyDenied\n")
    assert (f"is not authorized to perform: s3:GetObject on resource: {resource} because no "
            "identity-based policy allows the s3:GetObject action") in done.stdout
    listed = simulate_b(files, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}",
                        "--context", f"s3:prefix=AWSLogs/{C}/", "--json")
    assert json.loads(listed.stdout)["decision"] == "ImplicitlyDenied"


def assume_z(files: dict[str, str], *extra: str) -> dict:
    done = trailgate("simulate", "--principal", f"arn:aws:iam::{Z}:user/analyst",
                     "--action", "sts:AssumeRole", "--resource", f"arn:aws:iam::{A}:role/LogsZ",
                     "--identity-policy", files["z_assume"], "--resource-policy",
                     files["z_trust"], "--json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_z_without_the_external_id_may_not_assume_its_role(files: dict[str, str]) -> None:
    out = assume_z(files)
    assert out["decision"] == "ImplicitlyDenied"
    assert out["explanation"]["reason"] == (
        "because no role trust policy allows the sts:AssumeRole action")
    assert assume_z(files, "--context", "sts:ExternalId=wrong")["decision"] == "ImplicitlyDenied"
    allowed = assume_z(files, "--context", f"sts:ExternalId={EXTERNAL_ID}")
    assert allowed["decision"] == "Allowed"
    assert {m["kind"] for m in allowed["explanation"]["matched"]} == {"trust", "identity"}


def test_repeated_context_key_is_multivalued(tmp_path: Path) -> None:
    policy = write(tmp_path / "tags.json", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
         "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}}}]})

    def tags(*pairs: str) -> str:
        args = [arg for pair in pairs for arg in ("--context", pair)]
        done = trailgate("simulate", "--principal", f"arn:aws:iam::{A}:user/u", "--action",
                         "ec2:CreateTags", "--resource", "*", "--identity-policy", policy,
                         "--json", *args)
        return json.loads(done.stdout)["decision"]

    assert tags("aws:TagKeys=team", "aws:TagKeys=env") == "Allowed"
    assert tags("aws:TagKeys=team", "aws:TagKeys=owner") == "ImplicitlyDenied"
    assert tags('aws:TagKeys=["team","env"]') == "Allowed"


def test_batch_from_a_file_and_from_stdin(files: dict[str, str], tmp_path: Path) -> None:
    access = json.loads(Path(files["b_access"]).read_text())
    trust = Path(files["z_trust"]).read_text()
    cases = [
        {"id": "read-own", "identityPolicies": [access],
         "request": {"principal": f"arn:aws:sts::{A}:assumed-role/LogsB/s",
                     "action": "s3:GetObject", "resourceAccount": A,
                     "resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/{B}/x.json.gz"}},
        {"id": "broken", "identityPolicies": [{"Statement": "nope"}],
         "request": {"principal": f"arn:aws:iam::{A}:user/u", "action": "s3:GetObject",
                     "resource": "*"}},
        {"id": "z-no-id", "identityPolicies": [json.loads(Path(files["z_assume"]).read_text())],
         "resourcePolicy": trust,
         "request": {"principal": f"arn:aws:iam::{Z}:user/analyst", "action": "sts:AssumeRole",
                     "resource": f"arn:aws:iam::{A}:role/LogsZ"}},
    ]
    text = "\n".join(json.dumps(case) for case in cases) + "\n"
    path = tmp_path / "cases.jsonl"
    path.write_text(text)
    for done in (trailgate("simulate", "--batch", str(path)),
                 trailgate("simulate", "--batch", "-", stdin=text)):
        assert done.returncode == 0, done.stderr
        results = [json.loads(line) for line in done.stdout.splitlines()]
        assert [(r["id"], r["decision"]) for r in results] == [
            ("read-own", "Allowed"), ("broken", "Error"), ("z-no-id", "ImplicitlyDenied")]
        assert results[1]["error"] and results[1]["explanation"] is None


def test_simulate_without_a_request_is_a_usage_error() -> None:
    done = trailgate("simulate", "--action", "s3:GetObject")
    assert done.returncode == 2
    assert "--principal" in done.stderr
