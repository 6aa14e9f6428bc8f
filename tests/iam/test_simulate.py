"""The policy simulator, answered by the policy engine."""

from __future__ import annotations

import json

from tests.iam.conftest import S3_READ, TRUST_EC2, Caller

from trailgate.services.iam.simulate import statement_spans

DENY_DELETE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]})
CONDITIONAL = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*",
    "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}}]})


def results(response: dict) -> list[tuple[str, str, str]]:
    return [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"])
            for r in response["EvaluationResults"]]


def test_custom_policy_decisions(root: Caller) -> None:
    response = root.call(
        "SimulateCustomPolicy", PolicyInputList=[S3_READ, DENY_DELETE],
        ActionNames=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
    assert results(response) == [
        ("s3:GetObject", "*", "allowed"),
        ("s3:PutObject", "*", "implicitDeny"),
        ("s3:DeleteObject", "*", "explicitDeny"),
    ]
    allowed, implicit, explicit = response["EvaluationResults"]
    assert allowed["MatchedStatements"] == [{
        "SourcePolicyId": "PolicyInputList.1", "SourcePolicyType": "none",
        "StartPosition": {"Line": 1, "Column": 41},
        "EndPosition": {"Line": 1, "Column": len(S3_READ) - 1}}]
    assert implicit["MatchedStatements"] == []
    assert explicit["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.2"
    assert response["IsTruncated"] is False


def test_custom_policy_resources_context_and_boundary(root: Caller) -> None:
    response = root.call(
        "SimulateCustomPolicy", PolicyInputList=[CONDITIONAL], ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::bucket/key", "arn:aws:s3:::other/key"])
    assert [r["EvalDecision"] for r in response["EvaluationResults"]] == [
        "implicitDeny", "implicitDeny"]
    assert response["EvaluationResults"][0]["MissingContextValues"] == ["aws:PrincipalTag/team"]
    with_context = root.call(
        "SimulateCustomPolicy", PolicyInputList=[CONDITIONAL], ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::bucket/key", "arn:aws:s3:::other/key"],
        ContextEntries=[{"ContextKeyName": "aws:PrincipalTag/team",
                         "ContextKeyValues": ["blue"], "ContextKeyType": "string"}])
    assert [r["EvalDecision"] for r in with_context["EvaluationResults"]] == [
        "allowed", "implicitDeny"]
    assert with_context["EvaluationResults"][0]["MissingContextValues"] == []
    bounded = root.call(
        "SimulateCustomPolicy", PolicyInputList=[S3_READ],
        PermissionsBoundaryPolicyInputList=[DENY_DELETE.replace("Deny", "Allow").replace(
            "s3:DeleteObject", "s3:List*")],
        ActionNames=["s3:GetObject", "s3:ListBucket"])
    assert [r["EvalDecision"] for r in bounded["EvaluationResults"]] == [
        "implicitDeny", "allowed"]
    assert bounded["EvaluationResults"][0]["PermissionsBoundaryDecisionDetail"] == {
        "AllowedByPermissionsBoundary": False}
    page = root.call("SimulateCustomPolicy", PolicyInputList=[S3_READ],
                     ActionNames=["s3:GetObject", "s3:ListBucket", "s3:PutObject"], MaxItems=2)
    assert page["IsTruncated"] is True and len(page["EvaluationResults"]) == 2
    rest = root.call("SimulateCustomPolicy", PolicyInputList=[S3_READ],
                     ActionNames=["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
                     Marker=page["Marker"])
    assert results(rest) == [("s3:PutObject", "*", "implicitDeny")]


def test_custom_policy_with_resource_policy(root: Caller) -> None:
    bucket_policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{root.account}:user/alice"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}]})
    nothing = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]})
    response = root.call(
        "SimulateCustomPolicy", PolicyInputList=[nothing], ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::bucket/k"], ResourcePolicy=bucket_policy,
        CallerArn=f"arn:aws:iam::{root.account}:user/alice")
    result = response["EvaluationResults"][0]
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"][0]["SourcePolicyType"] == "resource"


def test_malformed_input_policy(root: Caller) -> None:
    err = root.fails("SimulateCustomPolicy", PolicyInputList=["{"], ActionNames=["s3:GetObject"])
    assert (err.code, err.status, err.message) == ("InvalidInput", 400, "Syntax errors in policy.")


def test_principal_policy_of_user(root: Caller) -> None:
    root.call("CreateUser", UserName="alice")
    root.call("PutUserPolicy", UserName="alice", PolicyName="Read", PolicyDocument=S3_READ)
    root.call("CreateGroup", GroupName="g")
    root.call("AddUserToGroup", GroupName="g", UserName="alice")
    root.call("PutGroupPolicy", GroupName="g", PolicyName="NoDelete",
              PolicyDocument=DENY_DELETE)
    source = f"arn:aws:iam::{root.account}:user/alice"
    response = root.call("SimulatePrincipalPolicy", PolicySourceArn=source,
                         ActionNames=["s3:GetObject", "s3:DeleteObject", "iam:ListUsers"])
    assert [r["EvalDecision"] for r in response["EvaluationResults"]] == [
        "allowed", "explicitDeny", "implicitDeny"]
    assert response["EvaluationResults"][0]["MatchedStatements"][0]["SourcePolicyId"] == "Read"
    assert response["EvaluationResults"][0]["MatchedStatements"][0]["SourcePolicyType"] == "user"
    assert response["EvaluationResults"][1]["MatchedStatements"][0]["SourcePolicyType"] == "group"
    # Extra input policies and exclusions.
    extra = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]})
    response = root.call(
        "SimulatePrincipalPolicy", PolicySourceArn=source, PolicyInputList=[extra],
        PolicyExclusionList=[{"InlinePolicyIdentifier": {
            "PolicyName": "NoDelete", "AttachmentType": "group", "AttachmentName": "g"}}],
        ActionNames=["s3:DeleteObject", "iam:ListUsers"])
    assert [r["EvalDecision"] for r in response["EvaluationResults"]] == [
        "implicitDeny", "allowed"]
    # The user's boundary counts, unless an input boundary replaces it.
    root.call("PutUserPermissionsBoundary", UserName="alice",
              PermissionsBoundary="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    response = root.call("SimulatePrincipalPolicy", PolicySourceArn=source,
                         ActionNames=["s3:GetObject"])
    assert response["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    response = root.call("SimulatePrincipalPolicy", PolicySourceArn=source,
                         PermissionsBoundaryPolicyInputList=[S3_READ],
                         ActionNames=["s3:GetObject"])
    assert response["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_principal_policy_of_role_and_group(root: Caller) -> None:
    role_arn = root.call("CreateRole", RoleName="r", Path="/x/",
                         AssumeRolePolicyDocument=TRUST_EC2)["Role"]["Arn"]
    root.call("AttachRolePolicy", RoleName="r",
              PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    response = root.call("SimulatePrincipalPolicy", PolicySourceArn=role_arn,
                         ActionNames=["s3:GetObject", "s3:PutObject"])
    assert [r["EvalDecision"] for r in response["EvaluationResults"]] == [
        "allowed", "implicitDeny"]
    matched = response["EvaluationResults"][0]["MatchedStatements"][0]
    assert matched["SourcePolicyType"] == "aws-managed"
    group_arn = root.call("CreateGroup", GroupName="g")["Group"]["Arn"]
    response = root.call("SimulatePrincipalPolicy", PolicySourceArn=group_arn,
                         ActionNames=["s3:GetObject"])
    assert response["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    err = root.fails("SimulatePrincipalPolicy",
                     PolicySourceArn=f"arn:aws:iam::{root.account}:user/ghost",
                     ActionNames=["s3:GetObject"])
    assert (err.code, err.message) == ("NoSuchEntity", "The user with name ghost cannot be found.")
    check = root.checks("SimulatePrincipalPolicy", PolicySourceArn=role_arn,
                        ActionNames=["s3:GetObject"])[0]
    assert (check.action, check.resource) == ("iam:SimulatePrincipalPolicy", role_arn)


def test_read_only_user_may_simulate(root: Caller) -> None:
    root.call("CreateUser", UserName="reader")
    root.call("AttachUserPolicy", UserName="reader",
              PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    reader = root.as_user("reader")
    response = reader.invoke("SimulatePrincipalPolicy",
                             PolicySourceArn=f"arn:aws:iam::{root.account}:user/reader",
                             ActionNames=["iam:ListUsers", "iam:CreateUser"])
    assert [r["EvalDecision"] for r in response["EvaluationResults"]] == [
        "allowed", "implicitDeny"]
    reader.invoke("SimulateCustomPolicy", PolicyInputList=[S3_READ], ActionNames=["s3:GetObject"])


def test_context_keys(root: Caller) -> None:
    keys = root.call("GetContextKeysForCustomPolicy", PolicyInputList=[CONDITIONAL, S3_READ])
    assert keys == {"ContextKeyNames": ["aws:PrincipalTag/team"]}
    root.call("CreateUser", UserName="u")
    root.call("PutUserPolicy", UserName="u", PolicyName="c", PolicyDocument=CONDITIONAL)
    keys = root.call("GetContextKeysForPrincipalPolicy",
                     PolicySourceArn=f"arn:aws:iam::{root.account}:user/u")
    assert keys == {"ContextKeyNames": ["aws:PrincipalTag/team"]}


def test_statement_spans() -> None:
    text = '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow"},\n' \
           '    {"Effect": "Deny"}\n  ]\n}'
    spans = statement_spans(text)
    assert [text[a:b] for a, b in spans] == ['{"Effect": "Allow"}', '{"Effect": "Deny"}']
    single = '{"Statement": {"Effect": "Allow"}}'
    assert [single[a:b] for a, b in statement_spans(single)] == ['{"Effect": "Allow"}']
    assert statement_spans("not json") == []
