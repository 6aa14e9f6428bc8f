"""Delivered records, field by field, for each kind of caller: Root, IAMUser, AssumedRole, the
cross-account AssumeRole pair (caller's and role owner's copies), and a denied call. Three
accounts' trails deliver into one bucket (the seed's A, B and C into A's bucket)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from trail_support import (
    World,
    allow,
    client,
    log_keys,
    make_user,
    wait_for_records,
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WHOLE_SECONDS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
KEY_NAME = re.compile(
    r"AWSLogs/(\d{12})/CloudTrail/us-east-1/\d{4}/\d{2}/\d{2}/"
    r"(\d{12})_CloudTrail_us-east-1_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz"
)
# AWS's key order for the fields a trailgate record carries.
ORDER = [
    "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
    "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
    "responseElements", "additionalEventData", "requestID", "eventID", "readOnly", "resources",
    "eventType", "managementEvent", "recipientAccountId", "sharedEventID", "eventCategory",
    "sessionCredentialFromConsole",
]  # fmt: skip


def check_common(record: dict[str, Any], *, source: str, name: str, recipient: str) -> None:
    assert record["eventVersion"] >= "1.08"
    assert WHOLE_SECONDS.fullmatch(record["eventTime"])
    assert record["eventSource"] == f"{source}.amazonaws.com"
    assert record["eventName"] == name
    assert record["awsRegion"] == "us-east-1"
    assert record["sourceIPAddress"] == "127.0.0.1"
    assert record["userAgent"].startswith("Boto3/")
    assert UUID.fullmatch(record["requestID"])
    assert UUID.fullmatch(record["eventID"])
    assert isinstance(record["readOnly"], bool)
    assert record["eventType"] == "AwsApiCall"
    assert record["managementEvent"] is True
    assert record["eventCategory"] == "Management"
    assert record["recipientAccountId"] == recipient
    keys = list(record)
    assert keys == [k for k in ORDER if k in record], keys


def named(name: str, **fields: Any) -> Any:
    def match(record: dict[str, Any]) -> bool:
        if record["eventName"] != name:
            return False
        return all(record.get(k) == v for k, v in fields.items())

    return match


def test_records_of_root_user_role_session_and_cross_account_pair(world: World) -> None:
    server = world.server
    a, b = world.a, world.b
    s3 = world.client("A", "s3")

    # Root of A.
    root_call = world.client("A", "sts").get_caller_identity()

    # An IAM user of A, with a denied call among its calls.
    alice = make_user(server, world.roots["A"], "alice", allow(["iam:ListUsers"]))
    alice_id = world.client("A", "iam").get_user(UserName="alice")["User"]["UserId"]
    client(server, "iam", alice).list_users()
    with pytest.raises(ClientError) as denied:
        client(server, "iam", alice).create_user(UserName="mallory")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"

    # B's user assumes a role of A, then uses the session in A.
    iam_a = world.client("A", "iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{b}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam_a.create_role(RoleName="Auditor", AssumeRolePolicyDocument=json.dumps(trust))
    role_arn, role_id = role["Role"]["Arn"], role["Role"]["RoleId"]
    iam_a.put_role_policy(
        RoleName="Auditor", PolicyName="read", PolicyDocument=json.dumps(allow(["iam:ListRoles"]))
    )
    bob = make_user(server, world.roots["B"], "bob", allow(["sts:AssumeRole"], role_arn))
    bob_id = world.client("B", "iam").get_user(UserName="bob")["User"]["UserId"]
    assumed = client(server, "sts", bob).assume_role(
        RoleArn=role_arn, RoleSessionName="bob-audit", DurationSeconds=900
    )
    session = assumed["Credentials"]
    client(server, "iam", session).list_roles()

    # --- Root -----------------------------------------------------------------------------
    [rec] = wait_for_records(
        s3, world.bucket, a, named("GetCallerIdentity", requestID=root_call["ResponseMetadata"]
                                   ["RequestId"])
    )
    check_common(rec, source="sts", name="GetCallerIdentity", recipient=a)
    assert rec["userIdentity"] == {
        "type": "Root",
        "principalId": a,
        "arn": f"arn:aws:iam::{a}:root",
        "accountId": a,
        "accessKeyId": world.roots["A"]["AccessKeyId"],
    }
    assert rec["readOnly"] is True
    assert rec["requestParameters"] is None and rec["responseElements"] is None
    assert "errorCode" not in rec and "sharedEventID" not in rec

    # --- IAMUser --------------------------------------------------------------------------
    [rec] = wait_for_records(s3, world.bucket, a, named("ListUsers"))
    check_common(rec, source="iam", name="ListUsers", recipient=a)
    assert rec["userIdentity"] == {
        "type": "IAMUser",
        "principalId": alice_id,
        "arn": f"arn:aws:iam::{a}:user/alice",
        "accountId": a,
        "accessKeyId": alice["AccessKeyId"],
        "userName": "alice",
    }
    assert rec["readOnly"] is True and rec["responseElements"] is None

    # --- the denied call ------------------------------------------------------------------
    [rec] = wait_for_records(s3, world.bucket, a, named("CreateUser", errorCode="AccessDenied"))
    check_common(rec, source="iam", name="CreateUser", recipient=a)
    assert rec["userIdentity"]["arn"] == f"arn:aws:iam::{a}:user/alice"
    assert rec["errorMessage"] == denied.value.response["Error"]["Message"]
    assert rec["errorMessage"].startswith(
        f"User: arn:aws:iam::{a}:user/alice is not authorized to perform: iam:CreateUser"
    )
    assert rec["requestParameters"] == {"userName": "mallory"}
    assert rec["responseElements"] is None
    assert rec["readOnly"] is False

    # --- AssumedRole ------------------------------------------------------------------------
    [rec] = wait_for_records(s3, world.bucket, a, named("ListRoles"))
    check_common(rec, source="iam", name="ListRoles", recipient=a)
    identity = rec["userIdentity"]
    attributes = identity["sessionContext"].pop("attributes")
    assert identity == {
        "type": "AssumedRole",
        "principalId": f"{role_id}:bob-audit",
        "arn": f"arn:aws:sts::{a}:assumed-role/Auditor/bob-audit",
        "accountId": a,
        "accessKeyId": session["AccessKeyId"],
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": role_arn,
                "accountId": a,
                "userName": "Auditor",
            },
            "webIdFederationData": {},
        },
    }
    assert WHOLE_SECONDS.fullmatch(attributes["creationDate"])
    assert attributes["mfaAuthenticated"] == "false"

    # --- the cross-account AssumeRole, once in each account -------------------------------
    request_id = assumed["ResponseMetadata"]["RequestId"]
    [mine] = wait_for_records(s3, world.bucket, b, named("AssumeRole", requestID=request_id))
    [theirs] = wait_for_records(s3, world.bucket, a, named("AssumeRole", requestID=request_id))
    check_common(mine, source="sts", name="AssumeRole", recipient=b)
    check_common(theirs, source="sts", name="AssumeRole", recipient=a)
    assert mine["userIdentity"] == {
        "type": "IAMUser",
        "principalId": bob_id,
        "arn": f"arn:aws:iam::{b}:user/bob",
        "accountId": b,
        "accessKeyId": bob["AccessKeyId"],
        "userName": "bob",
    }
    assert theirs["userIdentity"] == {"type": "AWSAccount", "principalId": bob_id, "accountId": b}
    assert UUID.fullmatch(mine["sharedEventID"])
    assert mine["sharedEventID"] == theirs["sharedEventID"]
    assert mine["eventID"] != theirs["eventID"]
    for copy in (mine, theirs):
        assert copy["requestParameters"] == {
            "roleArn": role_arn,
            "roleSessionName": "bob-audit",
            "durationSeconds": 900,
        }
        assert copy["resources"] == [
            {"accountId": a, "type": "AWS::IAM::Role", "ARN": role_arn}
        ]
        credentials = copy["responseElements"]["credentials"]
        assert credentials["accessKeyId"] == session["AccessKeyId"]
        assert credentials["sessionToken"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
        assert credentials["secretAccessKey"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
        assert copy["responseElements"]["assumedRoleUser"] == {
            "assumedRoleId": f"{role_id}:bob-audit",
            "arn": f"arn:aws:sts::{a}:assumed-role/Auditor/bob-audit",
        }

    # Each account's files are under its own AWSLogs/<account>/ path in the shared bucket.
    for account in (a, b):
        for key in log_keys(s3, world.bucket, account):
            match = KEY_NAME.fullmatch(key)
            assert match and match.group(1) == account and match.group(2) == account


def test_third_account_delivers_into_the_shared_bucket(world: World) -> None:
    c = world.c
    out = world.client("C", "sts").get_caller_identity()
    s3 = world.client("A", "s3")
    [rec] = wait_for_records(
        s3, world.bucket, c, named("GetCallerIdentity", requestID=out["ResponseMetadata"]
                                   ["RequestId"])
    )
    assert rec["recipientAccountId"] == c
    assert rec["userIdentity"]["type"] == "Root" and rec["userIdentity"]["accountId"] == c
    # C may write into A's bucket but not read it.
    with pytest.raises(ClientError):
        world.client("C", "s3").list_objects_v2(Bucket=world.bucket)
