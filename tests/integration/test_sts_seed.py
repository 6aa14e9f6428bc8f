"""The seed's AssumeRole cases (CloudTrail User Guide, "Assuming a Role") against a real server.

Account A (the management account) owns one role per reader: B's and C's (scenario 1) and Z's
(scenario 2, with an external ID). Users in B, C and Z assume them with their own credentials.
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from trailgate.testing.clock import client_clock_offset
from trailgate.testing.server import ServerProcess

NO_RETRY = BotoConfig(retries={"max_attempts": 1, "mode": "standard"})
EXTERNAL_ID = "Z-external-7f3a"


def boto(server: ServerProcess, service: str, creds: dict[str, str]):
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
        config=NO_RETRY,
    )


def root_creds(made: dict[str, str]) -> dict[str, str]:
    return {"AccessKeyId": made["RootAccessKeyId"], "SecretAccessKey": made["RootSecretAccessKey"]}


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def trust(account: str, external_id: str | None = None) -> str:
    statement: dict[str, object] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def assume_policy(role_arn: str) -> str:
    # The seed's user policy, with the role ARN filled in.
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": role_arn}],
        }
    )


@dataclass
class World:
    server: ServerProcess
    a: str
    b: str
    c: str
    z: str
    roles: dict[str, str]
    users: dict[str, dict[str, str]]
    roots: dict[str, dict[str, str]]


def make_user(server: ServerProcess, root: dict[str, str], name: str, policy: str | None):
    iam = boto(server, "iam", root)
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="AssumeLogReader", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


@pytest.fixture
def world(server: ServerProcess) -> World:
    a = server.management_account_id
    accounts = {n: server.create_account(n) for n in ("B", "C", "Z")}
    roots = {n: root_creds(made) for n, made in accounts.items()}
    roots["A"] = {
        "AccessKeyId": server.root["RootAccessKeyId"],
        "SecretAccessKey": server.root["RootSecretAccessKey"],
    }
    b, c, z = (accounts[n]["AccountId"] for n in ("B", "C", "Z"))
    iam_a = boto(server, "iam", roots["A"])
    roles = {}
    for reader, account, external in (("B", b, None), ("C", c, None), ("Z", z, EXTERNAL_ID)):
        role = iam_a.create_role(
            RoleName=f"LogReader{reader}",
            AssumeRolePolicyDocument=trust(account, external),
            MaxSessionDuration=7200,
        )["Role"]
        roles[reader] = role["Arn"]
        # What the role may do: list IAM roles (a call this suite can make before S3 exists).
        iam_a.put_role_policy(
            RoleName=f"LogReader{reader}",
            PolicyName="Read",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["iam:ListRoles", "s3:Get*", "s3:List*"],
                            "Resource": "*",
                        }
                    ],
                }
            ),
        )
    users = {
        "bob": make_user(server, roots["B"], "bob", assume_policy(roles["B"])),
        "carol": make_user(server, roots["C"], "carol", assume_policy(roles["C"])),
        "zed": make_user(server, roots["Z"], "zed", assume_policy(roles["Z"])),
        "nopolicy": make_user(server, roots["B"], "nopolicy", None),
    }
    return World(server, a, b, c, z, roles, users, roots)


def assume(world: World, user: str, role: str, **kwargs: object) -> dict[str, str]:
    sts = boto(world.server, "sts", world.users[user])
    return sts.assume_role(RoleArn=world.roles[role], RoleSessionName=f"{user}-session", **kwargs)


def test_b_user_assumes_b_role_and_gets_temporary_credentials(world: World) -> None:
    out = assume(world, "bob", "B")
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert len(creds["SecretAccessKey"]) == 40 and len(creds["SessionToken"]) > 100
    assert out["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{world.a}:assumed-role/LogReaderB/bob-session"
    )
    assert out["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    ident = boto(world.server, "sts", creds).get_caller_identity()
    assert ident["Arn"] == out["AssumedRoleUser"]["Arn"]
    assert ident["Account"] == world.a
    assert ident["UserId"] == out["AssumedRoleUser"]["AssumedRoleId"]
    # The session has the role's permissions in A.
    names = {r["RoleName"] for r in boto(world.server, "iam", creds).list_roles()["Roles"]}
    assert {"LogReaderB", "LogReaderC", "LogReaderZ"} <= names


def test_user_without_assume_policy_is_denied(world: World) -> None:
    sts = boto(world.server, "sts", world.users["nopolicy"])
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=world.roles["B"], RoleSessionName="attempt")
    assert code_of(exc) == ("AccessDenied", 403)
    message = exc.value.response["Error"]["Message"]
    assert f"arn:aws:iam::{world.b}:user/nopolicy" in message
    assert "sts:AssumeRole" in message


def test_b_user_cannot_assume_c_role(world: World) -> None:
    with pytest.raises(ClientError) as exc:
        assume(world, "bob", "C")
    assert code_of(exc) == ("AccessDenied", 403)


def test_c_role_does_not_trust_b_even_if_b_allows_it(world: World) -> None:
    iam_b = boto(world.server, "iam", world.roots["B"])
    iam_b.put_user_policy(
        UserName="bob", PolicyName="Everything", PolicyDocument=assume_policy("*")
    )
    with pytest.raises(ClientError) as exc:
        assume(world, "bob", "C")
    assert code_of(exc) == ("AccessDenied", 403)


def test_root_of_b_is_denied(world: World) -> None:
    sts = boto(world.server, "sts", world.roots["B"])
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=world.roles["B"], RoleSessionName="root")
    assert code_of(exc) == ("AccessDenied", 403)
    assert "root" in exc.value.response["Error"]["Message"]


def test_z_needs_the_external_id(world: World) -> None:
    ok = assume(world, "zed", "Z", ExternalId=EXTERNAL_ID)
    assert ok["AssumedRoleUser"]["Arn"].endswith(":assumed-role/LogReaderZ/zed-session")
    for kwargs in ({}, {"ExternalId": "wrong-id"}):
        with pytest.raises(ClientError) as exc:
            assume(world, "zed", "Z", **kwargs)
        assert code_of(exc) == ("AccessDenied", 403)


def test_session_policy_narrows_the_role(world: World) -> None:
    narrow = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    out = assume(world, "bob", "B", Policy=narrow)
    assert 0 < out["PackedPolicySize"] <= 100
    iam = boto(world.server, "iam", out["Credentials"])
    with pytest.raises(ClientError) as exc:
        iam.list_roles()
    assert code_of(exc) == ("AccessDenied", 403)
    assert "session policy" in exc.value.response["Error"]["Message"]


def test_malformed_session_policy_is_rejected(world: World) -> None:
    with pytest.raises(ClientError) as exc:
        assume(world, "bob", "B", Policy='{"Version": "2012-10-17", "Statement": [')
    assert code_of(exc)[0] == "MalformedPolicyDocument"


def test_duration_beyond_max_session_duration_is_rejected(world: World) -> None:
    assert assume(world, "bob", "B", DurationSeconds=7200)["Credentials"]
    with pytest.raises(ClientError) as exc:
        assume(world, "bob", "B", DurationSeconds=7201)
    assert code_of(exc) == ("ValidationError", 400)
    assert "MaxSessionDuration" in exc.value.response["Error"]["Message"]
    # botocore refuses 899 itself; without its check the server must refuse it too.
    sts = boto3.client(
        "sts",
        endpoint_url=world.server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=world.users["bob"]["AccessKeyId"],
        aws_secret_access_key=world.users["bob"]["SecretAccessKey"],
        config=BotoConfig(parameter_validation=False, retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=world.roles["B"], RoleSessionName="short", DurationSeconds=899)
    assert code_of(exc) == ("ValidationError", 400)


def test_expired_session_is_rejected(world: World) -> None:
    creds = assume(world, "bob", "B", DurationSeconds=900)["Credentials"]
    sts = boto(world.server, "sts", creds)
    assert sts.get_caller_identity()["Account"] == world.a
    world.server.advance_clock(901)
    with client_clock_offset(901), pytest.raises(ClientError) as exc:
        boto(world.server, "sts", creds).get_caller_identity()
    assert code_of(exc)[0] == "ExpiredToken"
    # The user's own long-term key still works at that time.
    with client_clock_offset(901):
        assert boto(world.server, "sts", world.users["bob"]).get_caller_identity()


def test_wrong_session_token_is_rejected(world: World) -> None:
    creds = dict(assume(world, "bob", "B")["Credentials"])
    creds["SessionToken"] = creds["SessionToken"][:-4] + "AAAA"
    with pytest.raises(ClientError) as exc:
        boto(world.server, "sts", creds).get_caller_identity()
    assert code_of(exc) == ("InvalidClientTokenId", 403)


def test_deleting_the_role_ends_its_sessions(world: World) -> None:
    creds = assume(world, "bob", "B")["Credentials"]
    iam_a = boto(world.server, "iam", world.roots["A"])
    iam_a.delete_role_policy(RoleName="LogReaderB", PolicyName="Read")
    iam_a.delete_role(RoleName="LogReaderB")
    with pytest.raises(ClientError) as exc:
        boto(world.server, "sts", creds).get_caller_identity()
    assert code_of(exc)[1] == 403


def test_role_chaining_is_capped_at_one_hour(world: World) -> None:
    iam_a = boto(world.server, "iam", world.roots["A"])
    iam_a.put_role_policy(
        RoleName="LogReaderB", PolicyName="Chain", PolicyDocument=assume_policy(world.roles["C"])
    )
    iam_a.update_assume_role_policy(
        RoleName="LogReaderC",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": world.roles["B"]},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    first = assume(world, "bob", "B")["Credentials"]
    sts = boto(world.server, "sts", first)
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=world.roles["C"], RoleSessionName="chain", DurationSeconds=3601)
    assert code_of(exc) == ("ValidationError", 400)
    chained = sts.assume_role(RoleArn=world.roles["C"], RoleSessionName="chain")
    assert chained["AssumedRoleUser"]["Arn"].endswith("assumed-role/LogReaderC/chain")


def test_aws_cli_profile_assumes_the_role_by_itself(world: World, tmp_path: Path) -> None:
    config = configparser.ConfigParser()
    config["profile z-user"] = {"region": "us-east-1"}
    config["profile z-reader"] = {
        "role_arn": world.roles["Z"],
        "source_profile": "z-user",
        "external_id": EXTERNAL_ID,
        "region": "us-east-1",
    }
    config["profile z-reader-no-id"] = {
        "role_arn": world.roles["Z"],
        "source_profile": "z-user",
        "region": "us-east-1",
    }
    credentials = configparser.ConfigParser()
    credentials["z-user"] = {
        "aws_access_key_id": world.users["zed"]["AccessKeyId"],
        "aws_secret_access_key": world.users["zed"]["SecretAccessKey"],
    }
    config_path, creds_path = tmp_path / "config", tmp_path / "credentials"
    with config_path.open("w") as fh:
        config.write(fh)
    with creds_path.open("w") as fh:
        credentials.write(fh)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=str(config_path),
        AWS_SHARED_CREDENTIALS_FILE=str(creds_path),
        AWS_ENDPOINT_URL=world.server.endpoint,
    )
    aws = str(Path(sys.executable).with_name("aws"))
    out = subprocess.run(
        [aws, "sts", "get-caller-identity", "--profile", "z-reader"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    arn = json.loads(out.stdout)["Arn"]
    assert arn.startswith(f"arn:aws:sts::{world.a}:assumed-role/LogReaderZ/")
    denied = subprocess.run(
        [aws, "sts", "get-caller-identity", "--profile", "z-reader-no-id"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert denied.returncode != 0
    assert "AccessDenied" in denied.stderr
