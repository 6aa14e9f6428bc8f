"""S3 bucket policies (PolicyKind.RESOURCE): S3's rules and S3's texts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trailgate.policy.kinds import PolicyKind
from trailgate.policy.validate import (
    DUPLICATE_SID,
    INVALID_PRINCIPAL,
    MISSING_PRINCIPAL,
    S3_EMPTY_STATEMENT,
    S3_FIRST_BYTE,
    S3_INVALID_ACTION,
    S3_INVALID_JSON,
    S3_INVALID_RESOURCE,
    S3_INVALID_VERSION,
    S3_MISSING_EFFECT,
    S3_MISSING_ELEMENT,
    S3_MISSING_STATEMENT,
    S3_SYNTAX_ERROR,
    invalid_principal_message,
    s3_invalid_condition_type,
    validate_policy,
)

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"
BUCKET = "trail-logs-a"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT_A}:trail/main"


def bucket_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def grant(**extra: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_B}:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    statement.update(extra)
    return {key: value for key, value in statement.items() if value is not None}


def test_cloudtrail_bucket_policy() -> None:
    # CloudTrail User Guide, "Amazon S3 bucket policy for CloudTrail".
    policy = bucket_policy(
        {
            "Sid": "AWSCloudTrailAclCheck20150319",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": f"arn:aws:s3:::{BUCKET}",
            "Condition": {"StringEquals": {"aws:SourceArn": TRAIL_ARN}},
        },
        {
            "Sid": "AWSCloudTrailWrite20150319",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT_A}/*",
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    "aws:SourceArn": TRAIL_ARN,
                }
            },
        },
    )
    text = json.dumps(policy, indent=2)
    assert validate_policy(text, PolicyKind.RESOURCE) == []
    assert validate_policy(text, PolicyKind.RESOURCE, bucket=BUCKET) == []


def test_public_read_with_sid_containing_spaces() -> None:
    # S3 User Guide, "Examples of Amazon S3 bucket policies": granting read-only permission
    # to anonymous users. S3 accepts any characters in a Sid.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Public read for objects",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [f"arn:aws:s3:::{BUCKET}/*"],
            }
        ],
    }
    assert validate_policy(policy, PolicyKind.RESOURCE) == []


def test_deny_insecure_transport_with_not_principal_deny() -> None:
    policy = bucket_policy(
        {
            "Effect": "Deny",
            "NotPrincipal": {"AWS": [f"arn:aws:iam::{ACCOUNT_A}:root"]},
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    assert validate_policy(policy, PolicyKind.RESOURCE, bucket=BUCKET) == []


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": "*"},
        {"AWS": ACCOUNT_B},
        {"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
        {"AWS": "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHEXAMPLE"},
        {"AWS": f"arn:aws:sts::{ACCOUNT_B}:assumed-role/Reader/s"},
    ],
)
def test_valid_bucket_policy_principals(principal: Any) -> None:
    assert validate_policy(bucket_policy(grant(Principal=principal)), "resource") == []


@pytest.mark.parametrize(
    "resource",
    [
        "*",
        f"arn:aws:s3:::{BUCKET}/*",
        "arn:aws:s3:::trail-logs-*",
        "arn:aws:s3:::trail-?ogs-a/AWSLogs/*",
    ],
)
def test_resources_naming_the_bucket(resource: str) -> None:
    expected = [] if resource != "*" else [S3_INVALID_RESOURCE]
    policy = bucket_policy(grant(Resource=resource))
    assert validate_policy(policy, PolicyKind.RESOURCE, bucket=BUCKET) == expected


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:s3:::other-bucket/*",
        "arn:aws:s3:::trail-logs-ab",
        "arn:aws:iam::111111111111:role/x",
        "arn:aws:s3:us-east-1::trail-logs-a",
        "arn:aws:s3::111111111111:trail-logs-a",
        "arn:aws:s3:::",
        "trail-logs-a/*",
    ],
)
def test_resources_outside_the_bucket_are_refused(resource: str) -> None:
    policy = bucket_policy(grant(Resource=resource))
    assert validate_policy(policy, PolicyKind.RESOURCE, bucket=BUCKET) == [S3_INVALID_RESOURCE]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[1, 2]", S3_FIRST_BYTE),
        ("  nope", S3_FIRST_BYTE),
        ('{"Version": "2012-10-17",', S3_INVALID_JSON),
        ({"Version": "2012-10-18", "Statement": grant()}, S3_INVALID_VERSION),
        ({"Version": "2012-10-17"}, S3_MISSING_STATEMENT),
        ({"Version": "2012-10-17", "Statement": []}, S3_EMPTY_STATEMENT),
        ({"Version": "2012-10-17", "Statement": grant(), "Foo": 1}, S3_SYNTAX_ERROR),
        (bucket_policy(grant(Principal=None)), MISSING_PRINCIPAL),
        (bucket_policy(grant(Resource=None)), S3_MISSING_ELEMENT),
        (bucket_policy(grant(Action=None)), S3_MISSING_ELEMENT),
        (bucket_policy(grant(Effect=None)), S3_MISSING_EFFECT),
        (bucket_policy(grant(Effect="allow")), S3_SYNTAX_ERROR),
        (bucket_policy(grant(Action="iam:PassRole")), S3_INVALID_ACTION),
        (bucket_policy(grant(Action="GetObject")), S3_INVALID_ACTION),
        (bucket_policy(grant(Principal={"AWS": "bob"})), INVALID_PRINCIPAL),
        (bucket_policy(grant(Principal="arn:aws:iam::222222222222:root")), S3_SYNTAX_ERROR),
        (
            bucket_policy(grant(Effect="Allow", NotPrincipal={"AWS": ACCOUNT_B}, Principal=None)),
            S3_SYNTAX_ERROR,
        ),
        (
            bucket_policy(grant(Condition={"StringEqual": {"aws:SourceArn": TRAIL_ARN}})),
            s3_invalid_condition_type("StringEqual"),
        ),
        (bucket_policy(grant(Sid="a"), grant(Sid="a")), DUPLICATE_SID),
    ],
)
def test_s3_messages(document: Any, message: str) -> None:
    assert validate_policy(document, PolicyKind.RESOURCE)[0] == message


def test_invalid_principal_message_is_unnamed_for_s3() -> None:
    assert invalid_principal_message(PolicyKind.RESOURCE, "AWS", "bob") == INVALID_PRINCIPAL


def test_bucket_policies_may_omit_version() -> None:
    assert validate_policy({"Statement": [grant()]}, PolicyKind.RESOURCE) == []


def test_resource_policy_of_another_service_gets_generic_resource_checks() -> None:
    # Simulating an SQS queue policy: not a bucket policy, so "*" and SQS ARNs are valid.
    from trailgate.policy import PolicyKind, validate_policy

    sqs = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": "sqs:SendMessage",
                "Resource": "arn:aws:sqs:us-east-1:222222222222:queue",
            }
        ],
    }
    assert validate_policy(sqs, PolicyKind.RESOURCE) == []
    # With the bucket named, S3's rules apply: neither the action nor the resource is S3's.
    problems = validate_policy(sqs, PolicyKind.RESOURCE, bucket="logs")
    assert "Policy has invalid resource" in problems
    assert "Policy has invalid action" in problems
