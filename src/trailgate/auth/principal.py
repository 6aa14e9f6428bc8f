"""Who made a request (`Principal`) and the global condition keys AWS derives from it.

The key set and the rules for when each key is present follow the IAM User Guide pages "AWS global
condition context keys" and "Policy variables: principal key values".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from trailgate.clock import iso_z

PrincipalKind = Literal["Root", "IAMUser", "AssumedRole", "AWSService", "Anonymous"]

# aws:PrincipalType values. AWS documents Account/User/FederatedUser/AssumedRole/Anonymous; it
# does not document the value for service principals, so "Service" here is our choice.
_PRINCIPAL_TYPE: dict[str, str] = {
    "Root": "Account",
    "IAMUser": "User",
    "AssumedRole": "AssumedRole",
    "AWSService": "Service",
    "Anonymous": "Anonymous",
}


@dataclass(frozen=True)
class Principal:
    """An authenticated (or anonymous) caller, as later code and CloudTrail need to see it."""

    kind: PrincipalKind
    account_id: str | None = None
    arn: str | None = None
    principal_id: str | None = None
    user_name: str | None = None
    role_arn: str | None = None
    role_name: str | None = None
    role_id: str | None = None
    session_name: str | None = None
    access_key_id: str | None = None
    token_issue_time: datetime | None = None
    expires_at: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    source_identity: str | None = None
    service: str | None = None
    mfa_authenticated: bool = False

    @classmethod
    def root(
        cls, account_id: str, *, access_key_id: str | None = None, partition: str = "aws"
    ) -> Principal:
        return cls(
            kind="Root",
            account_id=account_id,
            arn=f"arn:{partition}:iam::{account_id}:root",
            principal_id=account_id,
            access_key_id=access_key_id,
        )

    @classmethod
    def iam_user(
        cls,
        account_id: str,
        user_name: str,
        user_id: str,
        *,
        path: str = "/",
        access_key_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        partition: str = "aws",
    ) -> Principal:
        return cls(
            kind="IAMUser",
            account_id=account_id,
            arn=f"arn:{partition}:iam::{account_id}:user{path}{user_name}",
            principal_id=user_id,
            user_name=user_name,
            access_key_id=access_key_id,
            tags=dict(tags or {}),
        )

    @classmethod
    def assumed_role(
        cls,
        account_id: str,
        role_name: str,
        role_id: str,
        session_name: str,
        *,
        role_path: str = "/",
        access_key_id: str | None = None,
        token_issue_time: datetime | None = None,
        expires_at: datetime | None = None,
        tags: Mapping[str, str] | None = None,
        source_identity: str | None = None,
        mfa_authenticated: bool = False,
        partition: str = "aws",
    ) -> Principal:
        # The session ARN drops the role path; the role ARN keeps it.
        return cls(
            kind="AssumedRole",
            account_id=account_id,
            arn=f"arn:{partition}:sts::{account_id}:assumed-role/{role_name}/{session_name}",
            principal_id=f"{role_id}:{session_name}",
            role_arn=f"arn:{partition}:iam::{account_id}:role{role_path}{role_name}",
            role_name=role_name,
            role_id=role_id,
            session_name=session_name,
            access_key_id=access_key_id,
            token_issue_time=token_issue_time,
            expires_at=expires_at,
            tags=dict(tags or {}),
            source_identity=source_identity,
            mfa_authenticated=mfa_authenticated,
        )

    @classmethod
    def aws_service(cls, service: str) -> Principal:
        return cls(kind="AWSService", service=service, principal_id=service)

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(kind="Anonymous", principal_id="anonymous")

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "Anonymous"

    @property
    def uses_temporary_credentials(self) -> bool:
        return self.token_issue_time is not None


def global_context_keys(
    principal: Principal,
    *,
    source_ip: str,
    now: datetime,
    secure_transport: bool,
    user_agent: str | None = None,
    requested_region: str | None = None,
) -> dict[str, str | list[str]]:
    """The aws:* request-context keys AWS sets for a request made by `principal` at `now`.

    Keys AWS leaves out for a principal type are absent (not empty), because policy conditions
    treat "missing" differently from any value.
    """
    keys: dict[str, str | list[str]] = {
        "aws:CurrentTime": iso_z(now),
        "aws:EpochTime": str(int((now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp())),
        "aws:SecureTransport": "true" if secure_transport else "false",
        "aws:SourceIp": source_ip,
        "aws:PrincipalType": _PRINCIPAL_TYPE[principal.kind],
        "aws:ViaAWSService": "false",
    }
    if user_agent is not None:
        keys["aws:UserAgent"] = user_agent
    if requested_region:
        keys["aws:RequestedRegion"] = requested_region
    if principal.kind == "Anonymous":
        return keys

    keys["aws:PrincipalIsAWSService"] = "true" if principal.kind == "AWSService" else "false"
    if principal.kind == "AWSService":
        if principal.service:
            keys["aws:PrincipalServiceName"] = principal.service
        return keys

    if principal.account_id:
        keys["aws:PrincipalAccount"] = principal.account_id
    if principal.kind == "Root":
        keys["aws:userid"] = principal.account_id or ""
        keys["aws:PrincipalArn"] = principal.arn or ""
    elif principal.kind == "IAMUser":
        keys["aws:userid"] = principal.principal_id or ""
        keys["aws:username"] = principal.user_name or ""
        keys["aws:PrincipalArn"] = principal.arn or ""
    elif principal.kind == "AssumedRole":
        keys["aws:userid"] = principal.principal_id or ""
        # AWS reports the role, not the session, as the principal ARN.
        keys["aws:PrincipalArn"] = principal.role_arn or principal.arn or ""

    if principal.token_issue_time is not None:
        keys["aws:TokenIssueTime"] = iso_z(principal.token_issue_time)
        keys["aws:MultiFactorAuthPresent"] = "true" if principal.mfa_authenticated else "false"
        if principal.mfa_authenticated:
            issued = principal.token_issue_time
            if issued.tzinfo is None:
                issued = issued.replace(tzinfo=UTC)
            current = now if now.tzinfo else now.replace(tzinfo=UTC)
            keys["aws:MultiFactorAuthAge"] = str(max(0, int((current - issued).total_seconds())))
    for tag_key, tag_value in principal.tags.items():
        keys[f"aws:PrincipalTag/{tag_key}"] = tag_value
    if principal.source_identity:
        keys["aws:SourceIdentity"] = principal.source_identity
    return keys
