"""Organizations for the management account: CreateAccount (with OrganizationAccountAccessRole),
DescribeCreateAccountStatus, ListAccounts, DescribeAccount, DescribeOrganization.

The organisation is created with the management account at bootstrap. Accounts made through
CreateAccount join it; accounts made with `trailgate admin account create` stand alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select

from trailgate.errors import AwsError
from trailgate.services import accounts, ids
from trailgate.services.iam.roles import insert_role
from trailgate.services.registry import (
    Authorizer,
    AuthzCheck,
    CallContext,
    Operation,
    operation,
)
from trailgate.store import schema, schema_iam

ACCESS_ROLE = "OrganizationAccountAccessRole"
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


def _org(conn: Connection) -> tuple[str, str]:
    org_id = accounts.setting(conn, "organization_id")
    management = accounts.management_account_id(conn)
    assert org_id and management, "the store is bootstrapped before any request"
    return org_id, management


def _not_in_use() -> AwsError:
    return AwsError(
        "AWSOrganizationsNotInUseException",
        "Your account is not a member of an organization.",
    )


def _caller_membership(ctx: CallContext) -> tuple[str, str, bool]:
    """(organization id, management account id, caller is the management account)."""
    with ctx.runtime.db.read() as conn:
        org_id, management = _org(conn)
        account = accounts.get_account(conn, ctx.principal.account_id or "")
    if account is None or account.organization_id != org_id:
        raise _not_in_use()
    return org_id, management, account.id == management


def _authorizer(action: str, *, management_only: bool) -> Authorizer:
    def authorize(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
        _, management, is_management = _caller_membership(ctx)
        if management_only and not is_management:
            raise AwsError(
                "AccessDeniedException",
                "You don't have permissions to access this resource.",
            )
        return [AuthzCheck(action, "*", management)]

    return authorize


def _organizations_operation(
    name: str, *, management_only: bool = True, read_only: bool = False
) -> Callable[[Operation], Operation]:
    """Register Organizations' operation `name`, authorized as organizations:`name` on "*"."""
    return operation(
        "organizations",
        name,
        authorize=_authorizer(f"organizations:{name}", management_only=management_only),
        read_only=read_only,
    )


def _account_arn(management: str, org_id: str, account_id: str) -> str:
    return f"arn:aws:organizations::{management}:account/{org_id}/{account_id}"


def _account_shape(account: accounts.Account, management: str, org_id: str) -> dict[str, Any]:
    return {
        "Id": account.id,
        "Arn": _account_arn(management, org_id, account.id),
        "Email": account.email,
        "Name": account.name,
        "Status": account.status,
        "State": account.status,
        "JoinedMethod": account.joined_method,
        "JoinedTimestamp": account.created_at,
    }


def create_access_role(conn: Connection, account_id: str, management: str, name: str) -> None:
    """The role AWS creates in a new member account: trusted by the management account and
    granted AdministratorAccess."""
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{management}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    role_id = ids.unique_id("AROA")
    insert_role(
        conn,
        account_id=account_id,
        role_id=role_id,
        name=name,
        trust_policy=trust,
        created_at=accounts.now(),
    )
    conn.execute(
        schema_iam.iam_attachments.insert().values(
            owner_type="role", owner_id=role_id, policy_arn=ADMIN_POLICY_ARN
        )
    )


def _status_shape(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Id": row.id,
        "AccountName": row.account_name,
        "State": row.state,
        "RequestedTimestamp": row.requested_at,
    }
    if row.completed_at is not None:
        out["CompletedTimestamp"] = row.completed_at
    if row.account_id:
        out["AccountId"] = row.account_id
    if row.failure_reason:
        out["FailureReason"] = row.failure_reason
    return out


@_organizations_operation("CreateAccount")
def create_account(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    requests = schema.create_account_requests
    request_id = ids.create_account_request_id()
    now = ctx.now
    with ctx.runtime.db.begin() as conn:
        org_id, management = _org(conn)
        taken = conn.execute(
            select(schema.accounts.c.id).where(schema.accounts.c.email == params["Email"])
        ).first()
        outcome: dict[str, Any]
        if taken is not None:
            outcome = {"state": "FAILED", "failure_reason": "EMAIL_ALREADY_EXISTS"}
        else:
            made = accounts.create_account(
                conn,
                ctx.runtime.sealer,
                name=params["AccountName"],
                email=params["Email"],
                organization_id=org_id,
            )
            create_access_role(
                conn, made.account.id, management, params.get("RoleName") or ACCESS_ROLE
            )
            accounts.bump_generation(conn)
            outcome = {"state": "SUCCEEDED", "account_id": made.account.id}
        conn.execute(
            requests.insert().values(
                id=request_id,
                account_name=params["AccountName"],
                requested_at=now,
                completed_at=now,
                **outcome,
            )
        )
        row = conn.execute(select(requests).where(requests.c.id == request_id)).one()
    ctx.runtime.auth_changed()
    return {"CreateAccountStatus": _status_shape(row)}


@_organizations_operation("DescribeCreateAccountStatus", read_only=True)
def describe_create_account_status(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    requests = schema.create_account_requests
    with ctx.runtime.db.read() as conn:
        row = conn.execute(
            select(requests).where(requests.c.id == params["CreateAccountRequestId"])
        ).first()
    if row is None:
        raise AwsError(
            "CreateAccountStatusNotFoundException",
            "We can't find a create account request with the CreateAccountRequestId that you "
            "specified.",
        )
    return {"CreateAccountStatus": _status_shape(row)}


@_organizations_operation("ListAccounts", read_only=True)
def list_accounts(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.read() as conn:
        org_id, management = _org(conn)
        members = [a for a in accounts.list_accounts(conn) if a.organization_id == org_id]
    members.sort(key=lambda a: a.id)
    limit = int(params.get("MaxResults") or 20)
    start = params.get("NextToken")
    if start is not None:
        members = [a for a in members if a.id > start]
    page, rest = members[:limit], members[limit:]
    out: dict[str, Any] = {"Accounts": [_account_shape(a, management, org_id) for a in page]}
    if rest:
        out["NextToken"] = page[-1].id
    return out


@_organizations_operation("DescribeAccount", read_only=True)
def describe_account(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.read() as conn:
        org_id, management = _org(conn)
        account = accounts.get_account(conn, params["AccountId"])
    if account is None or account.organization_id != org_id:
        raise AwsError(
            "AccountNotFoundException",
            "You specified an account that doesn't exist.",
        )
    return {"Account": _account_shape(account, management, org_id)}


@_organizations_operation("DescribeOrganization", management_only=False, read_only=True)
def describe_organization(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.read() as conn:
        org_id, management = _org(conn)
        account = accounts.get_account(conn, management)
    assert account is not None
    return {
        "Organization": {
            "Id": org_id,
            "Arn": f"arn:aws:organizations::{management}:organization/{org_id}",
            "FeatureSet": "ALL",
            "MasterAccountArn": _account_arn(management, org_id, management),
            "MasterAccountId": management,
            "MasterAccountEmail": account.email,
            "AvailablePolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
        }
    }
