"""IAM over the wire: a real `trailgate serve` driven by boto3 (query protocol, SigV4, the
pipeline's authorization), checking outputs, AWS errors and permissions end to end."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from trailgate.testing.server import ServerProcess

NO_RETRY = BotoConfig(retries={"max_attempts": 1, "mode": "standard"})
READ_ONLY = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})
S3_READ = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]})


def iam(server: ServerProcess, key: str, secret: str):
    return boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret, config=NO_RETRY)


def root_iam(server: ServerProcess):
    return iam(server, server.root["RootAccessKeyId"], server.root["RootSecretAccessKey"])


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"].get("Message", ""))


def user_client(server: ServerProcess, admin, name: str):
    key = admin.create_access_key(UserName=name)["AccessKey"]
    client = iam(server, key["AccessKeyId"], key["SecretAccessKey"])
    deadline = time.monotonic() + 5
    while True:  # another worker may cache the key list for a moment
        try:
            client.get_user()
            return client
        except ClientError as err:
            if err.response["Error"]["Code"] == "AccessDenied":
                return client
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_user_crud_and_errors(server: ServerProcess) -> None:
    admin = root_iam(server)
    account = server.management_account_id
    created = admin.create_user(UserName="alice", Path="/team/",
                                Tags=[{"Key": "team", "Value": "blue"}])["User"]
    assert created["Arn"] == f"arn:aws:iam::{account}:user/team/alice"
    assert created["UserId"].startswith("AIDA")
    assert created["Tags"] == [{"Key": "team", "Value": "blue"}]
    got = admin.get_user(UserName="ALICE")["User"]
    assert got["UserName"] == "alice" and got["CreateDate"] == created["CreateDate"]
    assert [u["UserName"] for u in admin.list_users(PathPrefix="/team/")["Users"]] == ["alice"]
    me = admin.get_user()["User"]
    assert me["Arn"] == f"arn:aws:iam::{account}:root" and me["UserId"] == account

    with pytest.raises(ClientError) as exc:
        admin.create_user(UserName="Alice")
    assert error_of(exc) == ("EntityAlreadyExists", 409, "User with name Alice already exists.")
    with pytest.raises(ClientError) as exc:
        admin.get_user(UserName="bob")
    assert error_of(exc) == ("NoSuchEntity", 404, "The user with name bob cannot be found.")

    admin.update_user(UserName="alice", NewUserName="alice2")
    admin.delete_user(UserName="alice2")
    assert admin.list_users()["Users"] == []


def test_policies_roles_and_documents(server: ServerProcess) -> None:
    admin = root_iam(server)
    account = server.management_account_id
    role = admin.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST,
                             MaxSessionDuration=7200)["Role"]
    # botocore decodes IAM's URL-encoded documents into dicts.
    assert role["AssumeRolePolicyDocument"] == json.loads(TRUST)
    got = admin.get_role(RoleName="app")["Role"]
    assert got["MaxSessionDuration"] == 7200 and got["RoleLastUsed"] == {}
    admin.put_role_policy(RoleName="app", PolicyName="read", PolicyDocument=S3_READ)
    assert admin.get_role_policy(RoleName="app", PolicyName="read")["PolicyDocument"] == (
        json.loads(S3_READ))
    arn = admin.create_policy(PolicyName="mine", PolicyDocument=S3_READ)["Policy"]["Arn"]
    assert arn == f"arn:aws:iam::{account}:policy/mine"
    admin.attach_role_policy(RoleName="app", PolicyArn=arn)
    version = admin.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["Document"] == json.loads(S3_READ)
    with pytest.raises(ClientError) as exc:
        admin.delete_role(RoleName="app")
    assert error_of(exc) == ("DeleteConflict", 409,
                             "Cannot delete entity, must delete policies first.")
    with pytest.raises(ClientError) as exc:
        admin.create_role(RoleName="bad", AssumeRolePolicyDocument=S3_READ)
    code, status, _ = error_of(exc)
    assert (code, status) == ("MalformedPolicyDocument", 400)
    with pytest.raises(ClientError) as exc:
        admin.create_role(RoleName="bad", AssumeRolePolicyDocument=TRUST,
                          MaxSessionDuration=50000)
    assert error_of(exc)[:2] == ("ValidationError", 400)
    with pytest.raises(ClientError) as exc:
        admin.attach_role_policy(RoleName="app",
                                 PolicyArn=f"arn:aws:iam::{account}:policy/missing")
    assert error_of(exc) == (
        "NoSuchEntity", 404,
        f"Policy arn:aws:iam::{account}:policy/missing does not exist or is not attachable.")
    simulated = admin.simulate_principal_policy(
        PolicySourceArn=role["Arn"], ActionNames=["s3:GetObject", "s3:PutObject"])
    assert [r["EvalDecision"] for r in simulated["EvaluationResults"]] == [
        "allowed", "implicitDeny"]


def test_access_keys_of_a_user_sign_requests(server: ServerProcess) -> None:
    admin = root_iam(server)
    admin.create_user(UserName="worker")
    client = user_client(server, admin, "worker")
    with pytest.raises(ClientError) as exc:  # authenticated as the user, who has no policy
        client.get_user()
    assert "user/worker is not authorized" in error_of(exc)[2]
    keys = admin.list_access_keys(UserName="worker")["AccessKeyMetadata"]
    assert len(keys) == 1 and keys[0]["Status"] == "Active"
    admin.create_access_key(UserName="worker")
    with pytest.raises(ClientError) as exc:
        admin.create_access_key(UserName="worker")
    assert error_of(exc) == ("LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")


def require_aws_managed_policies(admin) -> None:
    # Installed at start-up: a plain lookup must find it.
    assert admin.get_policy(PolicyArn=READ_ONLY)["Policy"]["Arn"] == READ_ONLY


def test_read_only_user_lists_but_cannot_create(server: ServerProcess) -> None:
    admin = root_iam(server)
    account = server.management_account_id
    require_aws_managed_policies(admin)
    admin.create_user(UserName="reader")
    admin.attach_user_policy(UserName="reader", PolicyArn=READ_ONLY)
    reader = user_client(server, admin, "reader")
    assert "reader" in [u["UserName"] for u in reader.list_users()["Users"]]
    assert reader.get_policy(PolicyArn=READ_ONLY)["Policy"]["PolicyName"] == "IAMReadOnlyAccess"
    with pytest.raises(ClientError) as exc:
        reader.create_user(UserName="x")
    assert error_of(exc) == (
        "AccessDenied", 403,
        f"User: arn:aws:iam::{account}:user/reader is not authorized to perform: "
        f"iam:CreateUser on resource: arn:aws:iam::{account}:user/x because no identity-based "
        "policy allows the iam:CreateUser action")
    assert admin.list_users()["Users"][0]["UserName"] == "reader"  # nothing created


def test_user_without_policy_is_denied(server: ServerProcess) -> None:
    admin = root_iam(server)
    account = server.management_account_id
    admin.create_user(UserName="nobody")
    nobody = user_client(server, admin, "nobody")
    with pytest.raises(ClientError) as exc:
        nobody.list_roles()
    assert error_of(exc) == (
        "AccessDenied", 403,
        f"User: arn:aws:iam::{account}:user/nobody is not authorized to perform: "
        "iam:ListRoles because no identity-based policy allows the iam:ListRoles action")
    with pytest.raises(ClientError) as exc:
        nobody.get_user()
    assert error_of(exc)[0] == "AccessDenied"


def test_accounts_are_isolated(server: ServerProcess) -> None:
    made = server.create_account("B", "222222222222")
    other = iam(server, made["RootAccessKeyId"], made["RootSecretAccessKey"])
    admin = root_iam(server)
    admin.create_user(UserName="only-in-management")
    assert other.list_users()["Users"] == []
    other.create_account_alias(AccountAlias="account-b")
    with pytest.raises(ClientError) as exc:
        admin.create_account_alias(AccountAlias="account-b")
    assert error_of(exc)[:2] == ("EntityAlreadyExists", 409)
    assert other.list_account_aliases()["AccountAliases"] == ["account-b"]
