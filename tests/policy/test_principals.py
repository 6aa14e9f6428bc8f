"""PrincipalInfo.from_arn and how Principal / NotPrincipal elements name principals.

Principal forms: "IAM JSON policy elements: Principal"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
"""

from __future__ import annotations

import pytest
from policy_helpers import A, B

from trailgate.policy.principal import (
    ACCOUNT,
    DIRECT,
    NO_MATCH,
    ROLE,
    PrincipalInfo,
    PrincipalSpec,
)


@pytest.mark.parametrize(
    ("text", "ptype", "account", "role_arn"),
    [
        (f"arn:aws:iam::{A}:root", "Root", A, None),
        (A, "Root", A, None),
        (f"arn:aws:iam::{A}:user/division/bob", "IAMUser", A, None),
        (f"arn:aws:sts::{A}:assumed-role/Dev/s1", "AssumedRole", A, f"arn:aws:iam::{A}:role/Dev"),
        (f"arn:aws:iam::{A}:role/path/Dev", "AssumedRole", A, f"arn:aws:iam::{A}:role/path/Dev"),
        (f"arn:aws:sts::{A}:federated-user/fred", "FederatedUser", A, None),
        ("anonymous", "Anonymous", None, None),
        ("cloudtrail.amazonaws.com", "AWSService", None, None),
        ("cognito-identity.amazonaws.com", "WebIdentityUser", None, None),
        (f"arn:aws:iam::{A}:saml-provider/Okta", "SAMLUser", None, None),
        ("79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", "CanonicalUser",
         None, None),
    ],
)
def test_from_arn(text: str, ptype: str, account: str | None, role_arn: str | None) -> None:
    info = PrincipalInfo.from_arn(text)
    assert (info.type, info.account, info.role_arn) == (ptype, account, role_arn)


@pytest.mark.parametrize("text", ["arn:aws:s3:::bucket", "bob", f"arn:aws:sts::{A}:thing/x"])
def test_from_arn_rejects_non_principals(text: str) -> None:
    with pytest.raises(ValueError):
        PrincipalInfo.from_arn(text)


USER = PrincipalInfo.from_arn(f"arn:aws:iam::{A}:user/bob")
SESSION = PrincipalInfo.from_arn(f"arn:aws:sts::{A}:assumed-role/Dev/s1")
ROOT = PrincipalInfo.from_arn(A)
SERVICE = PrincipalInfo.from_arn("cloudtrail.amazonaws.com")
ANONYMOUS = PrincipalInfo.anonymous()


@pytest.mark.parametrize(
    ("element", "principal", "strength"),
    [
        ("*", ANONYMOUS, DIRECT),
        ({"AWS": "*"}, SERVICE, DIRECT),
        ({"AWS": A}, USER, ACCOUNT),
        ({"AWS": f"arn:aws:iam::{A}:root"}, SESSION, ACCOUNT),
        ({"AWS": f"arn:aws:iam::{A}:root"}, ROOT, DIRECT),
        ({"AWS": B}, USER, NO_MATCH),
        ({"AWS": f"arn:aws:iam::{A}:user/bob"}, USER, DIRECT),
        ({"AWS": f"arn:aws:iam::{A}:user/alice"}, USER, NO_MATCH),
        ({"AWS": f"arn:aws:iam::{A}:role/Dev"}, SESSION, ROLE),
        ({"AWS": [f"arn:aws:iam::{A}:role/Dev", A]}, SESSION, ROLE),
        ({"AWS": f"arn:aws:sts::{A}:assumed-role/Dev/s1"}, SESSION, DIRECT),
        ({"AWS": f"arn:aws:sts::{A}:assumed-role/Dev/s2"}, SESSION, NO_MATCH),
        ({"Service": "cloudtrail.amazonaws.com"}, SERVICE, DIRECT),
        ({"Service": ["ec2.amazonaws.com"]}, SERVICE, NO_MATCH),
        ({"Service": "cloudtrail.amazonaws.com"}, ANONYMOUS, NO_MATCH),
        ({"AWS": A}, ANONYMOUS, NO_MATCH),
        ({"AWS": "AIDACKCEVSQ6C2EXAMPLE"}, USER, NO_MATCH),
    ],
)
def test_principal_strength(element: object, principal: PrincipalInfo, strength: int) -> None:
    assert PrincipalSpec(element).strength(principal) == strength


def test_canonical_user() -> None:
    canonical_id = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
    spec = PrincipalSpec({"CanonicalUser": canonical_id})
    assert spec.strength(PrincipalInfo.from_arn(canonical_id)) == DIRECT
    account_user = PrincipalInfo(arn=f"arn:aws:iam::{A}:user/bob", account=A, type="IAMUser",
                                 canonical_user_id=canonical_id)
    assert spec.strength(account_user) == ACCOUNT
    assert spec.strength(USER) == NO_MATCH


def test_not_principal_needs_the_whole_chain() -> None:
    user_arn = f"arn:aws:iam::{A}:user/bob"
    root_arn = f"arn:aws:iam::{A}:root"
    assert PrincipalSpec({"AWS": [user_arn, root_arn]}).excludes(USER)
    assert not PrincipalSpec({"AWS": user_arn}).excludes(USER)
    assert not PrincipalSpec({"AWS": root_arn}).excludes(USER)
    assert PrincipalSpec({"AWS": root_arn}).excludes(ROOT)
    assert PrincipalSpec({"AWS": "*"}).excludes(ANONYMOUS)
    assert PrincipalSpec({"Service": "cloudtrail.amazonaws.com"}).excludes(SERVICE)
