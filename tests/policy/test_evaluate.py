"""The decision logic: explicit deny, SCP levels, resource policies by the principal they name,
identity policies, boundaries, session policies, trust policies, root, cross-account.

Rules from "Policy evaluation logic"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html),
"Cross-account policy evaluation logic"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html)
and "IAM JSON policy elements: NotPrincipal"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html).
"""

from __future__ import annotations

import pytest
from policy_helpers import A, B, C, allow, decide, deny, identity, policy

from trailgate.policy import Decision, PolicyKind

USER = f"arn:aws:iam::{A}:user/alice"
ROLE = f"arn:aws:iam::{A}:role/Dev"
SESSION = f"arn:aws:sts::{A}:assumed-role/Dev/s1"
FEDERATED = f"arn:aws:sts::{A}:federated-user/fred"
ROOT = f"arn:aws:iam::{A}:root"
OBJECT = "arn:aws:s3:::bucket/key"
GET = "s3:GetObject"

ALLOWED = Decision.ALLOWED
IMPLICIT = Decision.IMPLICITLY_DENIED
EXPLICIT = Decision.EXPLICITLY_DENIED


def bucket_policy(*statements: dict) -> object:
    return policy(PolicyKind.RESOURCE, *statements, name="bucket")


def grant(who: dict | str, action: str = GET, resource: str = OBJECT, effect: str = "Allow",
          **extra: object) -> dict:
    return {"Effect": effect, "Principal": who, "Action": action, "Resource": resource, **extra}


def test_nothing_applies_is_an_implicit_deny_by_identity() -> None:
    result = decide(USER, GET, OBJECT)
    assert result.decision is IMPLICIT
    assert result.reason == "because no identity-based policy allows the s3:GetObject action"


def test_identity_allow_and_explicit_deny() -> None:
    allowing = identity(allow("s3:*", "*"))
    assert decide(USER, GET, OBJECT, identity_policies=[allowing]).decision is ALLOWED
    denying = identity(deny(GET, "arn:aws:s3:::bucket/*"), name="deny")
    result = decide(USER, GET, OBJECT, identity_policies=[allowing, denying])
    assert result.decision is EXPLICIT
    assert result.reason == "with an explicit deny in an identity-based policy"


def test_not_action_and_not_resource() -> None:
    everything_but_iam = identity({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert decide(USER, GET, OBJECT, identity_policies=[everything_but_iam]).allowed
    assert not decide(USER, "iam:CreateUser", "*", identity_policies=[everything_but_iam]).allowed
    outside = identity({"Effect": "Allow", "Action": "s3:*",
                        "NotResource": "arn:aws:s3:::secret/*"})
    assert decide(USER, GET, OBJECT, identity_policies=[outside]).allowed
    assert not decide(USER, GET, "arn:aws:s3:::secret/x", identity_policies=[outside]).allowed
    deny_outside = identity(allow("*", "*"), {"Effect": "Deny", "Action": "*",
                                              "NotResource": "arn:aws:s3:::bucket/*"})
    assert decide(USER, GET, OBJECT, identity_policies=[deny_outside]).allowed
    assert decide(USER, GET, "arn:aws:s3:::other/x",
                  identity_policies=[deny_outside]).decision is EXPLICIT


def test_actions_are_case_insensitive_resources_are_not() -> None:
    policy_ = identity(allow("S3:getobject", "arn:aws:s3:::Bucket/*"))
    assert decide(USER, "s3:GetObject", "arn:aws:s3:::Bucket/k",
                  identity_policies=[policy_]).allowed
    assert not decide(USER, "s3:GetObject", "arn:aws:s3:::bucket/k",
                      identity_policies=[policy_]).allowed


# -- resource-based policies within one account ----

def test_resource_policy_naming_the_user_needs_no_identity_policy_nor_boundary() -> None:
    bucket = bucket_policy(grant({"AWS": USER}))
    narrow_boundary = policy(PolicyKind.BOUNDARY, allow("ec2:*"), name="boundary")
    result = decide(USER, GET, OBJECT, resource_policy=bucket, boundaries=[narrow_boundary])
    assert result.decision is ALLOWED
    assert result.reason == "allowed by a resource-based policy"
    assert result.matched[0].principal_match == "principal"


def test_resource_policy_naming_the_account_grants_nothing_by_itself() -> None:
    bucket = bucket_policy(grant({"AWS": ROOT}))
    assert decide(USER, GET, OBJECT, resource_policy=bucket).decision is IMPLICIT
    bucket_by_id = bucket_policy(grant({"AWS": A}))
    assert decide(SESSION, GET, OBJECT, resource_policy=bucket_by_id).decision is IMPLICIT
    assert decide(USER, GET, OBJECT, resource_policy=bucket,
                  identity_policies=[identity(allow(GET))]).allowed


def test_resource_policy_naming_the_role_is_limited_by_boundary_and_session_policy() -> None:
    bucket = bucket_policy(grant({"AWS": ROLE}))
    assert decide(SESSION, GET, OBJECT, resource_policy=bucket).allowed
    narrow = policy(PolicyKind.BOUNDARY, allow("ec2:*"), name="boundary")
    result = decide(SESSION, GET, OBJECT, resource_policy=bucket, boundaries=[narrow])
    assert result.decision is IMPLICIT
    assert result.reason == "because no permissions boundary allows the s3:GetObject action"
    session = policy(PolicyKind.SESSION, allow("ec2:*"), name="session")
    result = decide(SESSION, GET, OBJECT, resource_policy=bucket, session=[session])
    assert result.decision is IMPLICIT
    assert result.reason == "because no session policy allows the s3:GetObject action"


def test_resource_policy_naming_the_session_is_not_limited() -> None:
    bucket = bucket_policy(grant({"AWS": SESSION}))
    narrow = policy(PolicyKind.BOUNDARY, allow("ec2:*"), name="boundary")
    session = policy(PolicyKind.SESSION, allow("ec2:*"), name="session")
    assert decide(SESSION, GET, OBJECT, resource_policy=bucket, boundaries=[narrow],
                  session=[session]).allowed
    other_session = f"arn:aws:sts::{A}:assumed-role/Dev/other"
    assert not decide(other_session, GET, OBJECT, resource_policy=bucket).allowed


def test_resource_policy_naming_the_federated_user_session() -> None:
    bucket = bucket_policy(grant({"AWS": FEDERATED}))
    assert decide(FEDERATED, GET, OBJECT, resource_policy=bucket).allowed


def test_resource_policy_wildcard_principal_grants_directly() -> None:
    public = bucket_policy(grant("*"))
    assert decide(USER, GET, OBJECT, resource_policy=public).allowed
    assert decide("anonymous", GET, OBJECT, resource_policy=public).allowed
    assert decide(f"arn:aws:iam::{B}:user/bob", GET, OBJECT, resource_policy=public,
                  resource_account=A).decision is IMPLICIT  # other account: needs identity


def test_explicit_deny_in_the_resource_policy() -> None:
    bucket = bucket_policy(grant({"AWS": A}, effect="Deny"))
    result = decide(USER, GET, OBJECT, resource_policy=bucket,
                    identity_policies=[identity(allow("s3:*"))])
    assert result.decision is EXPLICIT
    assert result.reason == "with an explicit deny in a resource-based policy"


# -- boundaries, session policies ----

def test_permissions_boundary_intersects_identity_policies() -> None:
    broad = identity(allow("*"))
    boundary = policy(PolicyKind.BOUNDARY, allow("s3:*"), name="boundary")
    assert decide(USER, GET, OBJECT, identity_policies=[broad], boundaries=[boundary]).allowed
    result = decide(USER, "ec2:RunInstances", "*", identity_policies=[broad],
                    boundaries=[boundary])
    assert result.decision is IMPLICIT
    assert result.reason == "because no permissions boundary allows the ec2:RunInstances action"
    # The boundary grants nothing itself.
    assert decide(USER, GET, OBJECT, boundaries=[boundary]).decision is IMPLICIT
    denying = policy(PolicyKind.BOUNDARY, allow("*"), deny(GET), name="boundary-deny")
    result = decide(USER, GET, OBJECT, identity_policies=[broad], boundaries=[denying])
    assert result.reason == "with an explicit deny in a permissions boundary"


def test_session_policies() -> None:
    broad = identity(allow("*"))
    session = policy(PolicyKind.SESSION, allow("s3:Get*"), name="session")
    assert decide(SESSION, GET, OBJECT, identity_policies=[broad], session=[session]).allowed
    result = decide(SESSION, "s3:PutObject", OBJECT, identity_policies=[broad], session=[session])
    assert result.reason == "because no session policy allows the s3:PutObject action"
    # No session policy passed: the role's own permissions.
    assert decide(SESSION, "s3:PutObject", OBJECT, identity_policies=[broad]).allowed
    # A GetFederationToken session gets nothing without a session policy.
    assert decide(FEDERATED, GET, OBJECT, identity_policies=[broad]).decision is IMPLICIT
    assert decide(FEDERATED, GET, OBJECT, identity_policies=[broad], session=[session]).allowed


def test_session_policy_does_not_apply_to_an_iam_user() -> None:
    broad = identity(allow("*"))
    session = policy(PolicyKind.SESSION, deny("*"), name="session")
    result = decide(USER, GET, OBJECT, identity_policies=[broad], session=[session])
    assert result.allowed
    assert result.ignored == ("session policies: the principal is not a session",)


# -- SCPs ----

FULL_ACCESS = policy(PolicyKind.SCP, allow("*"), name="FullAWSAccess")


def test_scps_need_an_allow_at_every_level() -> None:
    broad = identity(allow("*"))
    s3_only = policy(PolicyKind.SCP, allow("s3:*"), name="s3-only")
    levels = [[FULL_ACCESS], [s3_only], [FULL_ACCESS]]
    assert decide(USER, GET, OBJECT, identity_policies=[broad], scps=levels).allowed
    result = decide(USER, "ec2:RunInstances", "*", identity_policies=[broad], scps=levels)
    assert result.decision is IMPLICIT
    assert result.reason == "because no service control policy allows the ec2:RunInstances action"
    assert [m.level for m in result.matched if m.policy_kind is PolicyKind.SCP] == [0, 2]


def test_scp_deny_and_scps_never_grant() -> None:
    no_s3 = policy(PolicyKind.SCP, allow("*"), deny("s3:*"), name="no-s3")
    result = decide(USER, GET, OBJECT, identity_policies=[identity(allow("*"))],
                    scps=[[FULL_ACCESS], [no_s3]])
    assert result.decision is EXPLICIT
    assert result.reason == "with an explicit deny in a service control policy"
    assert decide(USER, GET, OBJECT, scps=[[FULL_ACCESS]]).decision is IMPLICIT


def test_scps_limit_the_root_user_but_not_anonymous_or_services() -> None:
    nothing = policy(PolicyKind.SCP, allow("ec2:*"), name="ec2-only")
    assert decide(ROOT, GET, OBJECT, scps=[[nothing]]).decision is IMPLICIT
    assert decide(ROOT, GET, OBJECT, scps=[[FULL_ACCESS]]).allowed
    public = bucket_policy(grant("*"))
    assert decide("anonymous", GET, OBJECT, resource_policy=public, scps=[[nothing]]).allowed


def test_an_empty_scp_level_allows_nothing() -> None:
    assert decide(USER, GET, OBJECT, identity_policies=[identity(allow("*"))],
                  scps=[[FULL_ACCESS], []]).decision is IMPLICIT


def test_explicit_deny_reason_prefers_scp_over_identity() -> None:
    deny_all_scp = policy(PolicyKind.SCP, allow("*"), deny("*"), name="deny-all")
    result = decide(USER, GET, OBJECT, identity_policies=[identity(deny("*"))],
                    scps=[[deny_all_scp]])
    assert result.reason == "with an explicit deny in a service control policy"
    assert {m.policy_kind for m in result.matched} == {PolicyKind.SCP, PolicyKind.IDENTITY}


# -- root ----

def test_root_user_is_allowed_in_its_own_account_unless_explicitly_denied() -> None:
    assert decide(ROOT, "iam:CreateUser", f"arn:aws:iam::{A}:user/x").allowed
    locked = bucket_policy(grant("*", effect="Deny"))
    assert decide(ROOT, GET, OBJECT, resource_policy=locked).decision is EXPLICIT
    # Across accounts the resource side must allow it.
    assert decide(ROOT, GET, OBJECT, resource_account=B).decision is IMPLICIT
    other_bucket = bucket_policy(grant({"AWS": A}))
    assert decide(ROOT, GET, OBJECT, resource_account=B, resource_policy=other_bucket).allowed


# -- role trust policies ----

TARGET_ROLE = f"arn:aws:iam::{A}:role/Target"


def trust_policy(*statements: dict) -> object:
    return policy(PolicyKind.TRUST, *statements, name="trust")


def assume(who: dict | str, **extra: object) -> dict:
    return {"Effect": "Allow", "Principal": who, "Action": "sts:AssumeRole", **extra}


def test_trust_policy_must_allow_even_within_the_account() -> None:
    can_assume = identity(allow("sts:AssumeRole", TARGET_ROLE))
    result = decide(USER, "sts:AssumeRole", TARGET_ROLE, identity_policies=[can_assume],
                    trust=True)
    assert result.reason == "because no role trust policy allows the sts:AssumeRole action"
    trusting_other = trust_policy(assume({"AWS": f"arn:aws:iam::{B}:root"}))
    assert decide(USER, "sts:AssumeRole", TARGET_ROLE, identity_policies=[can_assume],
                  resource_policy=trusting_other, trust=True).decision is IMPLICIT


def test_trust_policy_naming_the_user_needs_no_identity_policy_in_the_same_account() -> None:
    trust = trust_policy(assume({"AWS": USER}))
    assert decide(USER, "sts:AssumeRole", TARGET_ROLE, resource_policy=trust, trust=True).allowed


def test_trust_policy_naming_the_account_needs_the_identity_policy_too() -> None:
    trust = trust_policy(assume({"AWS": ROOT}))
    result = decide(USER, "sts:AssumeRole", TARGET_ROLE, resource_policy=trust, trust=True)
    assert result.reason == "because no identity-based policy allows the sts:AssumeRole action"
    can_assume = identity(allow("sts:AssumeRole", TARGET_ROLE))
    result = decide(USER, "sts:AssumeRole", TARGET_ROLE, resource_policy=trust, trust=True,
                    identity_policies=[can_assume])
    assert result.allowed
    assert result.reason == "allowed by an identity-based policy and the role trust policy"


def test_explicit_deny_in_the_trust_policy() -> None:
    trust = trust_policy(assume({"AWS": ROOT}),
                         {"Effect": "Deny", "Principal": {"AWS": USER},
                          "Action": "sts:AssumeRole"})
    result = decide(USER, "sts:AssumeRole", TARGET_ROLE, resource_policy=trust, trust=True,
                    identity_policies=[identity(allow("sts:AssumeRole"))])
    assert result.reason == "with an explicit deny in the role trust policy"


def test_service_principal_in_a_trust_policy() -> None:
    trust = trust_policy(assume({"Service": "ec2.amazonaws.com"}))
    assert decide("ec2.amazonaws.com", "sts:AssumeRole", TARGET_ROLE, resource_policy=trust,
                  trust=True).allowed
    assert not decide("lambda.amazonaws.com", "sts:AssumeRole", TARGET_ROLE,
                      resource_policy=trust, trust=True).allowed


def test_web_identity_and_saml_principals_in_trust_policies() -> None:
    web = trust_policy({"Effect": "Allow",
                        "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {"StringEquals": {
                            "cognito-identity.amazonaws.com:aud": "us-east-1:pool"}}})
    context = {"cognito-identity.amazonaws.com:aud": "us-east-1:pool"}
    assert decide("cognito-identity.amazonaws.com", "sts:AssumeRoleWithWebIdentity",
                  TARGET_ROLE, resource_policy=web, trust=True, context=context).allowed
    assert not decide("accounts.google.com", "sts:AssumeRoleWithWebIdentity", TARGET_ROLE,
                      resource_policy=web, trust=True, context=context).allowed
    provider = f"arn:aws:iam::{A}:saml-provider/Okta"
    saml = trust_policy({"Effect": "Allow", "Principal": {"Federated": provider},
                         "Action": "sts:AssumeRoleWithSAML"})
    assert decide(provider, "sts:AssumeRoleWithSAML", TARGET_ROLE, resource_policy=saml,
                  trust=True).allowed


# -- cross-account ----

BOB = f"arn:aws:iam::{B}:user/bob"
A_OBJECT = "arn:aws:s3:::a-bucket/key"


@pytest.mark.parametrize(
    ("names", "identity_allows", "expected", "reason"),
    [
        ({"AWS": f"arn:aws:iam::{B}:root"}, True, ALLOWED, None),
        ({"AWS": B}, True, ALLOWED, None),
        ({"AWS": BOB}, True, ALLOWED, None),
        ({"AWS": BOB}, False, IMPLICIT,
         "because no identity-based policy allows the s3:GetObject action"),
        ({"AWS": f"arn:aws:iam::{C}:root"}, True, IMPLICIT,
         "because no resource-based policy allows the s3:GetObject action"),
        (None, True, IMPLICIT, "because no resource-based policy allows the s3:GetObject action"),
    ],
)
def test_cross_account_needs_both_sides(names: dict | None, identity_allows: bool,
                                        expected: Decision, reason: str | None) -> None:
    bucket = bucket_policy(grant(names, resource=A_OBJECT)) if names else None
    policies = [identity(allow("s3:GetObject", A_OBJECT))] if identity_allows else []
    result = decide(BOB, GET, A_OBJECT, resource_policy=bucket, identity_policies=policies,
                    resource_account=A)
    assert result.decision is expected
    if reason:
        assert result.reason == reason


def test_cross_account_explicit_deny_on_either_side() -> None:
    bucket = bucket_policy(grant({"AWS": B}, resource=A_OBJECT),
                           grant({"AWS": BOB}, resource=A_OBJECT, effect="Deny"))
    result = decide(BOB, GET, A_OBJECT, resource_policy=bucket, resource_account=A,
                    identity_policies=[identity(allow("s3:*"))])
    assert result.decision is EXPLICIT
    bucket = bucket_policy(grant({"AWS": B}, resource=A_OBJECT))
    result = decide(BOB, GET, A_OBJECT, resource_policy=bucket, resource_account=A,
                    identity_policies=[identity(allow("s3:*"), deny("s3:GetObject"))])
    assert result.decision is EXPLICIT


def test_cross_account_session_is_limited_by_its_session_policy() -> None:
    bucket = bucket_policy(grant({"AWS": f"arn:aws:sts::{B}:assumed-role/R/s"},
                                 resource=A_OBJECT))
    session = f"arn:aws:sts::{B}:assumed-role/R/s"
    narrow = policy(PolicyKind.SESSION, allow("ec2:*"), name="session")
    result = decide(session, GET, A_OBJECT, resource_policy=bucket, resource_account=A,
                    identity_policies=[identity(allow("s3:*"))], session=[narrow])
    assert result.reason == "because no session policy allows the s3:GetObject action"


# -- principals outside accounts, NotPrincipal ----

def test_anonymous_and_services_are_allowed_only_by_the_resource_policy() -> None:
    assert decide("anonymous", GET, OBJECT).reason == (
        "because no resource-based policy allows the s3:GetObject action")
    delivery = bucket_policy(grant({"Service": "cloudtrail.amazonaws.com"}, "s3:PutObject",
                                   "arn:aws:s3:::bucket/AWSLogs/*"))
    assert decide("cloudtrail.amazonaws.com", "s3:PutObject", "arn:aws:s3:::bucket/AWSLogs/x",
                  resource_policy=delivery).allowed
    assert not decide("anonymous", "s3:PutObject", "arn:aws:s3:::bucket/AWSLogs/x",
                      resource_policy=delivery).allowed


def test_not_principal_example_from_the_aws_docs() -> None:
    # NotPrincipal page: deny everyone except Bob of account 444455556666 (the account ARN is
    # listed too, or Bob's account and so Bob himself would be denied).
    other = "444455556666"
    bob = f"arn:aws:iam::{other}:user/Bob"
    deny_all_but_bob = bucket_policy(
        grant({"AWS": "*"}),
        {"Effect": "Deny", "NotPrincipal": {"AWS": [bob, f"arn:aws:iam::{other}:root"]},
         "Action": "s3:*", "Resource": ["arn:aws:s3:::bucket", OBJECT]})
    broad = [identity(allow("s3:*"))]
    assert decide(bob, GET, OBJECT, resource_policy=deny_all_but_bob, identity_policies=broad,
                  resource_account=A).allowed
    alice_there = f"arn:aws:iam::{other}:user/Alice"
    assert decide(alice_there, GET, OBJECT, resource_policy=deny_all_but_bob,
                  identity_policies=broad, resource_account=A).decision is EXPLICIT
    only_bob = bucket_policy(
        grant({"AWS": "*"}),
        {"Effect": "Deny", "NotPrincipal": {"AWS": bob}, "Action": "s3:*", "Resource": OBJECT})
    assert decide(bob, GET, OBJECT, resource_policy=only_bob, identity_policies=broad,
                  resource_account=A).decision is EXPLICIT


def test_not_principal_for_a_role_session_needs_session_role_and_account() -> None:
    listed = [SESSION, ROLE, ROOT]
    broad = [identity(allow("s3:*"))]
    for names, expected in ((listed, ALLOWED), (listed[1:], EXPLICIT), (listed[:2], EXPLICIT)):
        bucket = bucket_policy({"Effect": "Deny", "NotPrincipal": {"AWS": names},
                                "Action": "s3:*", "Resource": OBJECT})
        assert decide(SESSION, GET, OBJECT, resource_policy=bucket,
                      identity_policies=broad).decision is expected


def test_deny_with_not_principal_always_denies_a_principal_with_a_boundary() -> None:
    bucket = bucket_policy({"Effect": "Deny", "NotPrincipal": {"AWS": [USER, ROOT]},
                            "Action": "s3:*", "Resource": OBJECT})
    broad = [identity(allow("s3:*"))]
    assert decide(USER, GET, OBJECT, resource_policy=bucket, identity_policies=broad).allowed
    boundary = policy(PolicyKind.BOUNDARY, allow("s3:*"), name="boundary")
    assert decide(USER, GET, OBJECT, resource_policy=bucket, identity_policies=broad,
                  boundaries=[boundary]).decision is EXPLICIT


def test_condition_keys_drive_statements() -> None:
    policy_ = identity(allow("s3:*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                       deny("s3:*", Condition={"Bool": {"aws:SecureTransport": "false"}}))
    assert decide(USER, GET, OBJECT, identity_policies=[policy_],
                  context={"aws:SourceIp": "10.1.2.3", "aws:SecureTransport": True}).allowed
    assert decide(USER, GET, OBJECT, identity_policies=[policy_],
                  context={"aws:SourceIp": "10.1.2.3", "aws:SecureTransport": False}
                  ).decision is EXPLICIT
    assert decide(USER, GET, OBJECT, identity_policies=[policy_],
                  context={"aws:SourceIp": "192.0.2.1", "aws:SecureTransport": True}
                  ).decision is IMPLICIT
