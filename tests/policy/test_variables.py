"""Policy variables in Resource and conditions: substitution, defaults, escapes, versions.

Rules from "IAM policy elements: Variables and tags"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
"""

from __future__ import annotations

from policy_helpers import A, allow, decide, deny, identity

from trailgate.policy import Decision

USER = f"arn:aws:iam::{A}:user/David"
SESSION = f"arn:aws:sts::{A}:assumed-role/Dev/s1"


def test_home_directory_example_from_the_variables_page() -> None:
    # The page's example: each user may use mybucket/${aws:username}/*.
    policy = identity(
        allow("s3:ListBucket", "arn:aws:s3:::mybucket",
              Condition={"StringLike": {"s3:prefix": ["${aws:username}/*"]}}),
        allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::mybucket/${aws:username}/*"),
    )
    ctx = {"aws:username": "David"}
    assert decide(USER, "s3:GetObject", "arn:aws:s3:::mybucket/David/notes.txt",
                  identity_policies=[policy], context=ctx).allowed
    assert not decide(USER, "s3:GetObject", "arn:aws:s3:::mybucket/Adele/notes.txt",
                      identity_policies=[policy], context=ctx).allowed
    assert decide(USER, "s3:ListBucket", "arn:aws:s3:::mybucket", identity_policies=[policy],
                  context={**ctx, "s3:prefix": "David/2024/"}).allowed
    assert not decide(USER, "s3:ListBucket", "arn:aws:s3:::mybucket", identity_policies=[policy],
                      context={**ctx, "s3:prefix": "Adele/"}).allowed


def test_key_names_in_variables_are_case_insensitive() -> None:
    policy = identity(allow("s3:GetObject", "arn:aws:s3:::b/${AWS:UserName}/*"))
    assert decide(USER, "s3:GetObject", "arn:aws:s3:::b/David/x", identity_policies=[policy],
                  context={"aws:username": "David"}).allowed


def test_tag_variables() -> None:
    policy = identity(allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:PrincipalTag/department}/*"))
    ctx = {"aws:PrincipalTag/Department": "hr"}
    assert decide(USER, "s3:GetObject", "arn:aws:s3:::bucket/hr/x", identity_policies=[policy],
                  context=ctx).allowed
    assert not decide(USER, "s3:GetObject", "arn:aws:s3:::bucket/it/x",
                      identity_policies=[policy], context=ctx).allowed


def test_substituted_value_is_not_a_wildcard() -> None:
    policy = identity(allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}/*"))
    ctx = {"aws:username": "*"}
    assert not decide(USER, "s3:GetObject", "arn:aws:s3:::b/David/x", identity_policies=[policy],
                      context=ctx).allowed
    assert decide(USER, "s3:GetObject", "arn:aws:s3:::b/*/x", identity_policies=[policy],
                  context=ctx).allowed


def test_missing_variable_makes_the_statement_not_apply() -> None:
    # aws:username is absent for role sessions: the Allow does not apply...
    allow_policy = identity(allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}/*"))
    assert not decide(SESSION, "s3:GetObject", "arn:aws:s3:::b/Dev/x",
                      identity_policies=[allow_policy]).allowed
    # ...and neither does a Deny, even a negated one.
    guard = identity(
        allow("s3:*", "*"),
        deny("s3:GetObject", "*",
             Condition={"StringNotEquals": {"s3:prefix": "${aws:username}/"}}),
        name="guard",
    )
    result = decide(SESSION, "s3:GetObject", "arn:aws:s3:::b/x", identity_policies=[guard],
                    context={"s3:prefix": "other/"})
    assert result.decision is Decision.ALLOWED


def test_default_value_is_used_when_the_key_is_missing() -> None:
    policy = identity(allow("s3:GetObject", "arn:aws:s3:::b/${aws:username, 'guest'}/*"))
    assert decide(SESSION, "s3:GetObject", "arn:aws:s3:::b/guest/x",
                  identity_policies=[policy]).allowed
    assert decide(USER, "s3:GetObject", "arn:aws:s3:::b/David/x", identity_policies=[policy],
                  context={"aws:username": "David"}).allowed
    assert not decide(USER, "s3:GetObject", "arn:aws:s3:::b/guest/x", identity_policies=[policy],
                      context={"aws:username": "David"}).allowed


def test_multivalued_key_does_not_substitute() -> None:
    policy = identity(allow("s3:GetObject", "arn:aws:s3:::b/${aws:TagKeys}/*"))
    assert not decide(USER, "s3:GetObject", "arn:aws:s3:::b/a/x", identity_policies=[policy],
                      context={"aws:TagKeys": ["a"]}).allowed


def test_escapes_are_literal_characters() -> None:
    policy = identity(allow("s3:GetObject", "arn:aws:s3:::b/${*}${?}${$}/*"))
    assert decide(USER, "s3:GetObject", "arn:aws:s3:::b/*?$/x", identity_policies=[policy]).allowed
    assert not decide(USER, "s3:GetObject", "arn:aws:s3:::b/ab$/x",
                      identity_policies=[policy]).allowed


def test_no_substitution_in_2008_or_unversioned_documents() -> None:
    for version in ("2008-10-17", None):
        policy = identity(allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}/*"),
                          version=version)
        ctx = {"aws:username": "David"}
        assert not decide(USER, "s3:GetObject", "arn:aws:s3:::b/David/x",
                          identity_policies=[policy], context=ctx).allowed
        assert decide(USER, "s3:GetObject", "arn:aws:s3:::b/${aws:username}/x",
                      identity_policies=[policy], context=ctx).allowed


def test_variables_in_string_arn_and_bool_conditions() -> None:
    policy = identity(allow("sns:Publish", "*", Condition={
        "StringEquals": {"sns:endpoint": "https://example.com/${aws:username}/"},
        "ArnLike": {"aws:SourceArn": "arn:aws:sqs:*:${aws:PrincipalAccount}:*"},
        "Bool": {"aws:SecureTransport": "${aws:MultiFactorAuthPresent}"},
    }))
    ctx = {"aws:username": "David", "aws:PrincipalAccount": A,
           "sns:endpoint": "https://example.com/David/", "aws:SourceArn":
           f"arn:aws:sqs:us-east-1:{A}:q", "aws:SecureTransport": True,
           "aws:MultiFactorAuthPresent": "true"}
    assert decide(USER, "sns:Publish", f"arn:aws:sns:us-east-1:{A}:t",
                  identity_policies=[policy], context=ctx).allowed
    assert not decide(USER, "sns:Publish", f"arn:aws:sns:us-east-1:{A}:t",
                      identity_policies=[policy],
                      context={**ctx, "aws:SourceArn": "arn:aws:sqs:us-east-1:999999999999:q"}
                      ).allowed


def test_no_variables_in_numeric_date_and_ip_conditions() -> None:
    policy = identity(allow("s3:ListBucket", "*", Condition={
        "NumericLessThanEquals": {"s3:max-keys": "${aws:limit}"}}))
    assert not decide(USER, "s3:ListBucket", "arn:aws:s3:::b", identity_policies=[policy],
                      context={"s3:max-keys": "1", "aws:limit": "10"}).allowed


def test_colon_in_a_substituted_resource_value_stays_in_the_resource_part() -> None:
    policy = identity(allow("s3:GetObject", "arn:aws:s3:::b/${aws:userid}/*"))
    userid = "AROAEXAMPLE:session"
    assert decide(SESSION, "s3:GetObject", f"arn:aws:s3:::b/{userid}/x",
                  identity_policies=[policy], context={"aws:userid": userid}).allowed
