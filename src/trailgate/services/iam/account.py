"""Account-wide views: GetAccountAuthorizationDetails (every user, group, role and managed
policy with their policies) and GetAccountSummary (entity counts and IAM quotas).

GetAccountAuthorizationDetails lists the account's customer managed policies and the AWS
managed policies in use in the account (attached or used as a boundary); the Filter member
narrows to User, Group, Role, LocalManagedPolicy or AWSManagedPolicy.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from trailgate.services.iam import authz, entities, tags
from trailgate.services.iam.attachments import attached_policies
from trailgate.services.iam.common import AWS_OWNER, caller_account, stored_document, utc
from trailgate.services.iam.inline_policies import inline_documents
from trailgate.services.iam.managed_policies import (
    MAX_VERSIONS,
    attachment_count,
    boundary_count,
)
from trailgate.services.iam.pagination import paginate
from trailgate.services.iam.principal_policies import groups_of_user
from trailgate.services.iam.shapes import boundary_shape, role_shape
from trailgate.services.registry import CallContext, operation
from trailgate.store import schema
from trailgate.store.schema_iam import (
    iam_attachments,
    iam_groups,
    iam_login_profiles,
    iam_managed_policies,
    iam_policy_versions,
    iam_roles,
    iam_users,
)

_ORDER = {"User": 0, "Group": 1, "Role": 2, "Policy": 3}


def _inline(conn: Connection, owner_type: str, owner_id: str) -> list[dict[str, str]]:
    return [
        {"PolicyName": name, "PolicyDocument": stored_document(document)}
        for name, document in inline_documents(conn, owner_type, owner_id)
    ]


def _attached(conn: Connection, owner_type: str, owner_id: str) -> list[dict[str, str]]:
    return [
        {"PolicyName": row.name, "PolicyArn": row.arn}
        for row in attached_policies(conn, owner_type, owner_id)
    ]


def _user_detail(conn: Connection, user: entities.UserRecord) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.id,
        "Arn": user.arn,
        "CreateDate": user.created_at,
        "UserPolicyList": _inline(conn, "user", user.id),
        "GroupList": [g.name for g in groups_of_user(conn, user.id)],
        "AttachedManagedPolicies": _attached(conn, "user", user.id),
    }
    if user.permissions_boundary:
        detail["PermissionsBoundary"] = boundary_shape(user.permissions_boundary)
    detail["Tags"] = tags.list_tags(conn, tags.USER, user.id)
    return detail


def _group_detail(conn: Connection, group: entities.GroupRecord) -> dict[str, Any]:
    return {
        "Path": group.path,
        "GroupName": group.name,
        "GroupId": group.id,
        "Arn": group.arn,
        "CreateDate": group.created_at,
        "GroupPolicyList": _inline(conn, "group", group.id),
        "AttachedManagedPolicies": _attached(conn, "group", group.id),
    }


def _role_detail(conn: Connection, role: entities.RoleRecord) -> dict[str, Any]:
    shape = role_shape(role, view="get", tags=tags.list_tags(conn, tags.ROLE, role.id))
    detail: dict[str, Any] = {
        key: shape[key]
        for key in ("Path", "RoleName", "RoleId", "Arn", "CreateDate", "AssumeRolePolicyDocument")
    }
    detail["InstanceProfileList"] = []
    detail["RolePolicyList"] = _inline(conn, "role", role.id)
    detail["AttachedManagedPolicies"] = _attached(conn, "role", role.id)
    if "PermissionsBoundary" in shape:
        detail["PermissionsBoundary"] = shape["PermissionsBoundary"]
    detail["Tags"] = shape.get("Tags", [])
    detail["RoleLastUsed"] = shape["RoleLastUsed"]
    return detail


def _policy_detail(
    conn: Connection, policy: entities.PolicyRecord, account: str, attached: int, bounded: int
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "PolicyName": policy.name,
        "PolicyId": policy.id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version,
        "AttachmentCount": attached,
        "PermissionsBoundaryUsageCount": bounded,
        "IsAttachable": True,
    }
    if policy.description:
        detail["Description"] = policy.description
    detail["CreateDate"] = policy.created_at
    detail["UpdateDate"] = policy.updated_at
    rows = conn.execute(
        select(iam_policy_versions).where(iam_policy_versions.c.policy_arn == policy.arn)
    )
    detail["PolicyVersionList"] = [
        {
            "Document": stored_document(row.document),
            "VersionId": row.version_id,
            "IsDefaultVersion": row.version_id == policy.default_version,
            "CreateDate": utc(row.created_at),
        }
        for row in sorted(rows, key=lambda r: int(r.version_id[1:].split(".")[0]), reverse=True)
    ]
    return detail


@operation(
    "iam",
    "GetAccountAuthorizationDetails",
    authorize=authz.on_account("iam:GetAccountAuthorizationDetails"),
    read_only=True,
)
def get_account_authorization_details(
    ctx: CallContext, params: dict[str, Any]
) -> dict[str, Any]:
    account = caller_account(ctx)
    wanted = set(params.get("Filter") or
                 ["User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy"])
    items: list[tuple[str, str, Any]] = []
    with ctx.runtime.db.read() as conn:
        if "User" in wanted:
            for user in entities.list_users(conn, account):
                items.append(("User", user.name.lower(), user))
        if "Group" in wanted:
            for row in conn.execute(select(iam_groups).where(iam_groups.c.account_id == account)):
                group = entities.group_from_row(row)
                items.append(("Group", group.name.lower(), group))
        if "Role" in wanted:
            for row in conn.execute(select(iam_roles).where(iam_roles.c.account_id == account)):
                role = entities.role_from_row(row)
                items.append(("Role", role.name.lower(), role))
        owners = [o for o, f in ((account, "LocalManagedPolicy"), (AWS_OWNER, "AWSManagedPolicy"))
                  if f in wanted]
        for row in conn.execute(
            select(iam_managed_policies).where(iam_managed_policies.c.account_id.in_(owners))
        ):
            policy = entities.policy_from_row(row)
            attached = attachment_count(conn, policy.arn, account)
            bounded = boundary_count(conn, policy.arn, account)
            if policy.is_aws_managed and not (attached or bounded):
                continue
            items.append(("Policy", f"{policy.name.lower()}|{policy.arn}",
                          (policy, attached, bounded)))
        page, extra = paginate(items, params, lambda i: f"{_ORDER[i[0]]}|{i[1]}")
        result: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [],
                                  "RoleDetailList": [], "Policies": []}
        for kind, _, item in page:
            if kind == "User":
                result["UserDetailList"].append(_user_detail(conn, item))
            elif kind == "Group":
                result["GroupDetailList"].append(_group_detail(conn, item))
            elif kind == "Role":
                result["RoleDetailList"].append(_role_detail(conn, item))
            else:
                result["Policies"].append(_policy_detail(conn, item[0], account, *item[1:]))
    result.update(extra)
    return result


def _count(conn: Connection, table: Any, *conditions: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(*conditions))
               .scalar_one())


@operation(
    "iam",
    "GetAccountSummary",
    authorize=authz.on_account("iam:GetAccountSummary"),
    read_only=True,
)
def get_account_summary(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    keys = schema.access_keys
    with ctx.runtime.db.read() as conn:
        local_policies = iam_managed_policies.c.account_id == account
        summary = {
            "Users": _count(conn, iam_users, iam_users.c.account_id == account),
            "Groups": _count(conn, iam_groups, iam_groups.c.account_id == account),
            "Roles": _count(conn, iam_roles, iam_roles.c.account_id == account),
            "Policies": _count(conn, iam_managed_policies, local_policies),
            "PolicyVersionsInUse": _count(
                conn,
                iam_attachments.join(
                    iam_managed_policies, iam_managed_policies.c.arn == iam_attachments.c.policy_arn
                ),
                local_policies,
            ),
            "AccountAccessKeysPresent": int(bool(_count(
                conn, keys, keys.c.account_id == account, keys.c.user_id.is_(None)))),
            "AccountPasswordPresent": int(bool(_count(
                conn, iam_login_profiles, iam_login_profiles.c.account_id == account,
                iam_login_profiles.c.user_key == "root"))),
            "AccountMFAEnabled": 0,
            "MFADevices": 0,
            "MFADevicesInUse": 0,
            "ServerCertificates": 0,
            "InstanceProfiles": 0,
            "Providers": 0,
            "AccountSigningCertificatesPresent": 0,
            "AccessKeysPerUserQuota": 2,
            "GroupsPerUserQuota": 10,
            "AttachedPoliciesPerUserQuota": 10,
            "AttachedPoliciesPerGroupQuota": 10,
            "AttachedPoliciesPerRoleQuota": 10,
            "VersionsPerPolicyQuota": MAX_VERSIONS,
            "PolicySizeQuota": 6144,
            "UserPolicySizeQuota": 2048,
            "GroupPolicySizeQuota": 5120,
            "RolePolicySizeQuota": 10240,
            "AssumeRolePolicySizeQuota": 2048,
            "UsersQuota": 5000,
            "GroupsQuota": 300,
            "RolesQuota": 1000,
            "PoliciesQuota": 1500,
            "PolicyVersionsInUseQuota": 10000,
            "ServerCertificatesQuota": 20,
            "InstanceProfilesQuota": 1000,
            "SigningCertificatesPerUserQuota": 2,
            "GlobalEndpointTokenVersion": 1,
        }
    return {"SummaryMap": summary}
