"""Role trust policies: the seed's trust policies for accounts B, C and Z, and IAM's refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trailgate.policy.kinds import PolicyKind
from trailgate.policy.validate import (
    MISSING_PRINCIPAL,
    SID_NOT_ALPHANUMERIC,
    SYNTAX_ERROR,
    TRUST_ACTIONS_ONLY,
    invalid_principal_message,
    parse_policy,
    prohibited_field,
    validate_policy,
)

ACCOUNT_B = "222222222222"
ACCOUNT_C = "333333333333"
ACCOUNT_Z = "999999999999"


def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def assume(principal: Any, **extra: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    statement.update(extra)
    return statement


# -- the seed's roles in account A ----------------------------------------------------------


@pytest.mark.parametrize("account", [ACCOUNT_B, ACCOUNT_C])
def test_trust_policy_for_an_account_we_own(account: str) -> None:
    # CloudTrail User Guide, "Creating a role": the role trusts the other account's root.
    text = json.dumps(trust(assume({"AWS": f"arn:aws:iam::{account}:root"})), indent=4)
    assert validate_policy(text, PolicyKind.TRUST) == []


def test_trust_policy_for_a_third_party_with_external_id() -> None:
    # IAM User Guide, "Access to AWS accounts owned by third parties" (sts:ExternalId).
    policy = trust(
        assume(
            {"AWS": ACCOUNT_Z},
            Condition={"StringEquals": {"sts:ExternalId": "Unique-ID-Assigned-by-Example-Corp"}},
        )
    )
    assert validate_policy(json.dumps(policy), PolicyKind.TRUST) == []
    assert parse_policy(json.dumps(policy), PolicyKind.TRUST)["Statement"][0]["Condition"] == {
        "StringEquals": {"sts:ExternalId": "Unique-ID-Assigned-by-Example-Corp"}
    }


# -- other valid trust policies -----------------------------------------------------------


def test_service_trust_without_version() -> None:
    # IAM User Guide, "Creating a role to delegate permissions to an AWS service".
    policy = {
        "Statement": {
            "Effect": "Allow",
            "Principal": {"Service": ["ec2.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    }
    assert validate_policy(policy, PolicyKind.TRUST) == []
    assert parse_policy(policy, PolicyKind.TRUST)["Version"] == "2008-10-17"


def test_oidc_web_identity_trust() -> None:
    # IAM User Guide, "Create a role for OpenID Connect federation".
    provider = "token.actions.githubusercontent.com"
    policy = trust(
        {
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT_B}:oidc-provider/{provider}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{provider}:aud": "sts.amazonaws.com"},
                "StringLike": {f"{provider}:sub": "repo:octo-org/octo-repo:*"},
            },
        }
    )
    assert validate_policy(policy, PolicyKind.TRUST) == []


def test_saml_trust() -> None:
    policy = trust(
        {
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT_B}:saml-provider/ExampleOrgSSO"},
            "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
            "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
        }
    )
    assert validate_policy(policy, PolicyKind.TRUST) == []


@pytest.mark.parametrize(
    "principal",
    [
        "*",
        {"AWS": "*"},
        {"AWS": ACCOUNT_B},
        {"AWS": f"arn:aws:iam::{ACCOUNT_B}:user/division/bob"},
        {"AWS": f"arn:aws:iam::{ACCOUNT_B}:role/path/to/Reader"},
        {"AWS": f"arn:aws:sts::{ACCOUNT_B}:assumed-role/Reader/session-1"},
        {"AWS": f"arn:aws:sts::{ACCOUNT_B}:federated-user/carol"},
        {"AWS": f"arn:aws-cn:iam::{ACCOUNT_B}:root"},
        {"AWS": "AROA1234567890EXAMPLE"},
        {"AWS": [ACCOUNT_B, ACCOUNT_C], "Service": "cloudtrail.amazonaws.com"},
        {"Federated": "accounts.google.com"},
        {"Federated": "cognito-identity.amazonaws.com"},
    ],
)
def test_valid_principals(principal: Any) -> None:
    assert validate_policy(trust(assume(principal)), PolicyKind.TRUST) == []


@pytest.mark.parametrize(
    "action",
    [
        "sts:AssumeRole",
        "STS:assumerole",
        "sts:AssumeRole*",
        "sts:*",
        "*",
        ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
    ],
)
def test_assume_role_family_actions(action: Any) -> None:
    assert validate_policy(trust(assume({"AWS": ACCOUNT_B}, Action=action)), "trust") == []


# -- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["Resource", "NotResource"])
def test_resource_is_prohibited(key: str) -> None:
    policy = trust(assume({"AWS": ACCOUNT_B}, **{key: "*"}))
    assert validate_policy(policy, PolicyKind.TRUST) == [prohibited_field(key)]
    assert prohibited_field(key) == f"Has prohibited field {key}"


def test_principal_is_required() -> None:
    policy = trust({"Effect": "Allow", "Action": "sts:AssumeRole"})
    assert validate_policy(policy, PolicyKind.TRUST) == [MISSING_PRINCIPAL]


def test_not_principal_is_prohibited_in_trust_policies() -> None:
    policy = trust({"Effect": "Deny", "NotPrincipal": {"AWS": ACCOUNT_B},
                    "Action": "sts:AssumeRole"})
    assert validate_policy(policy, PolicyKind.TRUST) == [prohibited_field("NotPrincipal")]


def test_principal_and_not_principal_together_is_a_syntax_error() -> None:
    policy = trust(assume({"AWS": ACCOUNT_B}, NotPrincipal={"AWS": ACCOUNT_C}))
    assert validate_policy(policy, PolicyKind.TRUST) == [SYNTAX_ERROR]


@pytest.mark.parametrize("action", ["s3:GetObject", "sts:GetCallerIdentity", "iam:*"])
def test_only_assume_role_actions(action: str) -> None:
    policy = trust(assume({"AWS": ACCOUNT_B}, Action=["sts:AssumeRole", action]))
    assert validate_policy(policy, PolicyKind.TRUST) == [TRUST_ACTIONS_ONLY]


@pytest.mark.parametrize(
    ("principal_type", "value"),
    [
        ("AWS", "arn:aws:iam::account-B-id:root"),
        ("AWS", "12345"),
        ("AWS", "bob"),
        ("AWS", f"arn:aws:iam::{ACCOUNT_B}:role/*"),
        ("AWS", f"arn:aws:iam::{ACCOUNT_B}:group/admins"),
        ("AWS", f"arn:aws:iam:us-east-1:{ACCOUNT_B}:root"),
        ("AWS", f"arn:aws:s3:::{ACCOUNT_B}"),
        ("AWS", f"arn:aws:sts::{ACCOUNT_B}:assumed-role/OnlyRole"),
        ("AWS", f"arn:nope:iam::{ACCOUNT_B}:root"),
        ("Service", "amazonaws.com"),
        ("Service", "*"),
        ("Service", "ec2 .amazonaws.com"),
        ("Federated", f"arn:aws:iam::{ACCOUNT_B}:role/NotAProvider"),
        ("Federated", "localhost"),
        ("CanonicalUser", "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"),
    ],
)
def test_invalid_principals_are_named_in_the_message(principal_type: str, value: str) -> None:
    policy = trust(assume({principal_type: value}))
    message = invalid_principal_message(PolicyKind.TRUST, principal_type, value)
    assert validate_policy(policy, PolicyKind.TRUST) == [message]
    assert message == f'Invalid principal in policy: "{principal_type.upper()}":"{value}"'


@pytest.mark.parametrize(
    "principal",
    [
        "arn:aws:iam::222222222222:root",
        {},
        {"AWS": []},
        {"AWS": 222222222222},
        {"AWS": ["222222222222", None]},
        {"Users": "222222222222"},
        ["*"],
    ],
)
def test_malformed_principal_elements(principal: Any) -> None:
    assert validate_policy(trust(assume(principal)), PolicyKind.TRUST) == [SYNTAX_ERROR]


def test_trust_sids_are_alphanumeric() -> None:
    policy = trust(assume({"AWS": ACCOUNT_B}, Sid="allow-b"))
    assert validate_policy(policy, PolicyKind.TRUST) == [SID_NOT_ALPHANUMERIC]
