"""ARN and principal shapes (trailgate.policy.arns)."""

from __future__ import annotations

import pytest

from trailgate.policy import arns


def test_split_arn() -> None:
    parsed = arns.split_arn("arn:aws:s3:::bucket/key:with:colons")
    assert parsed == arns.Arn("aws", "s3", "", "", "bucket/key:with:colons")
    assert arns.split_arn("arn:aws:s3::bucket") is None
    assert arns.split_arn("urn:aws:s3:::bucket") is None


@pytest.mark.parametrize(
    "resource",
    [
        "*",
        "arn:aws:s3:::bucket",
        "arn:aws:s3:::bucket/*",
        "arn:*:s3:::bucket",
        "arn:aws-us-gov:ec2:us-gov-west-1:111111111111:instance/*",
        "arn:aws:iam::111111111111:user/${aws:username}",
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "arn:aws:iam::111111111111:*",
        "arn:aws:dynamodb:*:*:table/Books",
    ],
)
def test_resources_iam_accepts(resource: str) -> None:
    assert arns.iam_resource_problem(resource) is None
    assert not arns.fails_legacy_resource_parse(resource)


def test_legacy_parse_rules() -> None:
    assert arns.fails_legacy_resource_parse("arn:aws:s3::bucket")
    assert arns.fails_legacy_resource_parse("arn:aws::::bucket")
    assert not arns.fails_legacy_resource_parse("arn:aws:fdsasf")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("*", True),
        ("111111111111", True),
        ("11111111111", False),
        ("arn:aws:iam::111111111111:root", True),
        ("arn:aws:iam::111111111111:user/a/b/c", True),
        ("arn:aws:iam::111111111111:user/", False),
        ("arn:aws:iam::111111111111:role/R", True),
        ("arn:aws:iam::111111111111:federated-user/f", True),
        ("arn:aws:sts::111111111111:assumed-role/R/s", True),
        ("arn:aws:sts::111111111111:assumed-role/R/s/extra", False),
        ("arn:aws:iam::111111111111:group/G", False),
        ("arn:aws:iam::*:root", False),
        ("arn:aws:iam::111111111111:role/*", False),
        ("AIDAJQABLZS4A3QDU576Q", True),
        ("AKIAIOSFODNN7EXAMPLE", False),
        ("arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1", True),
    ],
)
def test_aws_principals(value: str, valid: bool) -> None:
    assert arns.is_valid_aws_principal(value) is valid


def test_other_principal_kinds() -> None:
    assert arns.is_valid_service_principal("logs.us-east-1.amazonaws.com")
    assert not arns.is_valid_service_principal("amazonaws.com")
    assert arns.is_valid_federated_principal("graph.facebook.com")
    assert arns.is_valid_federated_principal("arn:aws:iam::111111111111:saml-provider/Okta")
    assert not arns.is_valid_federated_principal("arn:aws:iam::111111111111:user/bob")
    assert arns.is_canonical_user_id("a" * 64)
    assert not arns.is_canonical_user_id("A" * 64)


def test_bucket_policy_resources() -> None:
    assert arns.is_bucket_policy_resource("arn:aws:s3:::b/k")
    assert arns.is_bucket_policy_resource("arn:aws:s3:::b[1]/k", "b[1]")
    assert not arns.is_bucket_policy_resource("arn:aws:s3:::b1/k", "b[1]")
    assert not arns.is_bucket_policy_resource("arn:aws:s3:::b", "c")
