"""The seed's log-sharing scenarios: account A (111111111111) owns the CloudTrail bucket and one
role per reader; B (222222222222) and C (333333333333) read their own logs (scenario 1), Z
(444444444444), a third party, reads all of them with an external ID (scenario 2).

Policies from the AWS CloudTrail User Guide:
- "Assuming a role" (the seed page): the B user's identity policy allowing sts:AssumeRole on
  the role "Test" in A.
- "Creating an access policy to grant access to accounts you own"
  (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-sharing-logs-your-accounts.html):
  the trust policy naming account B's root, and the access policy. The page's access policy
  grants s3:Get* / s3:List* on `bucket/prefix/AWSLogs/<B>/*` and on the bucket; the issue asks
  for the prefix-scoped form too (s3:ListBucket limited by an s3:prefix StringLike condition,
  s3:GetObject on AWSLogs/<B>/*). Both are tested.
- "Creating an access policy to grant access to a third party"
  (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-sharing-logs-third-party.html):
  Z's trust policy with the sts:ExternalId condition and the s3:Get* / s3:List* policy.
"""

from __future__ import annotations

import pytest
from policy_helpers import A, B, C, Z, decide

from trailgate.policy import Decision, PolicyKind, compile_policy

BUCKET = "ct-central-111111111111"
EXTERNAL_ID = "external-ID-issued-by-account-Z"
ROLE = {B: f"arn:aws:iam::{A}:role/Test", C: f"arn:aws:iam::{A}:role/LogsC",
        Z: f"arn:aws:iam::{A}:role/LogsZ"}


def user_assume_policy(account: str) -> object:
    return compile_policy(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": ROLE[account]}]},
        PolicyKind.IDENTITY, f"assume-{account}")


def trust_policy(account: str) -> object:
    statement: dict = {"Sid": "", "Effect": "Allow",
                       "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                       "Action": "sts:AssumeRole"}
    if account == Z:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
    return compile_policy({"Version": "2012-10-17", "Statement": [statement]},
                          PolicyKind.TRUST, f"trust-{account}")


def prefix_scoped_policy(account: str) -> object:
    return compile_policy({"Version": "2012-10-17", "Statement": [
        {"Sid": "ListOwnLogs", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": f"arn:aws:s3:::{BUCKET}",
         "Condition": {"StringLike": {"s3:prefix": [f"AWSLogs/{account}/*"]}}},
        {"Sid": "ReadOwnLogs", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/{account}/*"},
    ]}, PolicyKind.IDENTITY, f"logs-{account}")


def doc_scenario_1_policy(account: str) -> object:
    return compile_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
         "Resource": f"arn:aws:s3:::{BUCKET}/prefix/AWSLogs/{account}/*"},
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
         "Resource": f"arn:aws:s3:::{BUCKET}"},
    ]}, PolicyKind.IDENTITY, f"doc-logs-{account}")


def scenario_2_policy() -> object:
    return compile_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
         "Resource": f"arn:aws:s3:::{BUCKET}/*"},
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
         "Resource": f"arn:aws:s3:::{BUCKET}"},
    ]}, PolicyKind.IDENTITY, "logs-third-party")


def log_key(account: str, prefix: str = "") -> str:
    return (f"arn:aws:s3:::{BUCKET}/{prefix}AWSLogs/{account}/CloudTrail/us-east-1/2024/05/01/"
            f"{account}_CloudTrail_us-east-1_20240501T1005Z_abc123DEF456ghi7.json.gz")


def session(account: str) -> str:
    return f"arn:aws:sts::{A}:assumed-role/{ROLE[account].rsplit('/', 1)[1]}/reader-session"


def assume(account: str, *, user_account: str | None = None, with_identity: bool = True,
           external_id: str | None = None):
    caller = user_account or account
    context = {"sts:ExternalId": external_id} if external_id is not None else {}
    return decide(f"arn:aws:iam::{caller}:user/reader", "sts:AssumeRole", ROLE[account],
                  identity_policies=[user_assume_policy(account)] if with_identity else [],
                  resource_policy=trust_policy(account), trust=True, resource_account=A,
                  context=context)


# -- assuming the roles ----

def test_b_user_may_assume_the_b_role() -> None:
    result = assume(B)
    assert result.decision is Decision.ALLOWED
    assert {m.policy_kind for m in result.matched} == {PolicyKind.TRUST, PolicyKind.IDENTITY}


def test_b_user_needs_its_own_identity_policy() -> None:
    result = assume(B, with_identity=False)
    assert result.decision is Decision.IMPLICITLY_DENIED
    assert result.denial_message() == (
        f"User: arn:aws:iam::{B}:user/reader is not authorized to perform: sts:AssumeRole on "
        f"resource: {ROLE[B]} because no identity-based policy allows the sts:AssumeRole action")


def test_c_user_may_assume_only_the_c_role() -> None:
    assert assume(C).allowed
    # A C user whose own policy allows assuming the B role: the B role trusts only B.
    result = assume(B, user_account=C)
    assert result.decision is Decision.IMPLICITLY_DENIED
    assert result.reason == "because no role trust policy allows the sts:AssumeRole action"


@pytest.mark.parametrize(("external_id", "allowed"),
                         [(EXTERNAL_ID, True), (None, False), ("guess", False),
                          (EXTERNAL_ID.upper(), False)])
def test_z_needs_the_external_id(external_id: str | None, allowed: bool) -> None:
    result = assume(Z, external_id=external_id)
    assert result.allowed is allowed
    if not allowed:
        assert result.reason == "because no role trust policy allows the sts:AssumeRole action"


# -- scenario 1: each account reads its own logs ----

@pytest.mark.parametrize("reader", [B, C])
def test_prefix_scoped_role_lists_and_reads_only_its_own_logs(reader: str) -> None:
    policies = [prefix_scoped_policy(reader)]
    other = C if reader == B else B
    who = session(reader)
    bucket = f"arn:aws:s3:::{BUCKET}"
    assert decide(who, "s3:ListBucket", bucket, identity_policies=policies, resource_account=A,
                  context={"s3:prefix": f"AWSLogs/{reader}/CloudTrail/"}).allowed
    assert decide(who, "s3:GetObject", log_key(reader), identity_policies=policies,
                  resource_account=A).allowed
    listing_other = decide(who, "s3:ListBucket", bucket, identity_policies=policies,
                           resource_account=A, context={"s3:prefix": f"AWSLogs/{other}/"})
    assert listing_other.decision is Decision.IMPLICITLY_DENIED
    reading_other = decide(who, "s3:GetObject", log_key(other), identity_policies=policies,
                           resource_account=A)
    assert reading_other.decision is Decision.IMPLICITLY_DENIED
    assert reading_other.reason == "because no identity-based policy allows the s3:GetObject action"
    # Listing without a prefix is a listing of everyone's logs.
    assert not decide(who, "s3:ListBucket", bucket, identity_policies=policies,
                      resource_account=A).allowed
    assert not decide(who, "s3:PutObject", log_key(reader), identity_policies=policies,
                      resource_account=A).allowed


def test_documented_scenario_1_policy_reads_its_own_prefix_only() -> None:
    policies = [doc_scenario_1_policy(B)]
    who = session(B)
    assert decide(who, "s3:GetObject", log_key(B, "prefix/"), identity_policies=policies).allowed
    assert not decide(who, "s3:GetObject", log_key(C, "prefix/"),
                      identity_policies=policies).allowed
    assert decide(who, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", identity_policies=policies,
                  context={"s3:prefix": "anything"}).allowed


# -- scenario 2: the third party reads everything ----

def test_third_party_reads_all_logs_but_writes_nothing() -> None:
    policies = [scenario_2_policy()]
    who = session(Z)
    for account in (A, B, C):
        assert decide(who, "s3:GetObject", log_key(account), identity_policies=policies).allowed
    assert decide(who, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}",
                  identity_policies=policies).allowed
    assert decide(who, "s3:GetBucketLocation", f"arn:aws:s3:::{BUCKET}",
                  identity_policies=policies).allowed
    assert not decide(who, "s3:PutObject", log_key(Z), identity_policies=policies).allowed
    assert not decide(who, "s3:DeleteObject", log_key(B), identity_policies=policies).allowed
    assert not decide(who, "s3:GetObject", "arn:aws:s3:::another-bucket/x",
                      identity_policies=policies).allowed


# -- cross-account access to the bucket without a role ----

def test_direct_cross_account_read_needs_bucket_policy_and_identity_policy() -> None:
    bucket_policy = compile_policy({"Version": "2012-10-17", "Statement": [
        {"Sid": "BReadsOwnLogs", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{B}:root"}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/{B}/*"}]}, PolicyKind.RESOURCE, "bucket")
    b_user = f"arn:aws:iam::{B}:user/reader"
    b_identity = compile_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]},
        PolicyKind.IDENTITY, "b-read")
    assert decide(b_user, "s3:GetObject", log_key(B), identity_policies=[b_identity],
                  resource_policy=bucket_policy, resource_account=A).allowed
    assert decide(b_user, "s3:GetObject", log_key(C), identity_policies=[b_identity],
                  resource_policy=bucket_policy, resource_account=A).reason == (
        "because no resource-based policy allows the s3:GetObject action")
    assert decide(b_user, "s3:GetObject", log_key(B), resource_policy=bucket_policy,
                  resource_account=A).reason == (
        "because no identity-based policy allows the s3:GetObject action")
    c_user = f"arn:aws:iam::{C}:user/reader"
    assert not decide(c_user, "s3:GetObject", log_key(B), identity_policies=[b_identity],
                      resource_policy=bucket_policy, resource_account=A).allowed


def test_cloudtrail_delivery_bucket_policy() -> None:
    trail = f"arn:aws:cloudtrail:us-east-1:{B}:trail/b-trail"
    bucket_policy = compile_policy({"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSCloudTrailAclCheck20150319", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": f"arn:aws:s3:::{BUCKET}",
         "Condition": {"StringEquals": {"aws:SourceArn": [trail]}}},
        {"Sid": "AWSCloudTrailWrite20150319", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": [f"arn:aws:s3:::{BUCKET}/AWSLogs/{A}/*",
                      f"arn:aws:s3:::{BUCKET}/AWSLogs/{B}/*"],
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                                        "aws:SourceArn": [trail]}}},
    ]}, PolicyKind.RESOURCE, "bucket")
    context = {"aws:SourceArn": trail, "aws:SourceAccount": B,
               "s3:x-amz-acl": "bucket-owner-full-control"}
    result = decide("cloudtrail.amazonaws.com", "s3:PutObject", log_key(B),
                    resource_policy=bucket_policy, context=context)
    assert result.allowed
    assert [m.sid for m in result.matched] == ["AWSCloudTrailWrite20150319"]
    assert not decide("cloudtrail.amazonaws.com", "s3:PutObject", log_key(C),
                      resource_policy=bucket_policy, context=context).allowed
    assert not decide("cloudtrail.amazonaws.com", "s3:PutObject", log_key(B),
                      resource_policy=bucket_policy,
                      context={**context, "s3:x-amz-acl": "private"}).allowed
    assert decide("cloudtrail.amazonaws.com", "s3:GetBucketAcl", f"arn:aws:s3:::{BUCKET}",
                  resource_policy=bucket_policy, context=context).allowed
