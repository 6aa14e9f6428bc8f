"""Principals and the global condition keys AWS derives from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from trailgate.auth import Principal, global_context_keys

NOW = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
ACCOUNT = "111122223333"


def keys(principal: Principal, **kwargs: object) -> dict[str, str | list[str]]:
    options = {"source_ip": "203.0.113.7", "now": NOW, "secure_transport": True, **kwargs}
    return global_context_keys(principal, **options)  # type: ignore[arg-type]


def test_root() -> None:
    principal = Principal.root(ACCOUNT)
    assert principal.arn == f"arn:aws:iam::{ACCOUNT}:root"
    assert principal.principal_id == ACCOUNT
    context = keys(principal)
    assert context["aws:PrincipalType"] == "Account"
    assert context["aws:userid"] == ACCOUNT
    assert context["aws:PrincipalArn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert context["aws:PrincipalAccount"] == ACCOUNT
    assert "aws:username" not in context
    assert "aws:TokenIssueTime" not in context and "aws:MultiFactorAuthPresent" not in context


def test_iam_user_with_path_and_tags() -> None:
    principal = Principal.iam_user(
        ACCOUNT, "alice", "AIDAEXAMPLE", path="/eng/", tags={"team": "blue", "cost center": "7"}
    )
    assert principal.arn == f"arn:aws:iam::{ACCOUNT}:user/eng/alice"
    context = keys(principal, user_agent="aws-cli/2", secure_transport=False)
    assert context["aws:username"] == "alice"
    assert context["aws:userid"] == "AIDAEXAMPLE"
    assert context["aws:PrincipalType"] == "User"
    assert context["aws:PrincipalTag/team"] == "blue"
    assert context["aws:PrincipalTag/cost center"] == "7"
    assert context["aws:SecureTransport"] == "false"
    assert context["aws:UserAgent"] == "aws-cli/2"
    assert context["aws:SourceIp"] == "203.0.113.7"
    assert context["aws:CurrentTime"] == "2024-03-01T12:00:00Z"
    assert context["aws:EpochTime"] == str(int(NOW.timestamp()))
    assert context["aws:PrincipalIsAWSService"] == "false"
    assert "aws:MultiFactorAuthPresent" not in context  # long-term keys: AWS leaves it out


def test_assumed_role_session() -> None:
    issued = NOW - timedelta(minutes=10)
    principal = Principal.assumed_role(
        ACCOUNT,
        "deploy",
        "AROAEXAMPLE",
        "ci-run-7",
        role_path="/service/",
        token_issue_time=issued,
        expires_at=NOW + timedelta(hours=1),
        tags={"env": "prod"},
        source_identity="alice",
        mfa_authenticated=True,
    )
    assert principal.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/ci-run-7"
    assert principal.role_arn == f"arn:aws:iam::{ACCOUNT}:role/service/deploy"
    assert principal.principal_id == "AROAEXAMPLE:ci-run-7"
    context = keys(principal)
    assert context["aws:PrincipalArn"] == principal.role_arn  # the role, not the session
    assert context["aws:userid"] == "AROAEXAMPLE:ci-run-7"
    assert context["aws:PrincipalType"] == "AssumedRole"
    assert context["aws:TokenIssueTime"] == "2024-03-01T11:50:00Z"
    assert context["aws:MultiFactorAuthPresent"] == "true"
    assert context["aws:MultiFactorAuthAge"] == "600"
    assert context["aws:SourceIdentity"] == "alice"
    assert context["aws:PrincipalTag/env"] == "prod"
    assert "aws:username" not in context


def test_session_without_mfa() -> None:
    principal = Principal.assumed_role(ACCOUNT, "r", "AROA1", "s", token_issue_time=NOW)
    context = keys(principal)
    assert context["aws:MultiFactorAuthPresent"] == "false"
    assert "aws:MultiFactorAuthAge" not in context


def test_anonymous_and_service() -> None:
    anonymous = keys(Principal.anonymous())
    assert anonymous["aws:PrincipalType"] == "Anonymous"
    for absent in ("aws:userid", "aws:PrincipalArn", "aws:PrincipalAccount", "aws:username"):
        assert absent not in anonymous
    assert "aws:CurrentTime" in anonymous and "aws:SourceIp" in anonymous
    service = keys(Principal.aws_service("cloudtrail.amazonaws.com"))
    assert service["aws:PrincipalIsAWSService"] == "true"
    assert service["aws:PrincipalServiceName"] == "cloudtrail.amazonaws.com"
    assert "aws:PrincipalArn" not in service


def test_naive_times_are_utc() -> None:
    context = keys(Principal.root(ACCOUNT), now=datetime(2024, 3, 1, 12, 0, 0))
    assert context["aws:CurrentTime"] == "2024-03-01T12:00:00Z"
    assert context["aws:EpochTime"] == str(int(NOW.timestamp()))
