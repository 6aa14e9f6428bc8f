"""Managed policies and their versions: CreatePolicy, GetPolicy, ListPolicies, DeletePolicy,
CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions, DeletePolicyVersion,
SetDefaultPolicyVersion, TagPolicy, UntagPolicy, ListPolicyTags.

Customer managed policies live in their account; AWS managed ones (`managed_aws`) belong to
"aws", are visible from every account, and cannot be changed. AttachmentCount and
PermissionsBoundaryUsageCount count the caller's account only, as IAM reports them for AWS
managed policies. A policy keeps at most five versions; version ids are never reused. UpdateDate
is the creation time of the newest version (API reference, Policy data type).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select

from trailgate.errors import AwsError
from trailgate.services import ids
from trailgate.services.accounts import bump_generation
from trailgate.services.iam import authz, entities, tags
from trailgate.services.iam.common import (
    AWS_OWNER,
    DEFAULT_PATH,
    already_exists,
    caller_account,
    delete_conflict,
    invalid_arn,
    limit_exceeded,
    looks_like_arn,
    policy_arn,
    policy_not_found,
    policy_version_not_found,
    stored_document,
    unique_or,
    utc,
)
from trailgate.services.iam.documents import check_managed_document
from trailgate.services.iam.entities import PolicyRecord
from trailgate.services.iam.pagination import paginate
from trailgate.services.iam.shapes import policy_shape
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.store.schema_iam import (
    iam_attachments,
    iam_groups,
    iam_managed_policies,
    iam_policy_versions,
    iam_roles,
    iam_users,
)

MAX_VERSIONS = 5
VERSION_QUOTA_MESSAGE = (
    "A managed policy can have up to 5 versions. Before you create a new version, you must "
    "delete an existing version."
)
ATTACHED_MESSAGE = "Cannot delete a policy attached to entities."
VERSIONS_MESSAGE = (
    "This policy has more than one version. Before you delete a policy, you must delete the "
    "policy's versions. The default version is deleted with the policy."
)
DEFAULT_VERSION_MESSAGE = "Cannot delete the default version of a policy."

_OWNER_TABLES = (("user", iam_users), ("group", iam_groups), ("role", iam_roles))


# -- queries shared with attachments and the principal policy loader ------------------------


def attachment_count(conn: Connection, arn: str, account_id: str) -> int:
    total = 0
    for owner_type, table in _OWNER_TABLES:
        total += conn.execute(
            select(func.count())
            .select_from(iam_attachments.join(table, table.c.id == iam_attachments.c.owner_id))
            .where(
                iam_attachments.c.policy_arn == arn,
                iam_attachments.c.owner_type == owner_type,
                table.c.account_id == account_id,
            )
        ).scalar_one()
    return int(total)


def boundary_count(conn: Connection, arn: str, account_id: str) -> int:
    total = 0
    for table in (iam_users, iam_roles):
        total += conn.execute(
            select(func.count())
            .select_from(table)
            .where(table.c.permissions_boundary == arn, table.c.account_id == account_id)
        ).scalar_one()
    return int(total)


def version_document(conn: Connection, arn: str, version_id: str) -> str | None:
    row = conn.execute(
        select(iam_policy_versions.c.document).where(
            iam_policy_versions.c.policy_arn == arn,
            iam_policy_versions.c.version_id == version_id,
        )
    ).first()
    return row.document if row else None


def default_document(conn: Connection, policy: PolicyRecord) -> str | None:
    return version_document(conn, policy.arn, policy.default_version)


def _versions(conn: Connection, arn: str) -> list[Any]:
    rows = conn.execute(select(iam_policy_versions).where(iam_policy_versions.c.policy_arn == arn))
    return sorted(rows, key=lambda r: _version_number(r.version_id), reverse=True)


def _version_number(version_id: str) -> int:
    digits = version_id[1:].split(".", 1)[0]
    return int(digits) if digits.isdigit() else 0


def check_policy_arn(arn: str) -> None:
    """ValidationError for something that is not an ARN at all (IAM: "ARN x is not valid.")."""
    if not looks_like_arn(arn):
        raise invalid_arn(arn)


def _shape(
    conn: Connection, policy: PolicyRecord, account_id: str, view: str
) -> dict[str, Any]:
    policy_tags = tags.list_tags(conn, tags.POLICY, policy.arn) if view != "list" else None
    return policy_shape(
        policy,
        attachment_count=attachment_count(conn, policy.arn, account_id),
        boundary_count=boundary_count(conn, policy.arn, account_id),
        view=view,
        tags=policy_tags,
    )


def _require(conn: Connection, account_id: str, arn: str) -> PolicyRecord:
    check_policy_arn(arn)
    return entities.require_visible_policy(conn, account_id, arn, policy_not_found(arn))


def _require_own(ctx: CallContext, conn: Connection, arn: str, action: str) -> PolicyRecord:
    """A policy the caller may change: its account's own (AWS managed ones are read-only)."""
    account = caller_account(ctx)
    policy = _require(conn, account, arn)
    if policy.account_id == AWS_OWNER:
        raise AwsError(
            "AccessDenied",
            f"User: {ctx.principal.arn} is not authorized to perform: {action} on resource: "
            f"policy {arn}",
            403,
        )
    return policy


def _version_shape(row: Any, default_version: str, with_document: bool) -> dict[str, Any]:
    shape: dict[str, Any] = {}
    if with_document:
        shape["Document"] = stored_document(row.document)
    shape.update(
        VersionId=row.version_id,
        IsDefaultVersion=row.version_id == default_version,
        CreateDate=utc(row.created_at),
    )
    return shape


# -- policies ------------------------------------------------------------------------------


def _authorize_create(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    account = caller_account(ctx)
    arn = policy_arn(account, params.get("Path") or DEFAULT_PATH, params["PolicyName"])
    return [
        authz.check(ctx, "iam:CreatePolicy", arn, authz.request_tags_key(ctx, params))
    ]


def insert_policy(
    conn: Connection,
    *,
    account_id: str,
    name: str,
    path: str,
    document: str,
    description: str | None,
    created_at: datetime,
    policy_id: str | None = None,
    version_id: str = "v1",
    version_created_at: datetime | None = None,
) -> str:
    """Store a managed policy with one (default) version; returns its ARN."""
    arn = policy_arn(account_id, path, name)
    number = _version_number(version_id)
    version_time = version_created_at or created_at
    conn.execute(
        iam_managed_policies.insert().values(
            arn=arn,
            id=policy_id or ids.unique_id("ANPA"),
            account_id=account_id,
            name=name,
            name_lower=name.lower(),
            path=path,
            description=description,
            default_version=version_id,
            next_version=number + 1,
            created_at=created_at,
            updated_at=version_time,
        )
    )
    conn.execute(
        iam_policy_versions.insert().values(
            policy_arn=arn, version_id=version_id, document=document, created_at=version_time
        )
    )
    return arn


@operation("iam", "CreatePolicy", authorize=_authorize_create)
def create_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    name = params["PolicyName"]
    new_tags = params.get("Tags") or []
    tags.check_new_tags(tags.POLICY, new_tags)
    check_managed_document(params["PolicyDocument"])
    with ctx.runtime.db.begin() as conn:
        if entities.find_policy_by_name(conn, account, name) is not None:
            raise already_exists(
                f"A policy called {name} already exists. Duplicate names are not allowed."
            )
        duplicate = already_exists(
            f"A policy called {name} already exists. Duplicate names are not allowed."
        )
        with unique_or(duplicate):
            arn = insert_policy(
                conn,
                account_id=account,
                name=name,
                path=params.get("Path") or DEFAULT_PATH,
                document=params["PolicyDocument"],
                description=params.get("Description"),
                created_at=ctx.now,
            )
        tags.put_tags(conn, tags.POLICY, arn, new_tags)
        policy = entities.find_policy(conn, arn)
        assert policy is not None
        shape = policy_shape(policy, attachment_count=0, boundary_count=0, view="create")
    if new_tags:
        shape["Tags"] = [{"Key": t["Key"], "Value": t.get("Value", "")} for t in new_tags]
    return {"Policy": shape}


@operation("iam", "GetPolicy", authorize=authz.on_policy("iam:GetPolicy"), read_only=True)
def get_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        policy = _require(conn, account, params["PolicyArn"])
        return {"Policy": _shape(conn, policy, account, "get")}


@operation(
    "iam", "ListPolicies", authorize=authz.on_account("iam:ListPolicies"), read_only=True
)
def list_policies(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    scope = params.get("Scope") or "All"
    owners = {"All": [account, AWS_OWNER], "AWS": [AWS_OWNER], "Local": [account]}[scope]
    prefix = params.get("PathPrefix") or DEFAULT_PATH
    usage = params.get("PolicyUsageFilter")
    with ctx.runtime.db.read() as conn:
        rows = conn.execute(
            select(iam_managed_policies).where(iam_managed_policies.c.account_id.in_(owners))
        )
        shaped: list[tuple[PolicyRecord, dict[str, Any]]] = []
        for row in rows:
            policy = entities.policy_from_row(row)
            if not policy.path.startswith(prefix):
                continue
            shape = _shape(conn, policy, account, "list")
            if _usage_filtered(shape, bool(params.get("OnlyAttached")), usage):
                shaped.append((policy, shape))
    page, extra = paginate(shaped, params, lambda item: f"{item[0].name.lower()}|{item[0].arn}")
    return {"Policies": [shape for _, shape in page], **extra}


def _usage_filtered(shape: dict[str, Any], only_attached: bool, usage: str | None) -> bool:
    """OnlyAttached keeps policies attached to a user, group or role (with PolicyUsageFilter
    PermissionsBoundary: those used as a boundary); PermissionsBoundary alone keeps the
    policies used as boundaries. Any policy can serve as a permissions policy."""
    if usage == "PermissionsBoundary":
        return bool(shape["PermissionsBoundaryUsageCount"])
    if only_attached:
        return bool(shape["AttachmentCount"])
    return True


@operation("iam", "DeletePolicy", authorize=authz.on_policy("iam:DeletePolicy"))
def delete_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["PolicyArn"]
    with ctx.runtime.db.begin() as conn:
        policy = _require_own(ctx, conn, arn, "iam:DeletePolicy")
        in_use = conn.execute(
            select(func.count()).select_from(iam_attachments).where(
                iam_attachments.c.policy_arn == arn
            )
        ).scalar_one() or boundary_count(conn, arn, policy.account_id)
        if in_use:
            raise delete_conflict(ATTACHED_MESSAGE)
        if len(_versions(conn, arn)) > 1:
            raise delete_conflict(VERSIONS_MESSAGE)
        conn.execute(delete(iam_policy_versions).where(iam_policy_versions.c.policy_arn == arn))
        conn.execute(delete(iam_managed_policies).where(iam_managed_policies.c.arn == arn))
        tags.drop_all_tags(conn, tags.POLICY, arn)
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


# -- versions ------------------------------------------------------------------------------


@operation(
    "iam", "CreatePolicyVersion", authorize=authz.on_policy("iam:CreatePolicyVersion")
)
def create_policy_version(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["PolicyArn"]
    document = params["PolicyDocument"]
    with ctx.runtime.db.begin() as conn:
        policy = _require_own(ctx, conn, arn, "iam:CreatePolicyVersion")
        check_managed_document(document)
        if len(_versions(conn, arn)) >= MAX_VERSIONS:
            raise limit_exceeded(VERSION_QUOTA_MESSAGE)
        version_id = f"v{policy.next_version}"
        conn.execute(
            iam_policy_versions.insert().values(
                policy_arn=arn, version_id=version_id, document=document, created_at=ctx.now
            )
        )
        values: dict[str, Any] = {"next_version": policy.next_version + 1, "updated_at": ctx.now}
        if params.get("SetAsDefault"):
            values["default_version"] = version_id
        conn.execute(
            iam_managed_policies.update().where(iam_managed_policies.c.arn == arn).values(**values)
        )
        bump_generation(conn)
        default = values.get("default_version", policy.default_version)
    ctx.runtime.auth_changed()
    return {
        "PolicyVersion": {
            "VersionId": version_id,
            "IsDefaultVersion": default == version_id,
            "CreateDate": ctx.now,
        }
    }


def _require_version(conn: Connection, account: str, arn: str, version_id: str) -> tuple[
    PolicyRecord, Any
]:
    check_policy_arn(arn)
    policy = entities.visible_policy(conn, account, arn)
    row = None
    if policy is not None:
        row = conn.execute(
            select(iam_policy_versions).where(
                iam_policy_versions.c.policy_arn == arn,
                iam_policy_versions.c.version_id == version_id,
            )
        ).first()
    if policy is None or row is None:
        raise policy_version_not_found(arn, version_id)
    return policy, row


@operation(
    "iam",
    "GetPolicyVersion",
    authorize=authz.on_policy("iam:GetPolicyVersion"),
    read_only=True,
)
def get_policy_version(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        policy, row = _require_version(conn, account, params["PolicyArn"], params["VersionId"])
    return {"PolicyVersion": _version_shape(row, policy.default_version, with_document=True)}


@operation(
    "iam",
    "ListPolicyVersions",
    authorize=authz.on_policy("iam:ListPolicyVersions"),
    read_only=True,
)
def list_policy_versions(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        policy = _require(conn, account, params["PolicyArn"])
        rows = _versions(conn, policy.arn)
    numbered = list(enumerate(rows))
    page, extra = paginate(numbered, params, lambda item: str(item[0]).zfill(4))
    return {
        "Versions": [
            _version_shape(r, policy.default_version, with_document=False) for _, r in page
        ],
        **extra,
    }


@operation(
    "iam", "DeletePolicyVersion", authorize=authz.on_policy("iam:DeletePolicyVersion")
)
def delete_policy_version(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["PolicyArn"]
    version_id = params["VersionId"]
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        policy, _ = _require_version(conn, account, arn, version_id)
        _require_own(ctx, conn, arn, "iam:DeletePolicyVersion")
        if version_id == policy.default_version:
            raise delete_conflict(DEFAULT_VERSION_MESSAGE)
        conn.execute(
            delete(iam_policy_versions).where(
                iam_policy_versions.c.policy_arn == arn,
                iam_policy_versions.c.version_id == version_id,
            )
        )
        newest = max(utc(r.created_at) for r in _versions(conn, arn))  # type: ignore[type-var]
        conn.execute(
            iam_managed_policies.update()
            .where(iam_managed_policies.c.arn == arn)
            .values(updated_at=newest)
        )
    return {}


@operation(
    "iam", "SetDefaultPolicyVersion", authorize=authz.on_policy("iam:SetDefaultPolicyVersion")
)
def set_default_policy_version(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["PolicyArn"]
    version_id = params["VersionId"]
    account = caller_account(ctx)
    with ctx.runtime.db.begin() as conn:
        _require_version(conn, account, arn, version_id)
        _require_own(ctx, conn, arn, "iam:SetDefaultPolicyVersion")
        conn.execute(
            iam_managed_policies.update()
            .where(iam_managed_policies.c.arn == arn)
            .values(default_version=version_id)
        )
        bump_generation(conn)
    ctx.runtime.auth_changed()
    return {}


# -- tags ----------------------------------------------------------------------------------


@operation(
    "iam",
    "TagPolicy",
    authorize=authz.on_policy("iam:TagPolicy"),
)
def tag_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    tags.check_new_tags(tags.POLICY, params["Tags"])
    with ctx.runtime.db.begin() as conn:
        policy = _require_own(ctx, conn, params["PolicyArn"], "iam:TagPolicy")
        tags.put_tags(conn, tags.POLICY, policy.arn, params["Tags"])
    return {}


@operation("iam", "UntagPolicy", authorize=authz.on_policy("iam:UntagPolicy"))
def untag_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.begin() as conn:
        policy = _require_own(ctx, conn, params["PolicyArn"], "iam:UntagPolicy")
        tags.remove_tags(conn, tags.POLICY, policy.arn, params["TagKeys"])
    return {}


@operation(
    "iam", "ListPolicyTags", authorize=authz.on_policy("iam:ListPolicyTags"), read_only=True
)
def list_policy_tags(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        policy = _require(conn, account, params["PolicyArn"])
        policy_tags = tags.list_tags(conn, tags.POLICY, policy.arn)
    page, extra = paginate(policy_tags, params, lambda t: t["Key"])
    return {"Tags": page, **extra}
