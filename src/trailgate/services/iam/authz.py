"""What each IAM operation asks the policy engine: the action, the resource ARN, condition keys.

Resources follow the Service Authorization Reference for IAM:
- user-, group-, role- and policy-scoped actions name the entity's full ARN, path included
  (arn:aws:iam::<account>:user<path><name>). The path of an existing entity is read from the
  store; for one that does not exist yet (Create*) it is the requested path, and for an unknown
  name it is "/", so a caller without permission gets AccessDenied, not a hint that the name is
  free or taken.
- List* actions over a whole collection (ListUsers, ListGroups, ListRoles, ListPolicies),
  account-level actions (ListAccountAliases, CreateAccountAlias, DeleteAccountAlias,
  GetAccountAuthorizationDetails, GetAccountSummary) and SimulateCustomPolicy have no resource
  type in the reference: they are checked against "*".
- Access keys, login profiles, inline policies, attachments and tags of a user/group/role are
  actions on that user/group/role.
- Operations on the caller's own credentials (no UserName given) name the caller: an IAM user's
  own ARN, the root's arn:aws:iam::<account>:root. Other principals must name a user
  (ValidationError, as IAM answers).
Condition keys: iam:PolicyARN (Attach*/Detach*), iam:PermissionsBoundary (boundary changes and
Create* with a boundary), aws:RequestTag/* + aws:TagKeys (Create*/Tag* with tags),
aws:ResourceTag/* of existing users and roles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trailgate.services.iam import entities, tags
from trailgate.services.iam.common import (
    DEFAULT_PATH,
    caller_account,
    group_arn,
    non_user_credentials,
    role_arn,
    root_arn,
    user_arn,
)
from trailgate.services.registry import Authorizer, AuthzCheck, CallContext

Params = dict[str, Any]
ContextFn = Callable[[CallContext, Params], Mapping[str, Any]]


def check(
    ctx: CallContext, action: str, resource: str, context: Mapping[str, Any] | None = None
) -> AuthzCheck:
    return AuthzCheck(
        action, resource, resource_account=caller_account(ctx), context=dict(context or {})
    )


def _extra(ctx: CallContext, params: Params, extra: ContextFn | None) -> dict[str, Any]:
    return dict(extra(ctx, params)) if extra else {}


def user_resource(ctx: CallContext, name: str) -> tuple[str, dict[str, Any]]:
    """The ARN of user `name` of the caller's account, and its aws:ResourceTag keys."""
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        user = entities.find_user(conn, account, name)
        if user is None:
            return user_arn(account, DEFAULT_PATH, name), {}
        resource_tags = tags.tag_map(conn, tags.USER, user.id)
    return user.arn, tags.resource_tag_context(resource_tags)


def self_resource(ctx: CallContext) -> str:
    """The caller as the target of a call that names no user."""
    principal = ctx.principal
    if principal.kind == "IAMUser" and principal.arn:
        return principal.arn
    if principal.kind == "Root":
        return root_arn(caller_account(ctx))
    raise non_user_credentials()


def on_user(
    action: str, *, param: str = "UserName", optional: bool = False,
    extra: ContextFn | None = None,
) -> Authorizer:
    """`action` on the user named by `param` (the caller when optional and absent)."""

    def authorize(ctx: CallContext, params: Params) -> Sequence[AuthzCheck]:
        name = params.get(param)
        context = _extra(ctx, params, extra)
        if name is None and optional:
            return [check(ctx, action, self_resource(ctx), context)]
        resource, resource_tags = user_resource(ctx, name)  # type: ignore[arg-type]
        return [check(ctx, action, resource, {**resource_tags, **context})]

    return authorize


def on_group(action: str, *, extra: ContextFn | None = None) -> Authorizer:
    def authorize(ctx: CallContext, params: Params) -> Sequence[AuthzCheck]:
        account = caller_account(ctx)
        name = params["GroupName"]
        with ctx.runtime.db.read() as conn:
            group = entities.find_group(conn, account, name)
        resource = group.arn if group else group_arn(account, DEFAULT_PATH, name)
        return [check(ctx, action, resource, _extra(ctx, params, extra))]

    return authorize


def role_resource(ctx: CallContext, name: str) -> tuple[str, dict[str, Any]]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        role = entities.get_role(conn, account, name)
        if role is None:
            return role_arn(account, DEFAULT_PATH, name), {}
        resource_tags = tags.tag_map(conn, tags.ROLE, role.id)
    return role.arn, tags.resource_tag_context(resource_tags)


def on_role(action: str, *, extra: ContextFn | None = None) -> Authorizer:
    def authorize(ctx: CallContext, params: Params) -> Sequence[AuthzCheck]:
        resource, resource_tags = role_resource(ctx, params["RoleName"])
        return [check(ctx, action, resource, {**resource_tags, **_extra(ctx, params, extra)})]

    return authorize


def on_policy(action: str, *, param: str = "PolicyArn") -> Authorizer:
    def authorize(ctx: CallContext, params: Params) -> Sequence[AuthzCheck]:
        return [check(ctx, action, params[param])]

    return authorize


def on_account(action: str) -> Authorizer:
    """An action without a resource type: checked against "*"."""

    def authorize(ctx: CallContext, params: Params) -> Sequence[AuthzCheck]:
        return [check(ctx, action, "*")]

    return authorize


def policy_arn_key(ctx: CallContext, params: Params) -> Mapping[str, Any]:
    return {"iam:PolicyARN": params["PolicyArn"]}


def boundary_key(ctx: CallContext, params: Params) -> Mapping[str, Any]:
    boundary = params.get("PermissionsBoundary")
    return {"iam:PermissionsBoundary": boundary} if boundary else {}


def request_tags_key(ctx: CallContext, params: Params) -> Mapping[str, Any]:
    return tags.request_tag_context(params.get("Tags"))


def tag_keys_key(ctx: CallContext, params: Params) -> Mapping[str, Any]:
    return {"aws:TagKeys": list(params.get("TagKeys") or [])}


def combine(*fns: ContextFn) -> ContextFn:
    def merged(ctx: CallContext, params: Params) -> Mapping[str, Any]:
        result: dict[str, Any] = {}
        for fn in fns:
            result.update(fn(ctx, params))
        return result

    return merged
