"""The pure parts of CloudTrail recording: names and times as CloudTrail writes them, redaction of
secrets by key name, event selectors, the copies a call produces, file names and digests."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from datetime import UTC, datetime

import rsa

from trailgate.auth.principal import Principal
from trailgate.calls import ApiCall
from trailgate.errors import AwsError
from trailgate.protocol.models import operation_model
from trailgate.store.db import Database
from trailgate.store.sealing import Sealer
from trailgate.trail import digest, shapes, writer
from trailgate.trail.keys import KeyRing
from trailgate.trail.records import Facts, build_rows
from trailgate.trail.redaction import REDACTED, is_secret_name
from trailgate.trail.selectors import EventFacts, TrailFilter, validate_advanced, validate_basic

A, B = "111111111111", "222222222222"
# trailscraper 0.10.0's file-name pattern (it skips files that do not match).
TRAILSCRAPER_NAME = re.compile(r"[0-9]+_CloudTrail_[a-z0-9-]+_[0-9TZ]+_[a-zA-Z0-9]+\.json\.gz")


def test_camel_case_like_cloudtrail() -> None:
    assert shapes.camel("UserName") == "userName"
    assert shapes.camel("S3BucketName") == "s3BucketName"
    assert shapes.camel("KMSKeyId") == "kmsKeyId"
    assert shapes.camel("ARN") == "arn"
    assert shapes.camel("RoleSessionName") == "roleSessionName"
    assert shapes.camel("name") == "name"


def test_times_like_aws_services_write_them() -> None:
    assert shapes.aws_time(datetime(2024, 5, 1, 11, 5, 12, tzinfo=UTC)) == (
        "May 1, 2024, 11:05:12 AM"
    )
    assert shapes.aws_time(datetime(2014, 3, 24, 21, 11, 59, tzinfo=UTC)) == (
        "Mar 24, 2014, 9:11:59 PM"
    )
    assert shapes.aws_time(datetime(2024, 1, 2, 0, 0, 1, tzinfo=UTC)).endswith("12:00:01 AM")


def test_secret_names_in_any_spelling() -> None:
    for name in (
        "SecretAccessKey", "secretAccessKey", "SessionToken", "x-amz-security-token",
        "Password", "NewPassword", "OldPassword", "SAMLAssertion", "WebIdentityToken",
        "x-amz-server-side-encryption-customer-key", "AuthenticationCode1", "TokenCode",
        "PrivateKey", "ClientSecret",
    ):  # fmt: skip
        assert is_secret_name(name), name
    for name in ("UserName", "AccessKeyId", "NextToken", "RoleArn", "Marker", "Policy"):
        assert not is_secret_name(name), name


def test_redaction_follows_shapes_and_names() -> None:
    output = {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLEEXAMPLE01",
            "SecretAccessKey": "s3cr3t",
            "SessionToken": "t0k3n",
            "Expiration": datetime(2024, 5, 1, 11, 5, 12, tzinfo=UTC),
        },
        "AssumedRoleUser": {"AssumedRoleId": "AROA:x", "Arn": "arn:aws:sts::1:assumed-role/r/x"},
    }
    shape = operation_model("sts", "AssumeRole").output_shape
    converted = shapes.convert_top(shape, output)
    assert converted == {
        "credentials": {
            "accessKeyId": "ASIAEXAMPLEEXAMPLE01",
            "secretAccessKey": REDACTED,
            "sessionToken": REDACTED,
            "expiration": "May 1, 2024, 11:05:12 AM",
        },
        "assumedRoleUser": {"assumedRoleId": "AROA:x", "arn": "arn:aws:sts::1:assumed-role/r/x"},
    }
    # Values that do not follow any shape are still redacted by name, keys camel-cased.
    assert shapes.convert(None, {"Outer": {"Password": "p", "Keep": 1}}) == {
        "outer": {"password": REDACTED, "keep": 1}
    }


def test_s3_parameters_use_wire_names_and_skip_bodies() -> None:
    shape = operation_model("s3", "PutObject").input_shape
    params = {
        "Bucket": "b", "Key": "k", "Body": b"data", "ACL": "bucket-owner-full-control",
        "ContentType": "application/json", "Metadata": {"signature": "abc"},
        "SSECustomerKey": "very-secret",
    }  # fmt: skip
    converted = shapes.convert_s3(shape, params)
    assert converted["x-amz-acl"] == "bucket-owner-full-control"
    assert converted["Content-Type"] == "application/json"
    assert converted["x-amz-meta-signature"] == "abc"
    assert converted["x-amz-server-side-encryption-customer-key"] == REDACTED
    assert "Body" not in converted and "body" not in converted and "very-secret" not in str(
        converted
    )


def _call(**kwargs: object) -> ApiCall:
    base: dict[str, object] = {
        "service": "sts",
        "operation": "AssumeRole",
        "request_id": "11111111-2222-3333-4444-555555555555",
        "event_time": datetime(2024, 5, 1, 10, 5, 12, 345000, tzinfo=UTC),
        "principal": Principal.iam_user(B, "bob", "AIDABOB", access_key_id="AKIABOB"),
        "access_key_id": "AKIABOB",
        "source_ip": "198.51.100.7",
        "user_agent": "aws-cli/1.45",
        "region": "us-east-1",
        "params": {"RoleArn": f"arn:aws:iam::{A}:role/Audit", "RoleSessionName": "s"},
    }
    base.update(kwargs)
    return ApiCall(**base)  # type: ignore[arg-type]


def test_a_cross_account_call_gives_two_copies() -> None:
    call = _call()
    call.trail["shared_with_account"] = A
    call.trail["resources"] = [
        {"accountId": A, "type": "AWS::IAM::Role", "ARN": f"arn:aws:iam::{A}:role/Audit"}
    ]
    call.trail["role"] = object()  # operations may leave values that are not JSON
    assert call.principal is not None
    rows = build_rows(call, Facts(call.principal, "AKIABOB"))
    assert [r.account_id for r in rows] == [B, A]
    mine, theirs = (json.loads(r.record) for r in rows)
    assert mine["userIdentity"]["type"] == "IAMUser"
    assert theirs["userIdentity"] == {"type": "AWSAccount", "principalId": "AIDABOB",
                                      "accountId": B}
    assert mine["sharedEventID"] == theirs["sharedEventID"]
    assert mine["eventTime"] == "2024-05-01T10:05:12Z"
    assert rows[0].username == "bob" and rows[1].username is None


def test_who_receives_what() -> None:
    assert build_rows(_call(), Facts(Principal.aws_service("x.amazonaws.com"), None)) == []
    anonymous = _call(service="s3", operation="GetObject", bucket="b", key="k", params={})
    rows = build_rows(anonymous, Facts(Principal.anonymous(), None, bucket_owner=A))
    assert [r.account_id for r in rows] == [A]
    assert json.loads(rows[0].record)["userIdentity"]["accountId"] == "ANONYMOUS_PRINCIPAL"
    # Data events go only where a trail wants them.
    assert build_rows(anonymous, Facts(Principal.anonymous(), None, bucket_owner=A),
                      wants_data_event=lambda account: False) == []
    failed = _call(error=AwsError("AccessDenied", "denied", 403))
    record = json.loads(build_rows(failed, Facts(failed.principal, None))[0].record)  # type: ignore[arg-type]
    assert record["errorCode"] == "AccessDenied" and record["responseElements"] is None


def test_selectors() -> None:
    management = EventFacts(True, "iam.amazonaws.com", "CreateUser", False)
    read = EventFacts(True, "iam.amazonaws.com", "GetUser", True)
    put = EventFacts(False, "s3.amazonaws.com", "PutObject", False, bucket="b", key="logs/x")
    other = EventFacts(False, "s3.amazonaws.com", "PutObject", False, bucket="b", key="tmp/x")
    default = TrailFilter.from_json(None, None)
    assert default.matches(management) and default.matches(read)
    assert not default.matches(put)
    write_only = TrailFilter(tuple(validate_basic([{
        "ReadWriteType": "WriteOnly",
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::b/logs/"]}],
    }])), None)  # fmt: skip
    assert write_only.matches(management) and not write_only.matches(read)
    assert write_only.matches(put) and not write_only.matches(other)
    advanced = TrailFilter((), tuple(validate_advanced([{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::b/tmp/"]},
    ]}])))  # fmt: skip
    assert advanced.matches(other) and not advanced.matches(put)
    assert not advanced.matches(management)
    # Whether a filter may select any data event (the recorder skips them when none may).
    assert not default.may_select_data_events()
    assert write_only.may_select_data_events() and advanced.may_select_data_events()
    management_only = TrailFilter((), tuple(validate_advanced([{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]},
    ]}])))  # fmt: skip
    assert not management_only.may_select_data_events()
    assert management_only.matches(management) and not management_only.matches(put)


def test_log_file_names_suit_trailscraper() -> None:
    moment = datetime(2024, 5, 1, 10, 5, 59, tzinfo=UTC)
    for _ in range(50):
        key = writer.log_file_key("pfx/", A, "us-east-1", moment, writer.unique_suffix())
        name = key.rsplit("/", 1)[1]
        assert TRAILSCRAPER_NAME.fullmatch(name)
        assert name.split("_")[3] == "20240501T1005Z"
        assert key.startswith(f"pfx/AWSLogs/{A}/CloudTrail/us-east-1/2024/05/01/")
    body = writer.log_body(['{"a":1}', '{"b":2}'])
    assert json.loads(body) == {"Records": [{"a": 1}, {"b": 2}]}
    assert writer.compress(body) == writer.compress(body)  # byte for byte, for re-writes
    assert gzip.decompress(writer.compress(body)) == body


def test_digest_signature_verifies_like_the_aws_cli(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/keys.sqlite3")
    from trailgate.store.migrations import migrate

    migrate(db)
    ring = KeyRing(db, Sealer(b"k" * 32))
    now = datetime(2024, 5, 1, 11, 0, 0, tzinfo=UTC)
    key = ring.current("us-east-1", now)
    assert ring.current("us-east-1", now).public.fingerprint == key.public.fingerprint
    assert key.public.fingerprint == hashlib.md5(key.public.der).hexdigest()
    files = [digest.LogFileEntry("b", "k1", "ab" * 32, now, now)]
    first = digest.build(
        account_id=A, start=now, end=now, bucket="b", key="d1", signing_key=key,
        log_files=files, previous=None,
    )  # fmt: skip
    second = digest.build(
        account_id=A, start=now, end=now, bucket="b", key="d2", signing_key=key, log_files=[],
        previous=digest.Previous("b", "d1", first.sha256, first.signature),
    )  # fmt: skip
    public = rsa.PublicKey.load_pkcs1(key.public.der, "DER")
    for signed, previous in ((first, "null"), (second, first.signature)):
        data = json.loads(signed.body)
        to_sign = (
            f"{data['digestEndTime']}\n{data['digestS3Bucket']}/{data['digestS3Object']}\n"
            f"{hashlib.sha256(signed.body).hexdigest()}\n{previous}"
        )
        assert rsa.verify(to_sign.encode(), bytes.fromhex(signed.signature), public) == "SHA-256"
    data = json.loads(second.body)
    assert data["previousDigestHashValue"] == hashlib.sha256(first.body).hexdigest()
    assert data["previousDigestHashAlgorithm"] == "SHA-256"
    assert json.loads(first.body)["previousDigestSignature"] is None
    assert json.loads(first.body)["logFiles"][0]["hashValue"] == "ab" * 32
    db.dispose()


def test_console_records() -> None:
    user = Principal.iam_user(A, "alice", "AIDAALICE")
    signin = _call(
        service="signin", operation="ConsoleLogin", principal=user, access_key_id=None,
        params=None, output={"ConsoleLogin": "Failure"}, event_type="AwsConsoleSignIn",
    )  # fmt: skip
    signin.trail["additionalEventData"] = {"LoginTo": "https://x/console/home", "MFAUsed": "No"}
    signin.trail["errorMessage"] = "Failed authentication"
    record = json.loads(build_rows(signin, Facts(user, None))[0].record)
    assert record["eventSource"] == "signin.amazonaws.com"
    assert record["eventType"] == "AwsConsoleSignIn"
    assert record["responseElements"] == {"ConsoleLogin": "Failure"}
    assert record["additionalEventData"] == {"LoginTo": "https://x/console/home", "MFAUsed": "No"}
    assert record["errorMessage"] == "Failed authentication" and "errorCode" not in record
    assert record["requestParameters"] is None
    assert "accessKeyId" not in record["userIdentity"]
    unknown = Principal(kind="IAMUser", account_id=A, principal_id=A,
                        user_name="HIDDEN_DUE_TO_SECURITY_REASONS")
    record = json.loads(build_rows(signin, Facts(unknown, None))[0].record)
    assert record["userIdentity"] == {"type": "IAMUser", "principalId": A, "accountId": A,
                                      "userName": "HIDDEN_DUE_TO_SECURITY_REASONS"}
    action = _call(service="iam", operation="ListUsers", principal=user, access_key_id=None,
                   params={}, event_type="AwsConsoleAction", read_only=True)
    record = json.loads(build_rows(action, Facts(user, None))[0].record)
    assert record["eventType"] == "AwsConsoleAction"
    assert record["sessionCredentialFromConsole"] == "true"
    assert list(record)[-1] == "sessionCredentialFromConsole"
