"""Delivery end to end with boto3: what is delivered when, secrets never, failures reported and
retried without loss, logging switched off and on, S3 data events by selector, and a crash
between an API response and its delivery (delivered exactly once after the restart)."""

from __future__ import annotations

import gzip
import json
import time
from collections import Counter

import pytest
from botocore.exceptions import ClientError
from trail_support import (
    allow,
    client,
    delivered,
    delivery_policy,
    list_keys,
    root_of,
    trail_arn,
    wait_for,
    wait_for_records,
)

from trailgate.testing.server import ServerProcess

REDACTED = "HIDDEN_DUE_TO_SECURITY_REASONS"


def single_trail(
    server: ServerProcess, *, name: str = "main", prefix: str = "", validation: bool = False
) -> tuple[str, str]:
    """A's bucket with AWS's policy and a logging trail of A; returns (bucket, trail ARN)."""
    root = root_of(server)
    account = server.management_account_id
    bucket = f"trail-{name}-{account}"
    arn = trail_arn(account, name)
    s3 = client(server, "s3", root)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket, Policy=delivery_policy(bucket, [(account, arn)], prefix=prefix)
    )
    ct = client(server, "cloudtrail", root)
    kwargs = {"S3KeyPrefix": prefix} if prefix else {}
    ct.create_trail(Name=name, S3BucketName=bucket, EnableLogFileValidation=validation, **kwargs)
    ct.start_logging(Name=name)
    return bucket, arn


def all_text(s3: object, bucket: str) -> str:
    parts = []
    for key in list_keys(s3, bucket):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[attr-defined]
        parts.append(gzip.decompress(body).decode())
    return "\n".join(parts)


def test_secrets_never_reach_a_record(fast_server: ServerProcess) -> None:
    server = fast_server
    root = root_of(server)
    account = server.management_account_id
    bucket, _ = single_trail(server)
    iam = client(server, "iam", root)
    iam.create_user(UserName="dora")
    key = iam.create_access_key(UserName="dora")["AccessKey"]
    password = "Very-secret-passw0rd!"
    iam.create_login_profile(UserName="dora", Password=password)
    iam.update_login_profile(UserName="dora", Password=password + "2")
    session = client(server, "sts", root).get_session_token(DurationSeconds=900)["Credentials"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
             "Action": "sts:AssumeRole"}
        ],
    }  # fmt: skip
    iam.create_role(RoleName="r1", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_user_policy(
        UserName="dora", PolicyName="p", PolicyDocument=json.dumps(allow(["sts:AssumeRole"]))
    )
    dora = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
    assumed = client(server, "sts", dora).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/r1", RoleSessionName="sess"
    )["Credentials"]
    s3 = client(server, "s3", root)
    wait_for_records(s3, bucket, account, lambda r: r["eventName"] == "AssumeRole")
    text = all_text(s3, bucket)
    secrets = [
        key["SecretAccessKey"], password, password + "2", session["SecretAccessKey"],
        session["SessionToken"], assumed["SecretAccessKey"], assumed["SessionToken"],
        root["SecretAccessKey"],
    ]  # fmt: skip
    for secret in secrets:
        assert secret not in text
    records = {r["eventName"]: r for r in delivered(s3, bucket, account)}
    created = records["CreateAccessKey"]["responseElements"]["accessKey"]
    assert created["accessKeyId"] == key["AccessKeyId"]
    assert created["secretAccessKey"] == REDACTED
    assert records["CreateLoginProfile"]["requestParameters"]["password"] == REDACTED
    assert records["UpdateLoginProfile"]["requestParameters"]["password"] == REDACTED
    token = records["GetSessionToken"]["responseElements"]["credentials"]
    assert token["sessionToken"] == REDACTED and token["secretAccessKey"] == REDACTED
    assert token["accessKeyId"] == session["AccessKeyId"]
    # Event history serves the same records, equally redacted.
    events = client(server, "cloudtrail", root).lookup_events(MaxResults=50)["Events"]
    history = "\n".join(e["CloudTrailEvent"] for e in events)
    assert "CreateAccessKey" in history
    for secret in secrets:
        assert secret not in history


def test_failed_delivery_is_reported_and_retried_without_loss(
    fast_server: ServerProcess,
) -> None:
    server = fast_server
    root = root_of(server)
    account = server.management_account_id
    bucket, _ = single_trail(server)
    s3 = client(server, "s3", root)
    ct = client(server, "cloudtrail", root)
    sts = client(server, "sts", root)
    first = sts.get_caller_identity()["ResponseMetadata"]["RequestId"]
    wait_for_records(s3, bucket, account, lambda r: r["requestID"] == first)
    policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    s3.delete_bucket_policy(Bucket=bucket)
    during = [sts.get_caller_identity()["ResponseMetadata"]["RequestId"] for _ in range(3)]
    status = wait_for(lambda: ct.get_trail_status(Name="main").get("LatestDeliveryError") and
                      ct.get_trail_status(Name="main"))
    assert status["LatestDeliveryError"] == "AccessDenied"
    assert status["IsLogging"] is True
    ids = {r["requestID"] for r in delivered(s3, bucket, account)}
    assert not ids & set(during)
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    wait_for_records(s3, bucket, account, lambda r: r["requestID"] in during, count=3)
    counts = Counter(r["eventID"] for r in delivered(s3, bucket, account))
    assert max(counts.values()) == 1
    status = wait_for(lambda: "LatestDeliveryError" not in (s := ct.get_trail_status(Name="main"))
                      and s)
    assert status["LatestDeliveryTime"] is not None


def test_a_deleted_bucket_shows_as_an_error(fast_server: ServerProcess) -> None:
    server = fast_server
    root = root_of(server)
    bucket, _ = single_trail(server)
    s3 = client(server, "s3", root)
    ct = client(server, "cloudtrail", root)
    wait_for(lambda: list_keys(s3, bucket))
    for key in list_keys(s3, bucket):
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)
    client(server, "sts", root).get_caller_identity()
    status = wait_for(lambda: (s := ct.get_trail_status(Name="main")).get("LatestDeliveryError")
                      == "NoSuchBucket" and s)
    assert status["IsLogging"] is True


def test_only_events_while_logging_are_delivered(fast_server: ServerProcess) -> None:
    server = fast_server
    root = root_of(server)
    account = server.management_account_id
    iam = client(server, "iam", root)
    iam.create_user(UserName="before-trail")
    bucket, _ = single_trail(server)
    ct = client(server, "cloudtrail", root)
    s3 = client(server, "s3", root)
    iam.create_user(UserName="while-logging")
    ct.stop_logging(Name="main")
    iam.create_user(UserName="while-stopped")
    assert ct.get_trail_status(Name="main")["IsLogging"] is False
    ct.start_logging(Name="main")
    iam.create_user(UserName="logging-again")
    got = wait_for_records(
        s3, bucket, account, lambda r: r["eventName"] == "CreateUser", count=2
    )
    time.sleep(2.5)
    names = sorted(
        r["requestParameters"]["userName"]
        for r in delivered(s3, bucket, account)
        if r["eventName"] == "CreateUser"
    )
    assert names == ["logging-again", "while-logging"], got


def test_s3_data_events_follow_the_event_selectors(fast_server: ServerProcess) -> None:
    server = fast_server
    root = root_of(server)
    account = server.management_account_id
    bucket, _ = single_trail(server)
    s3 = client(server, "s3", root)
    ct = client(server, "cloudtrail", root)
    s3.create_bucket(Bucket=f"data-{account}")
    data = f"data-{account}"
    ct.put_event_selectors(
        TrailName="main",
        EventSelectors=[
            {
                "ReadWriteType": "WriteOnly",
                "IncludeManagementEvents": True,
                "DataResources": [
                    {"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{data}/watched/"]}
                ],
            }
        ],
    )
    s3.put_object(Bucket=data, Key="watched/a.txt", Body=b"x")
    s3.put_object(Bucket=data, Key="other/b.txt", Body=b"y")
    s3.get_object(Bucket=data, Key="watched/a.txt")["Body"].read()
    s3.put_bucket_tagging(Bucket=data, Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    [put] = wait_for_records(
        s3, bucket, account, lambda r: r["eventName"] == "PutObject"
    )
    wait_for_records(s3, bucket, account, lambda r: r["eventName"] == "PutBucketTagging")
    time.sleep(1.5)
    records = delivered(s3, bucket, account)
    puts = [r for r in records if r["eventName"] == "PutObject"]
    assert len(puts) == 1
    assert not [r for r in records if r["eventName"] == "GetObject"]
    assert put["eventCategory"] == "Data" and put["managementEvent"] is False
    assert put["readOnly"] is False
    assert put["requestParameters"]["bucketName"] == data
    assert put["requestParameters"]["key"] == "watched/a.txt"
    assert put["resources"] == [
        {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{data}/watched/a.txt"},
        {"accountId": account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{data}"},
    ]
    tagging = next(r for r in records if r["eventName"] == "PutBucketTagging")
    assert tagging["eventCategory"] == "Management" and tagging["managementEvent"] is True
    # Data events never enter event history.
    names = {e["EventName"] for e in ct.lookup_events(MaxResults=50)["Events"]}
    assert "PutBucketTagging" in names and "PutObject" not in names


def test_failed_authentication_is_recorded_in_the_key_owners_account(
    fast_server: ServerProcess,
) -> None:
    server = fast_server
    root = root_of(server)
    account = server.management_account_id
    bucket, _ = single_trail(server)
    wrong = {"AccessKeyId": root["AccessKeyId"], "SecretAccessKey": "x" * 40}
    with pytest.raises(ClientError) as exc:
        client(server, "s3", wrong).list_buckets()
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    unknown = {"AccessKeyId": "AKIAUNKNOWNKEY000000", "SecretAccessKey": "y" * 40}
    with pytest.raises(ClientError):
        client(server, "s3", unknown).list_buckets()
    s3 = client(server, "s3", root)
    [rec] = wait_for_records(
        s3, bucket, account,
        lambda r: r["eventName"] == "ListBuckets" and r.get("errorCode") is not None,
    )  # fmt: skip
    assert rec["errorCode"] == "SignatureDoesNotMatch"
    assert rec["userIdentity"]["accountId"] == account
    assert rec["userIdentity"]["accessKeyId"] == root["AccessKeyId"]
    assert rec["responseElements"] is None
    time.sleep(1.5)
    assert "AKIAUNKNOWNKEY000000" not in all_text(s3, bucket)


def test_kill_between_response_and_delivery_delivers_exactly_once(
    server_factory: object,
) -> None:
    # Deliveries every 3 s: the kill lands after the API response, before its delivery.
    args = ["--trail-delivery-interval", "3", "--digest-interval", "4", "--test-clock"]
    server: ServerProcess = server_factory(extra_args=args)  # type: ignore[operator]
    root = root_of(server)
    account = server.management_account_id
    bucket, _ = single_trail(server)
    iam = client(server, "iam", root)
    s3 = client(server, "s3", root)
    iam.create_user(UserName="delivered-before")
    wait_for_records(s3, bucket, account, lambda r: r["eventName"] == "CreateUser")
    iam.create_user(UserName="acknowledged-then-crash")
    server.kill()
    server = server.restart()
    s3 = client(server, "s3", root)
    wait_for_records(
        s3, bucket, account,
        lambda r: (r.get("requestParameters") or {}).get("userName") == "acknowledged-then-crash",
    )  # fmt: skip
    time.sleep(4)
    names = Counter(
        r["requestParameters"]["userName"]
        for r in delivered(s3, bucket, account)
        if r["eventName"] == "CreateUser"
    )
    assert names == Counter({"delivered-before": 1, "acknowledged-then-crash": 1})
    events = Counter(r["eventID"] for r in delivered(s3, bucket, account))
    assert max(events.values()) == 1


def test_deleting_a_trail_flushes_its_last_events_and_digest(fast_server: ServerProcess) -> None:
    server = fast_server
    root = root_of(server)
    account = server.management_account_id
    bucket, _ = single_trail(server, validation=True)
    ct = client(server, "cloudtrail", root)
    s3 = client(server, "s3", root)
    client(server, "iam", root).create_user(UserName="last-words")
    ct.delete_trail(Name="main")
    with pytest.raises(ClientError) as exc:
        ct.get_trail(Name="main")
    assert exc.value.response["Error"]["Code"] == "TrailNotFoundException"
    [record] = wait_for_records(s3, bucket, account, lambda r: r["eventName"] == "CreateUser")
    # The final digest lists the file holding the last event.
    digests = f"AWSLogs/{account}/CloudTrail-Digest/us-east-1/"

    def final_digest() -> dict[str, object] | None:
        for key in reversed(list_keys(s3, bucket, digests)):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            document = json.loads(gzip.decompress(body))
            if any("CloudTrail/" in f["s3Object"] for f in document["logFiles"]):
                return document
        return None

    document = wait_for(final_digest)
    assert document["awsAccountId"] == account
    assert record["eventTime"] <= document["newestEventTime"]
    # The name is free again at once.
    ct.create_trail(Name="main", S3BucketName=bucket)


def test_server_options_set_the_cadence(server_factory: object) -> None:
    slow = ["--trail-delivery-interval", "30", "--digest-interval", "60"]
    server: ServerProcess = server_factory(extra_args=slow)  # type: ignore[operator]
    root = root_of(server)
    account = server.management_account_id
    bucket, _ = single_trail(server)
    client(server, "iam", root).create_user(UserName="waits")
    time.sleep(3)
    assert not delivered(client(server, "s3", root), bucket, account)
