"""The policy simulator: SimulatePrincipalPolicy and SimulateCustomPolicy, answered by the
policy engine, plus GetContextKeysForPrincipalPolicy and GetContextKeysForCustomPolicy.

Each (action, resource) pair is one EvaluationResult with EvalDecision "allowed",
"implicitDeny" or "explicitDeny"; MatchedStatements name the policies whose statements decided
(the Allows of an allowed request, the Denies of an explicit deny), with the statement's start
and end (1-based line and column) in the document; MissingContextValues lists the condition
keys of the statements that apply to the action but that ContextEntries did not provide.

The simulated caller: CallerArn if given (an IAM user ARN), else the user of PolicySourceArn,
else the role's sessions for a role source; a group source and SimulateCustomPolicy without
CallerArn are simulated as an IAM user of the caller's account. Only the given context entries
are in the request context; the simulator adds no global keys.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from trailgate.policy import (
    AuthzRequest,
    CompiledPolicy,
    Decision,
    EvaluationResult,
    MalformedPolicyDocument,
    PolicyKind,
    PolicySet,
    PrincipalInfo,
    evaluate,
)
from trailgate.policy.document import PolicyJsonError, load_policy_json
from trailgate.policy.validate import validate_policy
from trailgate.services.iam import authz, entities
from trailgate.services.iam.common import (
    AWS_OWNER,
    caller_account,
    invalid_input,
    no_such_group,
    no_such_role,
    no_such_user,
)
from trailgate.services.iam.documents import condition_keys
from trailgate.services.iam.pagination import paginate
from trailgate.services.iam.principal_policies import (
    PolicySource,
    PrincipalSources,
    sources_for_group,
    sources_for_role,
    sources_for_user,
)
from trailgate.services.registry import AuthzCheck, CallContext, operation

_DECISIONS = {
    Decision.ALLOWED: "allowed",
    Decision.IMPLICITLY_DENIED: "implicitDeny",
    Decision.EXPLICITLY_DENIED: "explicitDeny",
}
_LIST_TYPES = frozenset(
    {"stringList", "numericList", "booleanList", "ipList", "binaryList", "dateList"}
)


@dataclass(frozen=True)
class Simulated:
    """One policy in a simulation: its compiled form and how results should name it."""

    compiled: CompiledPolicy
    source_id: str
    source_type: str
    text: str


# -- statement positions -------------------------------------------------------------------


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def statement_spans(text: str) -> list[tuple[int, int]]:
    """Start and end offsets of each statement of a policy document (empty if unreadable)."""
    decoder = json.JSONDecoder()
    try:
        pos = _skip_ws(text, 0)
        if text[pos] != "{":
            return []
        pos += 1
        while True:
            pos = _skip_ws(text, pos)
            if text[pos] == "}":
                return []
            key, pos = decoder.raw_decode(text, pos)
            pos = _skip_ws(text, pos)
            pos = _skip_ws(text, pos + 1)  # the colon
            start = pos
            value, pos = decoder.raw_decode(text, pos)
            if key == "Statement":
                if isinstance(value, dict):
                    return [(start, pos)]
                return _array_spans(text, start, decoder)
            pos = _skip_ws(text, pos)
            if text[pos] == ",":
                pos += 1
    except (ValueError, IndexError):
        return []


def _array_spans(text: str, pos: int, decoder: json.JSONDecoder) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = _skip_ws(text, pos + 1)
    while text[pos] != "]":
        start = pos
        _, pos = decoder.raw_decode(text, pos)
        spans.append((start, pos))
        pos = _skip_ws(text, pos)
        if text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
    return spans


def _line_column(text: str, offset: int) -> dict[str, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return {"Line": line, "Column": column}


# -- inputs --------------------------------------------------------------------------------


def _compile(ctx: CallContext, text: str, kind: PolicyKind, name: str) -> CompiledPolicy:
    try:
        return ctx.runtime.compile(text, kind, name=name)
    except MalformedPolicyDocument as exc:
        raise invalid_input(exc.messages[0]) from exc


def _input_policies(
    ctx: CallContext, documents: Sequence[str] | None, kind: PolicyKind, label: str
) -> list[Simulated]:
    result = []
    for position, text in enumerate(documents or (), start=1):
        problems = [p for p in validate_policy(text, kind, max_size=1 << 30)]
        if problems:
            raise invalid_input(problems[0])
        name = f"{label}.{position}"
        result.append(Simulated(_compile(ctx, text, kind, name), name, "none", text))
    return result


def _entity_policies(
    ctx: CallContext, conn: Connection, sources: Sequence[PolicySource], kind: PolicyKind,
    excluded: set[str],
) -> list[Simulated]:
    result = []
    for source in sources:
        if source.name.startswith("arn:"):
            if source.name in excluded:
                continue
            owner = source.name.split(":")[4]
            source_type = "aws-managed" if owner == AWS_OWNER else "user-managed"
            source_id = source.name
        else:
            owner_type, owner_name, _, policy_name = source.name.split("/", 3)
            if f"inline:{owner_type}:{owner_name.lower()}:{policy_name.lower()}" in excluded:
                continue
            source_type, source_id = owner_type, policy_name
        compiled = ctx.runtime.compile(source.document, kind, name=source.name)
        result.append(Simulated(compiled, source_id, source_type, source.document))
    return result


def _exclusions(params: dict[str, Any]) -> set[str]:
    excluded: set[str] = set()
    for item in params.get("PolicyExclusionList") or ():
        if item.get("PolicyArn"):
            excluded.add(item["PolicyArn"])
        inline = item.get("InlinePolicyIdentifier")
        if inline:
            excluded.add(
                f"inline:{inline['AttachmentType']}:{inline['AttachmentName'].lower()}:"
                f"{inline['PolicyName'].lower()}"
            )
    return excluded


def _context(entries: Sequence[dict[str, Any]] | None) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for entry in entries or ():
        name = entry.get("ContextKeyName")
        values = [str(v) for v in entry.get("ContextKeyValues") or ()]
        if not name or not values:
            continue
        if entry.get("ContextKeyType") in _LIST_TYPES or len(values) > 1:
            context[name] = values
        else:
            context[name] = values[0]
    return context


def _caller_principal(ctx: CallContext, caller_arn: str | None) -> PrincipalInfo | None:
    if caller_arn is None:
        return None
    try:
        info = PrincipalInfo.from_arn(caller_arn)
    except ValueError as exc:
        raise invalid_input(f"Invalid CallerArn: {caller_arn}") from exc
    if info.type != "IAMUser":
        raise invalid_input("CallerArn must be the ARN of an IAM user.")
    return info


def _default_principal(ctx: CallContext) -> PrincipalInfo:
    principal = ctx.principal
    account = caller_account(ctx)
    arn = principal.arn if principal.kind == "IAMUser" and principal.arn else (
        f"arn:aws:iam::{account}:user/simulated")
    return PrincipalInfo(arn=arn, account=account, type="IAMUser")


def _resource_owner(ctx: CallContext, params: dict[str, Any]) -> str:
    owner = params.get("ResourceOwner")
    if not owner:
        return caller_account(ctx)
    if owner.startswith("arn:"):
        parts = owner.split(":")
        return parts[4] if len(parts) > 4 and parts[4] else caller_account(ctx)
    return owner


# -- evaluation ----------------------------------------------------------------------------


def _statement(policy: Simulated, index: int) -> dict[str, Any]:
    shape: dict[str, Any] = {"SourcePolicyId": policy.source_id,
                             "SourcePolicyType": policy.source_type}
    spans = statement_spans(policy.text)
    if index < len(spans):
        start, end = spans[index]
        shape["StartPosition"] = _line_column(policy.text, start)
        shape["EndPosition"] = _line_column(policy.text, end)
    return shape


def _missing_keys(
    policies: Sequence[Simulated], action: str, context: dict[str, Any]
) -> list[str]:
    provided = {key.lower() for key in context}
    missing: dict[str, None] = {}
    for policy in policies:
        try:
            parsed = load_policy_json(policy.text)
        except PolicyJsonError:
            continue
        statements = parsed.get("Statement") if isinstance(parsed, dict) else None
        if isinstance(statements, dict):
            statements = [statements]
        for compiled, raw in zip(policy.compiled.statements, statements or [], strict=False):
            if not compiled.action_test(action.lower()):
                continue
            for key in condition_keys({"Statement": [raw]}):
                if key.lower() not in provided:
                    missing.setdefault(key, None)
    return list(missing)


@dataclass(frozen=True)
class Simulation:
    principal: PrincipalInfo
    identity: list[Simulated]
    boundaries: list[Simulated]
    scps: list[list[Simulated]]
    resource: Simulated | None
    resource_account: str
    context: dict[str, Any]

    def all_policies(self) -> list[Simulated]:
        every = [*self.identity, *self.boundaries, *(p for level in self.scps for p in level)]
        if self.resource is not None:
            every.append(self.resource)
        return every

    def run(self, action: str, resource: str) -> dict[str, Any]:
        request = AuthzRequest(
            principal=self.principal,
            action=action,
            resource=resource,
            resource_account=self.resource_account,
            context=self.context,
        )
        result = evaluate(
            request,
            PolicySet(
                identity=[p.compiled for p in self.identity],
                resource=self.resource.compiled if self.resource else None,
                boundaries=[p.compiled for p in self.boundaries],
                scps=[[p.compiled for p in level] for level in self.scps],
            ),
        )
        shape: dict[str, Any] = {
            "EvalActionName": action,
            "EvalResourceName": resource,
            "EvalDecision": _DECISIONS[result.decision],
            "MatchedStatements": self._matched(result),
            "MissingContextValues": _missing_keys(self.all_policies(), action, self.context),
        }
        if self.boundaries:
            shape["PermissionsBoundaryDecisionDetail"] = {
                "AllowedByPermissionsBoundary": self._allowed_by(request, self.boundaries)
            }
        if self.scps:
            shape["OrganizationsDecisionDetail"] = {
                "AllowedByOrganizations": all(
                    self._allowed_by(request, level) for level in self.scps
                )
            }
        return shape

    def _matched(self, result: EvaluationResult) -> list[dict[str, Any]]:
        if result.decision is Decision.IMPLICITLY_DENIED:
            return []
        wanted = "Deny" if result.decision is Decision.EXPLICITLY_DENIED else "Allow"
        by_name = {p.compiled.name: p for p in self.all_policies()}
        shapes = []
        for matched in result.matched:
            policy = by_name.get(matched.policy_name)
            if policy is not None and matched.effect == wanted:
                shapes.append(_statement(policy, matched.index))
        return shapes

    def _allowed_by(self, request: AuthzRequest, policies: Sequence[Simulated]) -> bool:
        # Asked alone, as if they were the only identity policies, with no boundary.
        alone = PolicySet(identity=[p.compiled for p in policies])
        subject = PrincipalInfo(arn=request.principal.arn, account=request.principal.account,
                                type="IAMUser")
        return evaluate(
            AuthzRequest(subject, request.action, request.resource, request.resource_account,
                         request.context),
            alone,
        ).allowed


def _respond(simulation: Simulation, params: dict[str, Any]) -> dict[str, Any]:
    resources = list(params.get("ResourceArns") or ["*"])
    pairs = [(a, r) for a in params["ActionNames"] for r in resources]
    numbered = list(enumerate(pairs))
    page, extra = paginate(numbered, params, lambda item: str(item[0]).zfill(8))
    return {
        "EvaluationResults": [simulation.run(action, resource) for _, (action, resource) in page],
        **extra,
    }


def _resource_policy(ctx: CallContext, params: dict[str, Any]) -> Simulated | None:
    text = params.get("ResourcePolicy")
    if not text:
        return None
    problems = validate_policy(text, PolicyKind.RESOURCE)
    if problems:
        raise invalid_input(problems[0])
    compiled = _compile(ctx, text, PolicyKind.RESOURCE, "ResourcePolicy")
    return Simulated(compiled, "ResourcePolicy", "resource", text)


def _scps(ctx: CallContext, params: dict[str, Any]) -> list[list[Simulated]]:
    levels = []
    for number, level in enumerate(params.get("OrderedOrganizationPolicyInputList") or (), 1):
        levels.append(_input_policies(ctx, level.get("ServiceControlPolicyInputList"),
                                      PolicyKind.SCP, f"OrganizationPolicyInputList.{number}"))
    return levels


# -- SimulatePrincipalPolicy ---------------------------------------------------------------


def _source_entity(
    conn: Connection, account: str, arn: str
) -> tuple[str, Any]:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam":
        raise invalid_input(f"Invalid ARN: {arn}")
    if parts[4] != account:
        raise invalid_input(f"Invalid ARN: {arn}")
    resource = parts[5]
    kind, _, rest = resource.partition("/")
    name = rest.rsplit("/", 1)[-1]
    if kind == "user":
        record = entities.find_user(conn, account, name)
        if record is None or record.arn != arn:
            raise no_such_user(name)
        return kind, record
    if kind == "group":
        group = entities.find_group(conn, account, name)
        if group is None or group.arn != arn:
            raise no_such_group(name)
        return kind, group
    if kind == "role":
        role = entities.get_role(conn, account, name)
        if role is None or role.arn != arn:
            raise no_such_role(name)
        return kind, role
    raise invalid_input(f"Invalid ARN: {arn}")


def _authorize_principal(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    return [authz.check(ctx, "iam:SimulatePrincipalPolicy", params["PolicySourceArn"])]


@operation(
    "iam", "SimulatePrincipalPolicy", authorize=_authorize_principal, read_only=True
)
def simulate_principal_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    account = caller_account(ctx)
    source_arn = params["PolicySourceArn"]
    excluded = _exclusions(params)
    with ctx.runtime.db.read() as conn:
        kind, record = _source_entity(conn, account, source_arn)
        if kind == "user":
            sources: PrincipalSources = sources_for_user(conn, record)
            principal = PrincipalInfo(arn=record.arn, account=account, type="IAMUser")
        elif kind == "role":
            sources = sources_for_role(conn, record)
            principal = PrincipalInfo.from_arn(record.arn)
        else:
            sources = sources_for_group(conn, record)
            principal = PrincipalInfo(arn=record.arn, account=account, type="IAMUser")
        identity = _entity_policies(ctx, conn, sources.identity, PolicyKind.IDENTITY, excluded)
        if params.get("PermissionsBoundaryPolicyInputList"):
            boundaries = _input_policies(
                ctx, params["PermissionsBoundaryPolicyInputList"], PolicyKind.BOUNDARY,
                "PermissionsBoundaryPolicyInputList",
            )
        elif "permission-boundary" in {
            item.get("PolicyType") for item in params.get("PolicyExclusionList") or ()
        }:
            boundaries = []
        else:
            boundaries = _entity_policies(
                ctx, conn, sources.boundaries, PolicyKind.BOUNDARY, excluded
            )
    identity += _input_policies(ctx, params.get("PolicyInputList"), PolicyKind.IDENTITY,
                                "PolicyInputList")
    simulation = Simulation(
        principal=_caller_principal(ctx, params.get("CallerArn")) or principal,
        identity=identity,
        boundaries=boundaries,
        scps=[],
        resource=_resource_policy(ctx, params),
        resource_account=_resource_owner(ctx, params),
        context=_context(params.get("ContextEntries")),
    )
    return _respond(simulation, params)


@operation(
    "iam",
    "SimulateCustomPolicy",
    authorize=authz.on_account("iam:SimulateCustomPolicy"),
    read_only=True,
)
def simulate_custom_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    simulation = Simulation(
        principal=_caller_principal(ctx, params.get("CallerArn")) or _default_principal(ctx),
        identity=_input_policies(ctx, params["PolicyInputList"], PolicyKind.IDENTITY,
                                 "PolicyInputList"),
        boundaries=_input_policies(ctx, params.get("PermissionsBoundaryPolicyInputList"),
                                   PolicyKind.BOUNDARY, "PermissionsBoundaryPolicyInputList"),
        scps=_scps(ctx, params),
        resource=_resource_policy(ctx, params),
        resource_account=_resource_owner(ctx, params),
        context=_context(params.get("ContextEntries")),
    )
    return _respond(simulation, params)


# -- context keys --------------------------------------------------------------------------


def _keys_of(texts: Sequence[str]) -> list[str]:
    found: dict[str, None] = {}
    for text in texts:
        try:
            parsed = load_policy_json(text)
        except PolicyJsonError as exc:
            raise invalid_input("Syntax errors in policy.") from exc
        for key in condition_keys(parsed):
            found.setdefault(key, None)
    return list(found)


@operation(
    "iam",
    "GetContextKeysForCustomPolicy",
    authorize=authz.on_account("iam:GetContextKeysForCustomPolicy"),
    read_only=True,
)
def get_context_keys_for_custom_policy(
    ctx: CallContext, params: dict[str, Any]
) -> dict[str, Any]:
    return {"ContextKeyNames": _keys_of(params["PolicyInputList"])}


def _authorize_keys(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    return [authz.check(ctx, "iam:GetContextKeysForPrincipalPolicy", params["PolicySourceArn"])]


@operation(
    "iam", "GetContextKeysForPrincipalPolicy", authorize=_authorize_keys, read_only=True
)
def get_context_keys_for_principal_policy(
    ctx: CallContext, params: dict[str, Any]
) -> dict[str, Any]:
    account = caller_account(ctx)
    with ctx.runtime.db.read() as conn:
        kind, record = _source_entity(conn, account, params["PolicySourceArn"])
        sources = {"user": sources_for_user, "role": sources_for_role,
                   "group": sources_for_group}[kind](conn, record)
    texts = [s.document for s in sources.identity]
    texts += list(params.get("PolicyInputList") or ())
    return {"ContextKeyNames": _keys_of(texts)}
