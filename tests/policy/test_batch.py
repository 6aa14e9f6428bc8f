"""Batch simulation: case format, defaults, trust-policy detection, errors, caching."""

from __future__ import annotations

import json
from typing import Any

from policy_helpers import A, B

from trailgate.policy.batch import BatchSimulator, resource_account_of, resource_policy_is_trust
from trailgate.policy.principal import PrincipalInfo

ROLE = f"arn:aws:iam::{A}:role/Test"
BOB = f"arn:aws:iam::{B}:user/bob"
READ_ALL = {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
ASSUME = {"Version": "2012-10-17",
          "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE}]}
TRUST_B = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
     "Action": "sts:AssumeRole"}]}


def run(*cases: dict[str, Any]) -> list[dict[str, Any]]:
    lines = [json.dumps(case) for case in cases]
    return [json.loads(line) for line in BatchSimulator().run(lines)]


def case(case_id: str, principal: str, action: str, resource: str, **fields: Any
         ) -> dict[str, Any]:
    request = {"principal": principal, "action": action, "resource": resource}
    for key in ("resourceAccount", "context"):
        if key in fields:
            request[key] = fields.pop(key)
    return {"id": case_id, "request": request, **fields}


def test_results_come_in_order_with_the_documented_shape() -> None:
    results = run(
        case("c1", f"arn:aws:iam::{A}:user/u", "s3:GetObject", "arn:aws:s3:::b/k",
             identityPolicies=[READ_ALL]),
        case("c2", f"arn:aws:iam::{A}:user/u", "s3:PutObject", "arn:aws:s3:::b/k",
             identityPolicies=[READ_ALL]),
    )
    assert [r["id"] for r in results] == ["c1", "c2"]
    assert [r["decision"] for r in results] == ["Allowed", "ImplicitlyDenied"]
    assert all(set(r) == {"id", "decision", "error", "explanation"} for r in results)
    assert results[0]["error"] is None
    assert results[1]["explanation"]["message"].endswith(
        "because no identity-based policy allows the s3:PutObject action")


def test_documents_may_be_json_strings_and_named() -> None:
    (result,) = run(case("c", f"arn:aws:iam::{A}:user/u", "s3:GetObject", "arn:aws:s3:::b/k",
                         identityPolicies=[{"name": "reader", "policy": json.dumps(READ_ALL)}]))
    assert result["decision"] == "Allowed"
    assert result["explanation"]["matched"][0]["policy"] == "reader"


def test_invalid_document_is_an_error_and_the_run_goes_on() -> None:
    bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]}
    results = run(
        case("bad", f"arn:aws:iam::{A}:user/u", "s3:GetObject", "arn:aws:s3:::b/k",
             identityPolicies=[bad]),
        case("bad-json", f"arn:aws:iam::{A}:user/u", "s3:GetObject", "arn:aws:s3:::b/k",
             identityPolicies=["{not json"]),
        case("good", f"arn:aws:iam::{A}:user/u", "s3:GetObject", "arn:aws:s3:::b/k",
             identityPolicies=[READ_ALL]),
    )
    assert [r["decision"] for r in results] == ["Error", "Error", "Allowed"]
    assert "Policy statement must contain resources." in results[0]["error"]
    assert "Syntax errors in policy." in results[1]["error"]
    assert results[0]["explanation"] is None


def test_unreadable_lines_and_requests_are_errors() -> None:
    simulator = BatchSimulator()
    out = [json.loads(line) for line in simulator.run(["{oops", "", json.dumps({"id": 7})])]
    assert [r["decision"] for r in out] == ["Error", "Error"]
    assert out[0]["id"] is None
    assert out[1]["id"] == 7
    (bad_principal,) = run(case("p", "not-a-principal", "s3:GetObject", "arn:aws:s3:::b/k"))
    assert bad_principal["decision"] == "Error"


def test_assume_role_on_a_role_uses_the_resource_policy_as_trust_policy() -> None:
    assert resource_policy_is_trust("sts:AssumeRole", ROLE)
    assert resource_policy_is_trust("STS:AssumeRoleWithWebIdentity", ROLE)
    assert resource_policy_is_trust("sts:TagSession", ROLE)
    assert not resource_policy_is_trust("sts:AssumeRole", "arn:aws:s3:::b")
    assert not resource_policy_is_trust("iam:GetRole", ROLE)
    same_account_user = f"arn:aws:iam::{A}:user/u"
    trust_a = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
         "Action": "sts:AssumeRole"}]}
    results = run(
        # Identity policy alone: a trust policy must allow explicitly.
        case("no-trust", same_account_user, "sts:AssumeRole", ROLE, identityPolicies=[ASSUME]),
        case("trust", same_account_user, "sts:AssumeRole", ROLE, identityPolicies=[ASSUME],
             resourcePolicy=trust_a),
        # A trust policy has no Resource element: validated as a trust policy, it is valid.
        case("cross", BOB, "sts:AssumeRole", ROLE, identityPolicies=[ASSUME],
             resourcePolicy=TRUST_B),
    )
    assert [r["decision"] for r in results] == ["ImplicitlyDenied", "Allowed", "Allowed"]
    assert results[0]["explanation"]["reason"] == (
        "because no role trust policy allows the sts:AssumeRole action")
    assert results[1]["explanation"]["matched"][0]["kind"] == "trust"


def test_resource_account_defaults() -> None:
    bob = PrincipalInfo.from_arn(BOB)
    assert resource_account_of(ROLE, bob) == A
    assert resource_account_of("arn:aws:s3:::bucket/key", bob) == B
    assert resource_account_of("*", bob) == B
    bucket_grants_b = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": B}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::bucket/*"}]}
    results = run(
        # S3 ARN, no resourceAccount: the principal's account, so one account: the identity
        # policy alone is enough.
        case("same", BOB, "s3:GetObject", "arn:aws:s3:::bucket/k", identityPolicies=[READ_ALL]),
        case("cross", BOB, "s3:GetObject", "arn:aws:s3:::bucket/k", resourceAccount=A,
             identityPolicies=[READ_ALL]),
        case("cross-ok", BOB, "s3:GetObject", "arn:aws:s3:::bucket/k", resourceAccount=A,
             identityPolicies=[READ_ALL], resourcePolicy=bucket_grants_b),
    )
    assert [r["decision"] for r in results] == ["Allowed", "ImplicitlyDenied", "Allowed"]


def test_context_is_used_as_given() -> None:
    tagged = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
         "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}},
        {"Effect": "Deny", "Action": "ec2:CreateTags", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:username": "u"}}}]}
    user = f"arn:aws:iam::{A}:user/u"
    results = run(
        case("ok", user, "ec2:CreateTags", "*", identityPolicies=[tagged],
             context={"aws:TagKeys": ["a"], "aws:username": "u"}),
        case("extra-tag", user, "ec2:CreateTags", "*", identityPolicies=[tagged],
             context={"aws:TagKeys": ["a", "c"], "aws:username": "u"}),
        # No aws:username given: nothing is added, so the negated condition holds: denied.
        case("no-username", user, "ec2:CreateTags", "*", identityPolicies=[tagged],
             context={"aws:TagKeys": ["a"]}),
    )
    assert [r["decision"] for r in results] == ["Allowed", "ImplicitlyDenied",
                                                "ExplicitlyDenied"]


def test_scps_boundaries_and_session_policies() -> None:
    full = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                                    "Resource": "*"}]}
    ec2_only = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*",
                                                        "Resource": "*"}]}
    session = f"arn:aws:sts::{A}:assumed-role/R/s"
    results = run(
        case("scp", session, "s3:GetObject", "arn:aws:s3:::b/k", identityPolicies=[READ_ALL],
             scps=[[full], [ec2_only]]),
        case("boundary", session, "s3:GetObject", "arn:aws:s3:::b/k",
             identityPolicies=[READ_ALL], permissionBoundaries=[ec2_only]),
        case("session", session, "s3:GetObject", "arn:aws:s3:::b/k",
             identityPolicies=[READ_ALL], sessionPolicy=ec2_only),
        case("all-allow", session, "s3:GetObject", "arn:aws:s3:::b/k",
             identityPolicies=[READ_ALL], scps=[[full]], permissionBoundaries=[full],
             sessionPolicy=full),
    )
    reasons = [r["explanation"]["reason"] for r in results]
    assert reasons[0] == "because no service control policy allows the s3:GetObject action"
    assert reasons[1] == "because no permissions boundary allows the s3:GetObject action"
    assert reasons[2] == "because no session policy allows the s3:GetObject action"
    assert results[3]["decision"] == "Allowed"


def test_repeated_documents_compile_once() -> None:
    simulator = BatchSimulator()
    first = {"request": {"principal": BOB, "action": "s3:GetObject", "resource": "*"},
             "identityPolicies": [READ_ALL]}
    reordered = json.loads(json.dumps(READ_ALL, sort_keys=True))
    second = {**first, "identityPolicies": [reordered]}
    (one,) = simulator.build(first)[1].identity
    (two,) = simulator.build(second)[1].identity
    assert one.body is two.body
