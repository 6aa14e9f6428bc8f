"""Cases taken from examples in the AWS IAM User Guide; each test names its page."""

from __future__ import annotations

import pytest
from policy_helpers import A, B, decide, identity

from trailgate.policy import Decision, PolicyKind, compile_policy

USER = f"arn:aws:iam::{A}:user/JohnDoe"


# "The difference between explicit and implicit denies"
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html
@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("iam:GetUser", Decision.ALLOWED),
        ("iam:ListRoles", Decision.ALLOWED),
        ("iam:CreatePolicy", Decision.IMPLICITLY_DENIED),
        ("iam:GetOrganizationsAccessReport", Decision.EXPLICITLY_DENIED),
        ("iam:GenerateCredentialReport", Decision.EXPLICITLY_DENIED),
    ],
)
def test_explicit_and_implicit_denies_example(action: str, expected: Decision) -> None:
    policy = identity(
        {"Sid": "AllowGetList", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"],
         "Resource": "*"},
        {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"},
    )
    result = decide(USER, action, "*", identity_policies=[policy])
    assert result.decision is expected
    if expected is Decision.EXPLICITLY_DENIED:
        get_or_list = action.startswith(("iam:Get", "iam:List"))
        expected_sids = ["AllowGetList", "DenyReports"] if get_or_list else ["DenyReports"]
        assert [m.sid for m in result.matched] == expected_sids


# "IAM JSON policy elements: Condition operators", ...IfExists
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists
def test_if_exists_example_run_instances() -> None:
    policy = identity(
        {"Sid": "RunInstance", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*",
         "Condition": {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}},
    )
    image = "arn:aws:ec2:us-east-1::image/ami-1"
    instance = f"arn:aws:ec2:us-east-1:{A}:instance/*"
    assert decide(USER, "ec2:RunInstances", image, identity_policies=[policy]).allowed
    assert decide(USER, "ec2:RunInstances", instance, identity_policies=[policy],
                  context={"ec2:InstanceType": "t2.micro"}).allowed
    assert not decide(USER, "ec2:RunInstances", instance, identity_policies=[policy],
                      context={"ec2:InstanceType": "m5.large"}).allowed
    without_if_exists = identity(
        {"Sid": "THISPOLICYDOESNOTWORK", "Effect": "Allow", "Action": "ec2:RunInstances",
         "Resource": "*",
         "Condition": {"StringLike": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}},
        name="broken")
    assert not decide(USER, "ec2:RunInstances", image, identity_policies=[without_if_exists]
                      ).allowed


# Same page, "Condition operator to check existence of condition keys" (Null)
def test_null_example_no_temporary_credentials() -> None:
    policy = identity({"Action": "ec2:*", "Effect": "Allow", "Resource": "*",
                       "Condition": {"Null": {"aws:TokenIssueTime": "true"}}})
    assert decide(USER, "ec2:DescribeInstances", "*", identity_policies=[policy]).allowed
    assert not decide(USER, "ec2:DescribeInstances", "*", identity_policies=[policy],
                      context={"aws:TokenIssueTime": "2024-05-01T10:05:12Z"}).allowed


# Same page, Boolean example: deny S3 when the request is not over TLS
def test_bool_example_secure_transport() -> None:
    policy = identity(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Sid": "BooleanExample", "Action": "s3:*", "Effect": "Deny",
         "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    obj = "arn:aws:s3:::DOC-EXAMPLE-BUCKET/k"
    assert decide(USER, "s3:GetObject", obj, identity_policies=[policy],
                  context={"aws:SecureTransport": True}).allowed
    assert decide(USER, "s3:GetObject", obj, identity_policies=[policy],
                  context={"aws:SecureTransport": False}).decision is Decision.EXPLICITLY_DENIED


# "AWS: Denies access to AWS based on the source IP"
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws_deny-ip.html
def test_deny_outside_source_ip_example() -> None:
    policy = identity(
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]},
                       "Bool": {"aws:ViaAWSService": "false"}}})
    inside = {"aws:SourceIp": "203.0.113.9", "aws:ViaAWSService": False}
    outside = {"aws:SourceIp": "198.51.100.9", "aws:ViaAWSService": False}
    via_service = {"aws:SourceIp": "198.51.100.9", "aws:ViaAWSService": True}
    assert decide(USER, "s3:ListAllMyBuckets", "*", identity_policies=[policy],
                  context=inside).allowed
    assert decide(USER, "s3:ListAllMyBuckets", "*", identity_policies=[policy],
                  context=outside).decision is Decision.EXPLICITLY_DENIED
    assert decide(USER, "s3:ListAllMyBuckets", "*", identity_policies=[policy],
                  context=via_service).allowed


# "AWS: Allows access based on date and time" and the multiple-keys page
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws-dates.html
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
def test_date_window_and_ip_list_example() -> None:
    policy = identity({
        "Effect": "Allow", "Action": "service-prefix:action-name", "Resource": "*",
        "Condition": {
            "DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
            "DateLessThan": {"aws:CurrentTime": "2020-06-30T23:59:59Z"},
            "IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]},
        }})
    base = {"aws:SourceIp": "192.0.2.10"}
    ok = {**base, "aws:CurrentTime": "2020-05-01T12:00:00Z"}
    assert decide(USER, "service-prefix:action-name", "*", identity_policies=[policy],
                  context=ok).allowed
    assert not decide(USER, "service-prefix:action-name", "*", identity_policies=[policy],
                      context={**base, "aws:CurrentTime": "2020-07-01T00:00:00Z"}).allowed
    assert not decide(USER, "service-prefix:action-name", "*", identity_policies=[policy],
                      context={**ok, "aws:SourceIp": "198.51.100.1"}).allowed


# "AWS: Denies access to AWS based on MFA" style: BoolIfExists on aws:MultiFactorAuthPresent
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists
def test_mfa_deny_with_bool_if_exists() -> None:
    policy = identity(
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "DenyWithoutMFA", "Effect": "Deny", "Action": "ec2:StopInstances",
         "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}})
    assert decide(USER, "ec2:StopInstances", "*", identity_policies=[policy]
                  ).decision is Decision.EXPLICITLY_DENIED  # long-term keys: key absent
    assert decide(USER, "ec2:StopInstances", "*", identity_policies=[policy],
                  context={"aws:MultiFactorAuthPresent": "true"}).allowed


# "Single-valued vs. multivalued context keys", ForAllValues with aws:TagKeys
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
def test_for_all_values_tag_keys_example() -> None:
    policy = identity({"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
                       "Condition": {"ForAllValues:StringEquals": {
                           "aws:TagKeys": ["environment", "cost-center"]}}})
    assert decide(USER, "ec2:CreateTags", "*", identity_policies=[policy],
                  context={"aws:TagKeys": ["environment"]}).allowed
    assert not decide(USER, "ec2:CreateTags", "*", identity_policies=[policy],
                      context={"aws:TagKeys": ["environment", "owner"]}).allowed
    # The page's warning: with no tags at all the condition is true.
    assert decide(USER, "ec2:CreateTags", "*", identity_policies=[policy]).allowed


# "Cross-account policy evaluation logic": a user in the trusted account reads an object in the
# trusting account's bucket; both the identity policy and the bucket policy must allow.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
def test_cross_account_example() -> None:
    bucket = compile_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:user/carlos"},
         "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": ["arn:aws:s3:::trusting-bucket", "arn:aws:s3:::trusting-bucket/*"]}]},
        PolicyKind.RESOURCE, "bucket")
    carlos = f"arn:aws:iam::{A}:user/carlos"
    carlos_policy = identity({"Effect": "Allow", "Action": "s3:GetObject",
                              "Resource": "arn:aws:s3:::trusting-bucket/*"})
    obj = "arn:aws:s3:::trusting-bucket/report.csv"
    assert decide(carlos, "s3:GetObject", obj, identity_policies=[carlos_policy],
                  resource_policy=bucket, resource_account=B).allowed
    # ListBucket: the bucket policy allows it, carlos's identity policy does not.
    result = decide(carlos, "s3:ListBucket", "arn:aws:s3:::trusting-bucket",
                    identity_policies=[carlos_policy], resource_policy=bucket,
                    resource_account=B)
    assert result.decision is Decision.IMPLICITLY_DENIED
    assert result.reason == "because no identity-based policy allows the s3:ListBucket action"


# "Permissions boundaries for IAM entities": the boundary example limits a user to S3,
# CloudWatch and EC2 while the identity policy allows iam:CreateUser.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
def test_boundary_example() -> None:
    boundary = compile_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "cloudwatch:*", "ec2:*"], "Resource": "*"}]},
        PolicyKind.BOUNDARY, "boundary")
    shirley = f"arn:aws:iam::{A}:user/ShirleyRodriguez"
    can_create_user = identity({"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*"})
    result = decide(shirley, "iam:CreateUser", f"arn:aws:iam::{A}:user/new",
                    identity_policies=[can_create_user], boundaries=[boundary])
    assert result.decision is Decision.IMPLICITLY_DENIED
    assert result.denial_message() == (
        f"User: {shirley} is not authorized to perform: iam:CreateUser on resource: "
        f"arn:aws:iam::{A}:user/new because no permissions boundary allows the iam:CreateUser "
        "action")
