"""The CloudTrail trail API through boto3: creating (with the bucket and bucket-policy checks),
describing, updating and deleting trails, tags, event selectors, public keys, and the IAM
authorization each operation declares."""

from __future__ import annotations

import hashlib

import pytest
import rsa
from botocore.exceptions import ClientError
from trail_support import allow, client, delivery_policy, make_user, root_of, trail_arn

from trailgate.testing.server import ServerProcess


def code_message(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


@pytest.fixture
def setup(server: ServerProcess) -> tuple[ServerProcess, str, str]:
    """A bucket of the management account that lets trails "one" and "two" deliver."""
    account = server.management_account_id
    bucket = f"api-{account}"
    s3 = client(server, "s3", root_of(server))
    s3.create_bucket(Bucket=bucket)
    writers = [(account, trail_arn(account, "one")), (account, trail_arn(account, "two"))]
    s3.put_bucket_policy(Bucket=bucket, Policy=delivery_policy(bucket, writers))
    return server, account, bucket


def test_create_trail_checks_name_bucket_and_policy(setup: tuple[ServerProcess, str, str]) -> None:
    server, account, bucket = setup
    root = root_of(server)
    ct = client(server, "cloudtrail", root)
    bad_names = {
        "ab": "Trail name too short. Minimum allowed length: 3 characters. "
        "Specified name length: 2 characters.",
        "a" * 129: "Trail name too long. Maximum allowed length: 128 characters. "
        "Specified name length: 129 characters.",
        "-abc": "Trail name must starts with a letter or number.",
        "abc_": "Trail name must ends with a letter or number.",
        "my#trail": "Trail name or ARN can only contain uppercase letters, lowercase letters, "
        "numbers, periods (.), hyphens (-), and underscores (_).",
        "my--trail": "Trail name cannot contain adjacent periods, hyphens or underscores.",
        "192.168.5.4": "Trail name cannot be formatted as an IP address.",
    }
    for name, message in bad_names.items():
        with pytest.raises(ClientError) as exc:
            ct.create_trail(Name=name, S3BucketName=bucket)
        assert code_message(exc) == ("InvalidTrailNameException", message)

    with pytest.raises(ClientError) as exc:
        ct.create_trail(Name="one", S3BucketName="no-such-bucket-anywhere")
    assert code_message(exc) == (
        "S3BucketDoesNotExistException",
        "S3 bucket no-such-bucket-anywhere does not exist!",
    )
    # The bucket policy names trails "one" and "two" only (aws:SourceArn).
    with pytest.raises(ClientError) as exc:
        ct.create_trail(Name="three", S3BucketName=bucket)
    assert code_message(exc) == (
        "InsufficientS3BucketPolicyException",
        f"Incorrect S3 bucket policy is detected for bucket: {bucket}",
    )
    # ... and the account's own AWSLogs path only.
    with pytest.raises(ClientError) as exc:
        ct.create_trail(Name="one", S3BucketName=bucket, S3KeyPrefix="elsewhere")
    assert code_message(exc)[0] == "InsufficientS3BucketPolicyException"
    with pytest.raises(ClientError) as exc:
        ct.create_trail(
            Name="one", S3BucketName=bucket, IsMultiRegionTrail=True,
            IncludeGlobalServiceEvents=False,
        )  # fmt: skip
    assert code_message(exc)[0] == "InvalidParameterCombinationException"
    with pytest.raises(ClientError) as exc:
        ct.create_trail(Name="one", S3BucketName=bucket, SnsTopicName="topic")
    assert code_message(exc)[0] == "InsufficientSnsTopicPolicyException"

    out = ct.create_trail(Name="one", S3BucketName=bucket, EnableLogFileValidation=True,
                          TagsList=[{"Key": "team", "Value": "audit"}])
    assert out["TrailARN"] == trail_arn(account, "one")
    assert out["Name"] == "one" and out["S3BucketName"] == bucket
    assert out["IncludeGlobalServiceEvents"] is True and out["IsMultiRegionTrail"] is False
    assert out["LogFileValidationEnabled"] is True and out["IsOrganizationTrail"] is False
    with pytest.raises(ClientError) as exc:
        ct.create_trail(Name="one", S3BucketName=bucket)
    assert code_message(exc) == (
        "TrailAlreadyExistsException",
        f"Trail one already exists for customer: {account}",
    )
    # Created, but not logging until StartLogging.
    assert ct.get_trail_status(Name="one")["IsLogging"] is False
    ct.start_logging(Name="one")
    status = ct.get_trail_status(Name="one")
    assert status["IsLogging"] is True and "StartLoggingTime" in status
    ct.stop_logging(Name=trail_arn(account, "one"))
    status = ct.get_trail_status(Name="one")
    assert status["IsLogging"] is False and "StopLoggingTime" in status


def test_describe_get_list_update_delete(setup: tuple[ServerProcess, str, str]) -> None:
    server, account, bucket = setup
    ct = client(server, "cloudtrail", root_of(server))
    ct.create_trail(Name="one", S3BucketName=bucket)
    ct.create_trail(Name="two", S3BucketName=bucket)
    other = server.create_account("Other")
    other_ct = client(server, "cloudtrail", {"AccessKeyId": other["RootAccessKeyId"],
                                             "SecretAccessKey": other["RootSecretAccessKey"]})
    assert other_ct.describe_trails()["trailList"] == []

    listed = ct.describe_trails()["trailList"]
    assert [t["Name"] for t in listed] == ["one", "two"]
    one = listed[0]
    assert one == {
        "Name": "one",
        "S3BucketName": bucket,
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": False,
        "HomeRegion": "us-east-1",
        "TrailARN": trail_arn(account, "one"),
        "LogFileValidationEnabled": False,
        "HasCustomEventSelectors": False,
        "HasInsightSelectors": False,
        "IsOrganizationTrail": False,
    }
    assert ct.describe_trails(trailNameList=[trail_arn(account, "two")])["trailList"][0][
        "Name"
    ] == "two"
    assert ct.describe_trails(trailNameList=["one", "missing"])["trailList"] == [one]
    assert ct.get_trail(Name="one")["Trail"] == one
    assert ct.get_trail(Name=trail_arn(account, "one"))["Trail"] == one
    assert ct.list_trails()["Trails"] == [
        {"TrailARN": trail_arn(account, n), "Name": n, "HomeRegion": "us-east-1"}
        for n in ("one", "two")
    ]

    updated = ct.update_trail(Name="one", EnableLogFileValidation=True)
    assert updated["LogFileValidationEnabled"] is True
    with pytest.raises(ClientError) as exc:
        ct.update_trail(Name="one", S3KeyPrefix="not-allowed")
    assert code_message(exc)[0] == "InsufficientS3BucketPolicyException"
    assert ct.get_trail(Name="one")["Trail"].get("S3KeyPrefix") is None

    ct.delete_trail(Name="two")
    for call in (ct.get_trail, ct.get_trail_status, ct.delete_trail, ct.start_logging):
        with pytest.raises(ClientError) as exc:
            call(Name="two")
        assert code_message(exc) == (
            "TrailNotFoundException",
            f"Unknown trail: two for the user: {account}",
        )
    assert [t["Name"] for t in ct.describe_trails()["trailList"]] == ["one"]
    with pytest.raises(ClientError) as exc:
        ct.get_trail(Name="arn:aws:cloudtrail:us-east-1:notanaccount:trail/x")
    assert code_message(exc)[0] == "CloudTrailARNInvalidException"


def test_tags(setup: tuple[ServerProcess, str, str]) -> None:
    server, account, bucket = setup
    ct = client(server, "cloudtrail", root_of(server))
    arn = ct.create_trail(Name="one", S3BucketName=bucket,
                          TagsList=[{"Key": "a", "Value": "1"}])["TrailARN"]
    ct.add_tags(ResourceId=arn, TagsList=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    tags = ct.list_tags(ResourceIdList=[arn])["ResourceTagList"]
    assert tags == [{"ResourceId": arn, "TagsList": [{"Key": "a", "Value": "3"},
                                                     {"Key": "b", "Value": "2"}]}]
    ct.remove_tags(ResourceId=arn, TagsList=[{"Key": "a"}])
    assert ct.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"] == [
        {"Key": "b", "Value": "2"}
    ]
    with pytest.raises(ClientError) as exc:
        ct.add_tags(ResourceId=arn, TagsList=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert code_message(exc)[0] == "TagsLimitExceededException"
    with pytest.raises(ClientError) as exc:
        ct.add_tags(ResourceId="one", TagsList=[{"Key": "x", "Value": "y"}])
    assert code_message(exc)[0] == "CloudTrailARNInvalidException"
    with pytest.raises(ClientError) as exc:
        ct.list_tags(ResourceIdList=[trail_arn(account, "nope")])
    assert code_message(exc)[0] == "ResourceNotFoundException"


def test_event_selectors(setup: tuple[ServerProcess, str, str]) -> None:
    server, _, bucket = setup
    ct = client(server, "cloudtrail", root_of(server))
    arn = ct.create_trail(Name="one", S3BucketName=bucket)["TrailARN"]
    default = ct.get_event_selectors(TrailName="one")
    assert default["TrailARN"] == arn
    assert default["EventSelectors"] == [
        {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
         "ExcludeManagementEventSources": []}
    ]  # fmt: skip
    selectors = [
        {
            "ReadWriteType": "ReadOnly",
            "IncludeManagementEvents": False,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{bucket}/"]}],
        }
    ]
    out = ct.put_event_selectors(TrailName="one", EventSelectors=selectors)
    assert out["EventSelectors"][0]["ReadWriteType"] == "ReadOnly"
    assert ct.get_event_selectors(TrailName=arn)["EventSelectors"][0]["DataResources"] == (
        selectors[0]["DataResources"]
    )
    assert ct.get_trail(Name="one")["Trail"]["HasCustomEventSelectors"] is True
    advanced = [
        {
            "Name": "writes to the bucket",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "readOnly", "Equals": ["false"]},
            ],
        }
    ]
    out = ct.put_event_selectors(TrailName="one", AdvancedEventSelectors=advanced)
    assert out["AdvancedEventSelectors"] == advanced
    got = ct.get_event_selectors(TrailName="one")
    assert got["AdvancedEventSelectors"] == advanced and "EventSelectors" not in got
    with pytest.raises(ClientError) as exc:
        ct.put_event_selectors(
            TrailName="one", EventSelectors=selectors, AdvancedEventSelectors=advanced
        )
    assert code_message(exc)[0] == "InvalidParameterCombinationException"
    for bad in (
        [{"DataResources": [{"Type": "AWS::Nothing", "Values": []}]}],
        [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["bucket/"]}]}],
        [{"ReadWriteType": "All"}] * 6,
    ):
        with pytest.raises(ClientError) as exc:
            ct.put_event_selectors(TrailName="one", EventSelectors=bad)
        assert code_message(exc)[0] == "InvalidEventSelectorsException"
    with pytest.raises(ClientError) as exc:
        ct.get_event_selectors(TrailName="missing")
    assert code_message(exc)[0] == "TrailNotFoundException"


def test_list_public_keys_serves_pkcs1_der_and_md5_fingerprints(server: ServerProcess) -> None:
    ct = client(server, "cloudtrail", root_of(server))
    keys = ct.list_public_keys()["PublicKeyList"]
    assert len(keys) == 1
    key = keys[0]
    # boto3 has already undone the one base64 of the wire.
    assert key["Fingerprint"] == hashlib.md5(key["Value"]).hexdigest()
    public = rsa.PublicKey.load_pkcs1(key["Value"], "DER")
    assert public.n.bit_length() == 2048
    assert key["ValidityStartTime"] < key["ValidityEndTime"]
    assert ct.list_public_keys()["PublicKeyList"] == keys
    with pytest.raises(ClientError) as exc:
        ct.list_public_keys(StartTime=key["ValidityEndTime"], EndTime=key["ValidityStartTime"])
    assert code_message(exc)[0] == "InvalidTimeRangeException"


def test_operations_are_authorized_by_iam(setup: tuple[ServerProcess, str, str]) -> None:
    server, account, bucket = setup
    root = root_of(server)
    client(server, "cloudtrail", root).create_trail(Name="one", S3BucketName=bucket)
    client(server, "cloudtrail", root).create_trail(Name="two", S3BucketName=bucket)
    nobody = client(server, "cloudtrail", make_user(server, root, "nobody", None))
    for call, kwargs in (
        (nobody.describe_trails, {}),
        (nobody.get_trail, {"Name": "one"}),
        (nobody.lookup_events, {}),
        (nobody.create_trail, {"Name": "three", "S3BucketName": bucket}),
    ):
        with pytest.raises(ClientError) as exc:
            call(**kwargs)
        code, message = code_message(exc)
        assert code == "AccessDeniedException"
        assert message.startswith(f"User: arn:aws:iam::{account}:user/nobody is not authorized")
    reader = client(
        server,
        "cloudtrail",
        make_user(
            server, root, "reader",
            allow(["cloudtrail:GetTrail", "cloudtrail:GetTrailStatus"], trail_arn(account, "one")),
        ),
    )  # fmt: skip
    assert reader.get_trail(Name="one")["Trail"]["Name"] == "one"
    assert reader.get_trail_status(Name="one")["IsLogging"] is False
    with pytest.raises(ClientError) as exc:
        reader.get_trail(Name="two")
    code, message = code_message(exc)
    assert code == "AccessDeniedException"
    assert f"cloudtrail:GetTrail on resource: {trail_arn(account, 'two')}" in message
    with pytest.raises(ClientError) as exc:
        reader.stop_logging(Name="one")
    assert code_message(exc)[0] == "AccessDeniedException"
