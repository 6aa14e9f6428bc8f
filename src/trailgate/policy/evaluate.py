"""The decision: which policies apply to the principal, explicit deny first, then the allows.

Order (IAM User Guide, "Policy evaluation logic" and "Cross-account policy evaluation logic"):

1. Every applicable statement is matched once. A matching Deny anywhere (SCP, resource or
   trust policy, identity policy, permissions boundary, session policy) is final:
   ExplicitlyDenied. The reason names the first of those types, in that order.
2. SCPs (principals of an account only): each organisation level needs a matching Allow.
3. Principals outside any account (services, anonymous, web-identity / SAML / canonical users)
   are allowed only by the resource policy.
4. The root user is allowed everything in its own account (a role trust policy still has to
   allow it; across accounts the resource policy must allow it).
5. Within one account, a resource-policy Allow that names the requester directly (its user or
   session ARN, or "*") is enough; one that names the role behind a session is enough when the
   boundary and session policy allow; one that names the account adds nothing. Otherwise the
   identity policies, the boundary and the session policy must all allow. A role trust policy
   must allow in every case.
6. Across accounts both sides are needed: identity policies + boundary + session policy on the
   principal's side, and a resource-policy Allow naming the principal in any way.

Which policy types apply to which principal types is in docs/policy-semantics.md; a policy given
for a principal it cannot apply to is reported in `EvaluationResult.ignored` and not evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence

from trailgate.policy.compile import CompiledPolicy
from trailgate.policy.decision import Decision
from trailgate.policy.explain import (
    BOUNDARY,
    IDENTITY,
    RESOURCE,
    ROOT,
    SCP,
    SESSION,
    TRUST,
    EvaluationResult,
    MatchedStatement,
)
from trailgate.policy.principal import (
    ACCOUNT,
    ACCOUNT_PRINCIPAL_TYPES,
    ASSUMED_ROLE,
    DIRECT,
    FEDERATED_USER,
    IAM_USER,
    MATCH_NAMES,
    ROLE,
    SESSION_PRINCIPAL_TYPES,
    PrincipalInfo,
)
from trailgate.policy.principal import ROOT as ROOT_TYPE
from trailgate.policy.request import AuthzRequest, PolicySet
from trailgate.policy.variables import Context

_IDENTITY_TYPES = frozenset({ROOT_TYPE, IAM_USER, ASSUMED_ROLE, FEDERATED_USER})
_BOUNDARY_TYPES = frozenset({IAM_USER, ASSUMED_ROLE, FEDERATED_USER})

_ALLOWED = Decision.ALLOWED
_IMPLICIT = Decision.IMPLICITLY_DENIED
_EXPLICIT = Decision.EXPLICITLY_DENIED


def _scan(group: Sequence[CompiledPolicy], action: str, resource: str, context: Context,
          principal: PrincipalInfo, has_boundary: bool, matched: list[MatchedStatement],
          level: int | None = None) -> tuple[bool, int]:
    """Match every statement of the policies in `group`; (a Deny matched, strongest principal
    match of the Allows that matched, 0 for none)."""
    deny = False
    strength = 0
    for policy in group:
        body = policy.body
        candidates = body.by_action.get(action)
        if candidates is None:
            candidates = body.candidates(action)
        for statement in candidates:
            spec = statement.principal
            if spec is not None:
                found = spec.strength(principal)
                if not found:
                    continue
            elif statement.not_principal is not None:
                # A Deny with NotPrincipal always applies to a principal that has a permissions
                # boundary (IAM User Guide, "NotPrincipal").
                if not (statement.deny and has_boundary) and statement.not_principal.excludes(
                    principal
                ):
                    continue
                found = DIRECT
            else:
                found = DIRECT
            if not statement.check(resource, context):
                continue
            matched.append(MatchedStatement(
                policy.name, policy.kind, statement.sid, statement.index, statement.effect,
                level, MATCH_NAMES[found] if spec is not None else None,
            ))
            if statement.deny:
                deny = True
            elif found > strength:
                strength = found
    return deny, strength


def _any_policy(policies: PolicySet) -> bool:
    return bool(
        policies.resource is not None
        or policies.identity
        or policies.boundaries
        or policies.session
        or policies.scps
    )


def evaluate(request: AuthzRequest, policies: PolicySet) -> EvaluationResult:
    """Decide `request` against `policies`; see the module docstring for the rules."""
    principal = request.principal
    ptype = principal.type
    action = request.action_lower
    resource = request.resource
    context = request.normalized_context if _any_policy(policies) else {}
    matched: list[MatchedStatement] = []
    ignored: list[str] = []
    explicit: str | None = None
    account_principal = ptype in ACCOUNT_PRINCIPAL_TYPES
    has_boundary = bool(policies.boundaries) and ptype in _BOUNDARY_TYPES

    scp_missing = False
    if policies.scps:
        if account_principal:
            for level, scps in enumerate(policies.scps):
                deny, strength = _scan(scps, action, resource, context, principal,
                                       has_boundary, matched, level)
                if deny and explicit is None:
                    explicit = SCP
                if not strength:
                    scp_missing = True
        else:
            ignored.append("service control policies: the principal is not in an account")

    trust = policies.resource_is_trust_policy
    resource_source = TRUST if trust else RESOURCE
    resource_strength = 0
    if policies.resource is not None:
        deny, resource_strength = _scan((policies.resource,), action, resource, context,
                                        principal, has_boundary, matched)
        if deny and explicit is None:
            explicit = resource_source

    identity_allows = False
    if ptype in _IDENTITY_TYPES:
        deny, strength = _scan(policies.identity, action, resource, context, principal,
                               has_boundary, matched)
        if deny:
            explicit = explicit or IDENTITY
        identity_allows = strength > 0
    elif policies.identity:
        ignored.append("identity-based policies: the principal has none")

    boundary_allows = True
    if has_boundary:
        deny, strength = _scan(policies.boundaries, action, resource, context, principal,
                               has_boundary, matched)
        if deny:
            explicit = explicit or BOUNDARY
        boundary_allows = strength > 0
    elif policies.boundaries:
        ignored.append("permissions boundary: the principal cannot have one")

    session_allows = True
    if ptype in SESSION_PRINCIPAL_TYPES:
        if policies.session:
            deny, strength = _scan(policies.session, action, resource, context, principal,
                                   has_boundary, matched)
            if deny:
                explicit = explicit or SESSION
            session_allows = strength > 0
        else:
            # GetFederationToken sessions get their permissions through session policies.
            session_allows = ptype == ASSUMED_ROLE
    elif policies.session:
        ignored.append("session policies: the principal is not a session")

    def result(decision: Decision, *by: str) -> EvaluationResult:
        return EvaluationResult(decision, by, matched, request, tuple(ignored))

    if explicit is not None:
        return result(_EXPLICIT, explicit)
    if scp_missing:
        return result(_IMPLICIT, SCP)
    if not account_principal:
        if resource_strength:
            return result(_ALLOWED, resource_source)
        return result(_IMPLICIT, resource_source)
    same_account = request.same_account
    if ptype == ROOT_TYPE:
        if same_account and not trust:
            return result(_ALLOWED, ROOT)
        if resource_strength:
            return result(_ALLOWED, resource_source)
        return result(_IMPLICIT, resource_source)

    if same_account:
        if resource_strength == DIRECT or (
            resource_strength == ROLE and boundary_allows and session_allows
        ):
            return result(_ALLOWED, resource_source)
        if identity_allows and boundary_allows and session_allows and (
            not trust or resource_strength >= ACCOUNT
        ):
            return result(_ALLOWED, IDENTITY, TRUST) if trust else result(_ALLOWED, IDENTITY)
        if trust and not resource_strength:
            return result(_IMPLICIT, TRUST)
        if not identity_allows and resource_strength < ROLE:
            return result(_IMPLICIT, IDENTITY)
        if not boundary_allows:
            return result(_IMPLICIT, BOUNDARY)
        return result(_IMPLICIT, SESSION)

    if not identity_allows:
        return result(_IMPLICIT, IDENTITY)
    if not boundary_allows:
        return result(_IMPLICIT, BOUNDARY)
    if not session_allows:
        return result(_IMPLICIT, SESSION)
    if resource_strength:
        return result(_ALLOWED, IDENTITY, resource_source)
    return result(_IMPLICIT, resource_source)
