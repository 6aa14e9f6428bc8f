"""The single bridge from a call to the policy engine: build the request context and policy set,
ask `policy.evaluate`, and turn a denial into the AWS error the service's clients expect.

Operations only declare `AuthzCheck`s; this module is the one place that answers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trailgate.auth.principal import Principal, global_context_keys
from trailgate.errors import AwsError
from trailgate.policy import AuthzRequest, EvaluationResult, PolicySet, PrincipalInfo, evaluate
from trailgate.runtime import Runtime
from trailgate.services.registry import AuthzCheck, CallContext

# Credentials from GetSessionToken without MFA may not call IAM, nor STS other than these
# (IAM User Guide, "Compare AWS STS credentials").
_SESSION_TOKEN_STS_ALLOWED = frozenset({"sts:assumerole", "sts:getcalleridentity"})


@dataclass(frozen=True)
class PrincipalPolicies:
    """The principal's side of every decision, cached per principal (and session)."""

    identity: tuple[Any, ...] = ()
    boundaries: tuple[Any, ...] = ()
    session: tuple[Any, ...] = ()
    scps: tuple[tuple[Any, ...], ...] = ()


def principal_info(principal: Principal) -> PrincipalInfo:
    if principal.kind == "Anonymous":
        return PrincipalInfo.anonymous()
    if principal.kind == "AWSService":
        return PrincipalInfo(
            arn=principal.service or "", account=None, type="AWSService", service=principal.service
        )
    return PrincipalInfo(
        arn=principal.arn or "",
        account=principal.account_id,
        type=principal.kind,
        role_arn=principal.role_arn,
        session_name=principal.session_name,
    )


def principal_policies(runtime: Runtime, principal: Principal) -> PrincipalPolicies:
    # The root user has no identity policies; SCPs (member accounts only) are not stored yet.
    if principal.kind not in ("IAMUser", "AssumedRole"):
        return PrincipalPolicies()
    cache = runtime.fresh_auth_cache()
    key = ("policies", principal.arn, principal.access_key_id if principal.kind == "AssumedRole"
           else None)
    cached = cache.get(key)
    if cached is not None:
        return cached
    from trailgate.services.iam.principal_policies import policy_inputs

    with runtime.db.read() as conn:
        inputs = policy_inputs(runtime, conn, principal)
    result = PrincipalPolicies(
        identity=tuple(inputs.identity),
        boundaries=tuple(inputs.boundaries),
        session=tuple(inputs.session),
        scps=tuple(tuple(level) for level in getattr(inputs, "scps", ()) or ()),
    )
    cache.put(key, result)
    return result


def evaluate_check(ctx: CallContext, check: AuthzCheck) -> EvaluationResult:
    runtime = ctx.runtime
    principal = ctx.principal
    mine = principal_policies(runtime, principal)
    context = global_context_keys(
        principal,
        source_ip=ctx.source_ip,
        now=ctx.now,
        secure_transport=ctx.secure_transport,
        user_agent=ctx.user_agent or None,
        requested_region=ctx.region,
    )
    context.update(check.context)
    request = AuthzRequest(
        principal=principal_info(principal),
        action=check.action,
        resource=check.resource,
        resource_account=check.resource_account,
        context=context,
    )
    policies = PolicySet(
        identity=mine.identity,
        resource=check.resource_policy,
        boundaries=mine.boundaries,
        session=mine.session,
        scps=mine.scps,
        resource_is_trust_policy=check.resource_is_trust_policy,
    )
    return evaluate(request, policies)


def session_token_restriction(principal: Principal, action: str) -> AwsError | None:
    """GetSessionToken credentials (no MFA) may not call IAM or most of STS."""
    if principal.kind not in ("IAMUser", "Root") or not principal.uses_temporary_credentials:
        return None
    if principal.mfa_authenticated:
        return None
    lowered = action.lower()
    if lowered.startswith("iam:") or (
        lowered.startswith("sts:") and lowered not in _SESSION_TOKEN_STS_ALLOWED
    ):
        return AwsError(
            "InvalidClientTokenId",
            "The security token included in the request is invalid",
            403,
        )
    return None


def access_denied(service: str, result: EvaluationResult) -> AwsError:
    """The AccessDenied error of `service` for a denied decision."""
    if service == "s3":
        return AwsError("AccessDenied", "Access Denied", 403)
    message = result.denial_message()
    if service in ("cloudtrail", "organizations"):
        return AwsError("AccessDeniedException", message, 400)
    return AwsError("AccessDenied", message, 403)
