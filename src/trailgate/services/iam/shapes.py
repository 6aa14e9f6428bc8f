"""Output shapes of IAM entities, member for member as the botocore model names them.

IAM's list operations return a subset of each entity's attributes (the API reference says so
for ListUsers and ListRoles: no tags, no permissions boundary, no RoleLastUsed); `full=False`
gives that subset.
"""

from __future__ import annotations

from typing import Any

from trailgate.services.iam.common import stored_document
from trailgate.services.iam.entities import GroupRecord, PolicyRecord, RoleRecord, UserRecord

# The API reference: "This data type can only have a value of Policy." IAM answers "Policy",
# although the model's enum names PermissionsBoundaryPolicy.
BOUNDARY_TYPE = "Policy"


def boundary_shape(arn: str) -> dict[str, str]:
    return {"PermissionsBoundaryType": BOUNDARY_TYPE, "PermissionsBoundaryArn": arn}


def user_shape(
    user: UserRecord, *, full: bool = True, tags: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.id,
        "Arn": user.arn,
        "CreateDate": user.created_at,
    }
    if user.password_last_used is not None:
        shape["PasswordLastUsed"] = user.password_last_used
    if full and user.permissions_boundary:
        shape["PermissionsBoundary"] = boundary_shape(user.permissions_boundary)
    if full and tags:
        shape["Tags"] = tags
    return shape


def group_shape(group: GroupRecord) -> dict[str, Any]:
    return {
        "Path": group.path,
        "GroupName": group.name,
        "GroupId": group.id,
        "Arn": group.arn,
        "CreateDate": group.created_at,
    }


def role_shape(
    role: RoleRecord,
    *,
    view: str = "get",
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A Role. `view`: "create" (CreateRole's answer), "describe" (UpdateRoleDescription's),
    "get" (GetRole) or "list" (ListRoles).

    Recorded from IAM: CreateRole echoes neither Description, MaxSessionDuration nor
    RoleLastUsed; UpdateRoleDescription gives the Description but not the other two; GetRole
    gives all (RoleLastUsed empty until the role is used); ListRoles gives Description and
    MaxSessionDuration but no RoleLastUsed, boundary or tags.
    """
    shape: dict[str, Any] = {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.id,
        "Arn": role.arn,
        "CreateDate": role.created_at,
        "AssumeRolePolicyDocument": stored_document(role.trust_policy),
    }
    if role.description and view != "create":
        shape["Description"] = role.description
    if view in ("get", "list"):
        shape["MaxSessionDuration"] = role.max_session_duration
    if view != "list" and role.permissions_boundary:
        shape["PermissionsBoundary"] = boundary_shape(role.permissions_boundary)
    if view != "list" and tags:
        shape["Tags"] = tags
    if view == "get":
        last_used: dict[str, Any] = {}
        if role.last_used_at is not None:
            last_used["LastUsedDate"] = role.last_used_at
            if role.last_used_region:
                last_used["Region"] = role.last_used_region
        shape["RoleLastUsed"] = last_used
    return shape


def policy_shape(
    policy: PolicyRecord,
    *,
    attachment_count: int,
    boundary_count: int,
    view: str = "get",
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A managed Policy. `view`: "create", "get" or "list".

    Recorded from IAM: GetPolicy adds Description and Tags (an empty list when untagged);
    CreatePolicy gives Tags only when some were given; ListPolicies gives neither.
    """
    shape: dict[str, Any] = {
        "PolicyName": policy.name,
        "PolicyId": policy.id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version,
        "AttachmentCount": attachment_count,
        "PermissionsBoundaryUsageCount": boundary_count,
        "IsAttachable": True,
        "CreateDate": policy.created_at,
        "UpdateDate": policy.updated_at,
    }
    if view == "get":
        if policy.description:
            shape["Description"] = policy.description
        shape["Tags"] = tags or []
    elif view == "create" and tags:
        shape["Tags"] = tags
    return shape
