"""Explanations (AWS access-denied wording, matched statements) and compile-once behaviour.

Message formats: "Troubleshoot access denied error messages"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
"""

from __future__ import annotations

import pytest
from policy_helpers import A, allow, decide, deny, identity, policy

from trailgate.policy import (
    AuthzRequest,
    MalformedPolicyDocument,
    PolicyKind,
    PolicySet,
    PrincipalInfo,
    compile_policy,
    evaluate,
    wildcard,
)

USER = f"arn:aws:iam::{A}:user/JohnDoe"


def test_implicit_deny_message_has_the_aws_shape() -> None:
    result = decide(USER, "codecommit:ListRepositories", "*")
    assert result.denial_message() == (
        f"User: {USER} is not authorized to perform: codecommit:ListRepositories because no "
        "identity-based policy allows the codecommit:ListRepositories action")


def test_explicit_deny_message_names_the_resource() -> None:
    resource = f"arn:aws:codedeploy:us-east-1:{A}:deploymentgroup:*"
    result = decide(USER, "codedeploy:ListDeployments", resource,
                    identity_policies=[identity(deny("codedeploy:*"))])
    assert result.denial_message() == (
        f"User: {USER} is not authorized to perform: codedeploy:ListDeployments on resource: "
        f"{resource} with an explicit deny in an identity-based policy")


@pytest.mark.parametrize(
    ("kind", "phrase"),
    [(PolicyKind.BOUNDARY, "with an explicit deny in a permissions boundary"),
     (PolicyKind.SESSION, "with an explicit deny in a session policy"),
     (PolicyKind.SCP, "with an explicit deny in a service control policy")],
)
def test_explicit_deny_phrases(kind: PolicyKind, phrase: str) -> None:
    denying = policy(kind, allow("*"), deny("s3:*"), name="d")
    session = f"arn:aws:sts::{A}:assumed-role/R/s"
    result = decide(session, "s3:GetObject", "arn:aws:s3:::b/k",
                    identity_policies=[identity(allow("*"))],
                    boundaries=[denying] if kind is PolicyKind.BOUNDARY else [],
                    session=[denying] if kind is PolicyKind.SESSION else [],
                    scps=[[denying]] if kind is PolicyKind.SCP else [])
    assert result.reason == phrase


def test_matched_statements_name_policy_kind_sid_or_index_and_effect() -> None:
    first = identity({"Sid": "ReadAll", **allow("s3:Get*")}, name="reader")
    second = identity(allow("s3:*"), deny("s3:GetObject", "arn:aws:s3:::secret/*"),
                      name="guard")
    result = decide(USER, "s3:GetObject", "arn:aws:s3:::secret/k",
                    identity_policies=[first, second])
    assert [m.to_dict() for m in result.matched] == [
        {"policy": "reader", "kind": "identity", "sid": "ReadAll", "index": 0,
         "effect": "Allow"},
        {"policy": "guard", "kind": "identity", "sid": None, "index": 0, "effect": "Allow"},
        {"policy": "guard", "kind": "identity", "sid": None, "index": 1, "effect": "Deny"},
    ]
    assert [m.label for m in result.matched] == ["ReadAll", "#0", "#1"]
    text = result.explain()
    assert text.splitlines()[0] == "Decision: ExplicitlyDenied"
    assert "Deny by identity policy 'guard', statement #1" in text


def test_allowed_result_has_no_denial_message() -> None:
    result = decide(USER, "s3:GetObject", "*", identity_policies=[identity(allow("s3:*"))])
    assert result.allowed
    assert result.denial_message() == ""
    assert result.reason == "allowed by an identity-based policy"
    assert "message" not in result.to_dict()


def test_compile_validates_first() -> None:
    with pytest.raises(MalformedPolicyDocument) as raised:
        compile_policy({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
             "Principal": "*"}]}, PolicyKind.IDENTITY)
    assert raised.value.messages == ["Policy document should not specify a principal."]
    # The cached failure is raised again, with the same messages.
    with pytest.raises(MalformedPolicyDocument):
        compile_policy({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
             "Principal": "*"}]}, PolicyKind.IDENTITY)


def test_same_document_compiles_once_whatever_its_key_order_or_name() -> None:
    one = compile_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::once/*"}]},
        PolicyKind.IDENTITY, "a")
    two = compile_policy({"Statement": [
        {"Resource": "arn:aws:s3:::once/*", "Action": "s3:GetObject", "Effect": "Allow"}],
        "Version": "2012-10-17"}, PolicyKind.IDENTITY, "b")
    assert one.body is two.body
    assert (one.name, two.name) == ("a", "b")


def test_evaluation_compiles_nothing_per_request() -> None:
    compiled = compile_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
         "Resource": ["arn:aws:s3:::logs/AWSLogs/?????????????/*", "arn:aws:s3:::logs"],
         "Condition": {"StringLike": {"s3:prefix": ["AWSLogs/*"]},
                       "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]},
        PolicyKind.IDENTITY, "logs")
    who = PrincipalInfo.from_arn(USER)
    policies = PolicySet(identity=[compiled])
    requests = [AuthzRequest(who, action, resource, None,
                             {"s3:prefix": "AWSLogs/x", "aws:SourceIp": "10.9.8.7"})
                for action in ("s3:GetObject", "s3:ListBucket", "s3:PutObject")
                for resource in ("arn:aws:s3:::logs", "arn:aws:s3:::logs/AWSLogs/x/y")]
    for request in requests:
        evaluate(request, policies)
    before = dict(wildcard._regex_cache)
    action_cache = dict(compiled.body.by_action)
    decisions = [evaluate(request, policies).decision for request in requests * 50]
    assert wildcard._regex_cache == before
    assert compiled.body.by_action == action_cache
    assert len(set(decisions)) == 2
