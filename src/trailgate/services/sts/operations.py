"""The STS operations. AssumeRole's permission question (trust policy + the caller's identity
policies, with sts:ExternalId and the other STS keys) is declared in `_authorize_assume_role` and
answered by the pipeline's single call into the policy engine."""

from __future__ import annotations

import json
import math
from typing import Any

from sqlalchemy import Connection

from trailgate.errors import AwsError
from trailgate.policy import MalformedPolicyDocument, PolicyKind, parse_policy
from trailgate.runtime import Runtime
from trailgate.services.iam.entities import RoleRecord, get_role_by_arn, visible_policy
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.services.sts import sessions
from trailgate.services.sts.writer import RoleUse, store_session

DEFAULT_DURATION = 3600
CHAINED_MAX_DURATION = 3600
# Inline session policies and session tags are limited by their packed size; AWS reports the
# share of that limit used as PackedPolicySize (a percentage).
PACKED_LIMIT = 2048
MAX_POLICY_ARNS = 10


@operation("sts", "GetCallerIdentity", authorize=None, read_only=True)
def get_caller_identity(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    p = ctx.principal
    return {"UserId": p.principal_id, "Account": p.account_id, "Arn": p.arn}


def _role_account(role_arn: str) -> str | None:
    parts = role_arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "iam" and parts[4].isdigit():
        return parts[4]
    return None


def _session_tags(params: dict[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for tag in params.get("Tags") or []:
        key = tag["Key"]
        if key.lower() in {k.lower() for k in tags}:
            raise AwsError(
                "InvalidParameterValue",
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            )
        tags[key] = tag["Value"]
    return tags


def _role(runtime: Runtime, role_arn: str) -> RoleRecord | None:
    """The role an ARN names, from the auth cache: its trust policy, max session duration and
    existence are authorization data, so every change to them bumps the auth generation (which
    empties the cache). Unknown roles are not cached, so a new role can be assumed at once."""
    cache = runtime.fresh_auth_cache()
    key = ("role-by-arn", role_arn)
    role: RoleRecord | None = cache.get(key)
    if role is None:
        with runtime.db.read() as conn:
            role = get_role_by_arn(conn, role_arn)
        if role is not None:
            cache.put(key, role)
    return role


def _authorize_assume_role(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    principal = ctx.principal
    if principal.kind == "Root":
        raise AwsError("AccessDenied", "Roles may not be assumed by root accounts.", 403)
    role_arn = params["RoleArn"]
    role = _role(ctx.runtime, role_arn)
    trust = (
        ctx.runtime.compile(role.trust_policy, PolicyKind.TRUST, name=f"{role.arn}/trust")
        if role is not None
        else None
    )
    ctx.trail["role"] = role
    keys: dict[str, Any] = {"sts:RoleSessionName": params["RoleSessionName"]}
    if "ExternalId" in params:
        keys["sts:ExternalId"] = params["ExternalId"]
    if "SourceIdentity" in params:
        keys["sts:SourceIdentity"] = params["SourceIdentity"]
    tags = _session_tags(params)
    for key, value in tags.items():
        keys[f"aws:RequestTag/{key}"] = value
    if tags:
        keys["aws:TagKeys"] = list(tags)
    if params.get("TransitiveTagKeys"):
        keys["sts:TransitiveTagKeys"] = list(params["TransitiveTagKeys"])
    resource_account = role.account_id if role is not None else _role_account(role_arn)
    checks = [
        AuthzCheck(
            "sts:AssumeRole",
            role_arn,
            resource_account=resource_account,
            context=keys,
            resource_policy=trust,
            resource_is_trust_policy=True,
        )
    ]
    # Passing tags or a source identity needs its own permission, in the same trust policy.
    if tags:
        checks.append(
            AuthzCheck("sts:TagSession", role_arn, resource_account, keys, trust, True)
        )
    if "SourceIdentity" in params:
        checks.append(
            AuthzCheck("sts:SetSourceIdentity", role_arn, resource_account, keys, trust, True)
        )
    return checks


def _packed_percent(policy: str | None, arns: list[str], tags: dict[str, str]) -> int:
    size = 0
    if policy:
        size += len(json.dumps(json.loads(policy), separators=(",", ":")))
    size += sum(len(a) for a in arns)
    size += sum(len(k) + len(v) for k, v in tags.items())
    return math.ceil(size * 100 / PACKED_LIMIT)


@operation("sts", "AssumeRole", authorize=_authorize_assume_role)
def assume_role(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    caller = ctx.principal
    role = ctx.trail.get("role")
    if role is None:
        # Authorization cannot allow a role that does not exist; this is a second line only.
        raise AwsError("AccessDenied", "Not authorized to perform sts:AssumeRole", 403)
    chained = caller.kind == "AssumedRole"
    duration = int(params.get("DurationSeconds", DEFAULT_DURATION))
    if chained and duration > CHAINED_MAX_DURATION:
        raise AwsError(
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles "
            "assumed by role chaining.",
        )
    if duration > role.max_session_duration:
        raise AwsError(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        )
    policy = params.get("Policy")
    if policy is not None:
        try:
            parse_policy(policy, PolicyKind.SESSION)
        except MalformedPolicyDocument as exc:
            raise AwsError("MalformedPolicyDocument", str(exc.messages[0])) from exc
    arns = [item["arn"] for item in params.get("PolicyArns") or []]
    if len(arns) > MAX_POLICY_ARNS:
        raise AwsError(
            "ValidationError",
            f"1 validation error detected: Value '{arns}' at 'policyArns' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_POLICY_ARNS}",
        )
    tags = _session_tags(params)
    transitive = list(params.get("TransitiveTagKeys") or [])
    lowered = {k.lower() for k in tags}
    for key in transitive:
        if key.lower() not in lowered:
            raise AwsError(
                "InvalidParameterValue",
                "The specified transitive tag key must be included in the requested tags.",
            )
    if chained:
        # Transitive tags of the calling session carry over into the chained one.
        inherited = {k: v for k, v in caller.tags.items() if k.lower() not in lowered}
        tags = {**inherited, **tags}
    packed = _packed_percent(policy, arns, tags)
    if packed > 100:
        raise AwsError(
            "PackedPolicyTooLarge",
            f"Packed size of consumed session policies and session tags exceeds 100% of "
            f"allowed value ({packed}%).",
        )
    issued, row = sessions.prepare(
        ctx.runtime.sealer,
        account_id=role.account_id,
        kind="AssumedRole",
        now=ctx.now,
        duration_seconds=duration,
        role_id=role.id,
        session_name=params["RoleSessionName"],
        session_policy=policy,
        session_policy_arns=arns or None,
        source_identity=params.get("SourceIdentity") or caller.source_identity,
        tags=tags or None,
        transitive_tag_keys=transitive or None,
        source_arn=caller.arn,
        chained=chained,
    )

    def policies_attachable(conn: Connection) -> None:
        # Checked in the transaction that stores the session: a policy deleted meanwhile
        # cannot end up in it.
        for arn in arns:
            if visible_policy(conn, role.account_id, arn) is None:
                raise AwsError(
                    "InvalidParameterValue" if not arn.startswith("arn:") else "NotFound",
                    f"Policy {arn} does not exist or is not attachable.",
                    400,
                )

    store_session(
        ctx,
        row,
        role_use=RoleUse(role.id, ctx.now, ctx.region),
        check=policies_attachable if arns else None,
    )
    session_name = params["RoleSessionName"]
    session_arn = f"arn:aws:sts::{role.account_id}:assumed-role/{role.name}/{session_name}"
    output: dict[str, Any] = {
        "Credentials": issued.credentials(),
        "AssumedRoleUser": {
            "AssumedRoleId": f"{role.id}:{params['RoleSessionName']}",
            "Arn": session_arn,
        },
    }
    if policy is not None or arns or tags:
        output["PackedPolicySize"] = packed
    if params.get("SourceIdentity"):
        output["SourceIdentity"] = params["SourceIdentity"]
    ctx.trail["shared_with_account"] = role.account_id
    ctx.trail["resources"] = [
        {"accountId": role.account_id, "type": "AWS::IAM::Role", "ARN": role.arn}
    ]
    return output


def _authorize_get_session_token(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    if ctx.principal.kind == "AssumedRole" or ctx.principal.uses_temporary_credentials:
        raise AwsError(
            "AccessDenied",
            "Cannot call GetSessionToken with session credentials",
            403,
        )
    # "No permissions are required for a user to get a session token" (IAM User Guide,
    # Permissions for GetSessionToken): policies cannot allow or deny it.
    return []


@operation("sts", "GetSessionToken", authorize=_authorize_get_session_token)
def get_session_token(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    caller = ctx.principal
    # Root sessions are capped at one hour; IAM users may ask for up to 36 hours.
    default = 3600 if caller.kind == "Root" else 43200
    duration = int(params.get("DurationSeconds", default))
    if caller.kind == "Root":
        duration = min(duration, 3600)
    issued, row = sessions.prepare(
        ctx.runtime.sealer,
        account_id=caller.account_id or "",
        kind="SessionToken",
        now=ctx.now,
        duration_seconds=duration,
        user_id=caller.principal_id if caller.kind == "IAMUser" else None,
        source_arn=caller.arn,
    )
    store_session(ctx, row)
    return {"Credentials": issued.credentials()}
