"""Batch simulation: one JSON case in, one JSON result out, for many cases in one process.

A case (one JSON object per line):

    {"id": "c1",
     "identityPolicies": [<doc> | {"name": "n", "policy": <doc>}, ...],
     "resourcePolicy": <doc> | null,
     "permissionBoundaries": [<doc>, ...],
     "sessionPolicy": <doc> | null,
     "scps": [[<doc>, ...], ...],            one list per organisation level, root first
     "request": {"principal": "<ARN>" | "anonymous", "action": "s3:GetObject",
                 "resource": "<ARN>", "resourceAccount": "<12 digits>",
                 "context": {"aws:SourceIp": "10.1.2.3", "aws:TagKeys": ["a", "b"]}}}

A document is a JSON object or a JSON string holding one. The result:

    {"id": ..., "decision": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | "Error",
     "error": null | "<what is wrong>", "explanation": null | {...}}

Rules of the simulation (docs/policy-semantics.md):
- the context is used as given; nothing is added;
- resourceAccount defaults to the account in the resource ARN, else the principal's account
  (S3 ARNs carry none);
- the resource policy is validated and evaluated as a role trust policy when the action is one
  of the assume-role family (sts:AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity,
  TagSession, SetSourceIdentity) and the resource is a role ARN; otherwise as a resource policy;
- an invalid document gives "Error" with the validator's messages; the run goes on.
Compiled documents are cached (see `compile.compile_policy`), so repeated documents compile once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from trailgate.policy.compile import CompiledPolicy, compile_policy
from trailgate.policy.evaluate import evaluate
from trailgate.policy.kinds import PolicyKind
from trailgate.policy.principal import PrincipalInfo
from trailgate.policy.request import AuthzRequest, PolicySet
from trailgate.policy.validate import MalformedPolicyDocument

ERROR = "Error"
TRUST_ACTIONS = frozenset(
    {"sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity",
     "sts:tagsession", "sts:setsourceidentity"}
)


class CaseError(ValueError):
    """The case cannot be simulated (bad shape or invalid policy); the text says why."""


def _arn_fields(text: str) -> list[str] | None:
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return parts


def is_role_arn(resource: str) -> bool:
    parts = _arn_fields(resource)
    return parts is not None and parts[2] == "iam" and parts[5].startswith("role/")


def resource_policy_is_trust(action: str, resource: str) -> bool:
    """Whether the resource policy of this request is the role's trust policy."""
    return action.lower() in TRUST_ACTIONS and is_role_arn(resource)


def resource_account_of(resource: str, principal: PrincipalInfo) -> str | None:
    """The account owning `resource`: the ARN's account field, else the principal's account."""
    parts = _arn_fields(resource)
    if parts is not None and parts[4]:
        return parts[4]
    return principal.account


def _unwrap(item: Any, default_name: str) -> tuple[str, Any]:
    """(name, document) for a document or a {"name": ..., "policy": ...} wrapper."""
    if isinstance(item, Mapping) and "policy" in item and "Statement" not in item:
        name = item.get("name")
        return (name if isinstance(name, str) and name else default_name), item["policy"]
    return default_name, item


def _as_list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping | str):
        return [value]
    raise CaseError(f"{what} must be a list of policy documents")


def _compile(item: Any, kind: PolicyKind, default_name: str) -> CompiledPolicy:
    name, document = _unwrap(item, default_name)
    if not isinstance(document, Mapping | str):
        raise CaseError(f"{name}: a policy document must be a JSON object or string")
    try:
        return compile_policy(document, kind, name)
    except MalformedPolicyDocument as exc:
        raise CaseError(f"{name}: {'; '.join(exc.messages)}") from None


class BatchSimulator:
    """Runs cases; keeps the principals it has parsed (policies are cached by compile)."""

    def __init__(self) -> None:
        self._principals: dict[str, PrincipalInfo] = {}

    def principal(self, text: str) -> PrincipalInfo:
        found = self._principals.get(text)
        if found is None:
            try:
                found = PrincipalInfo.from_arn(text)
            except ValueError as exc:
                raise CaseError(str(exc)) from None
            if len(self._principals) >= 50_000:
                self._principals.clear()
            self._principals[text] = found
        return found

    def build(self, case: Mapping[str, Any]) -> tuple[AuthzRequest, PolicySet]:
        """The request and policy set of a case; raises CaseError."""
        raw = case.get("request")
        if not isinstance(raw, Mapping):
            raise CaseError("the case has no request object")
        principal_text = raw.get("principal")
        action = raw.get("action")
        resource = raw.get("resource")
        if not isinstance(principal_text, str) or not principal_text:
            raise CaseError("request.principal must be an ARN or \"anonymous\"")
        if not isinstance(action, str) or not action:
            raise CaseError("request.action must be a string such as s3:GetObject")
        if not isinstance(resource, str) or not resource:
            raise CaseError("request.resource must be an ARN or \"*\"")
        context = raw.get("context") or {}
        if not isinstance(context, Mapping):
            raise CaseError("request.context must be an object")
        principal = self.principal(principal_text)
        resource_account = raw.get("resourceAccount")
        if resource_account is not None and not isinstance(resource_account, str):
            raise CaseError("request.resourceAccount must be a string")
        if not resource_account:
            resource_account = resource_account_of(resource, principal)
        request = AuthzRequest(principal, action, resource, resource_account, context)

        trust = resource_policy_is_trust(action, resource)
        identity = [
            _compile(item, PolicyKind.IDENTITY, f"identity-{i}")
            for i, item in enumerate(_as_list(case.get("identityPolicies"), "identityPolicies"))
        ]
        resource_doc = case.get("resourcePolicy")
        resource_policy = None
        if resource_doc is not None:
            resource_policy = _compile(
                resource_doc, PolicyKind.TRUST if trust else PolicyKind.RESOURCE,
                "trust-policy" if trust else "resource-policy",
            )
        boundaries = [
            _compile(item, PolicyKind.BOUNDARY, f"boundary-{i}")
            for i, item in enumerate(
                _as_list(case.get("permissionBoundaries"), "permissionBoundaries"))
        ]
        session_items = _as_list(case.get("sessionPolicy"), "sessionPolicy")
        session = [
            _compile(item, PolicyKind.SESSION, f"session-{i}")
            for i, item in enumerate(session_items)
        ]
        scps = []
        for level, docs in enumerate(_as_list(case.get("scps"), "scps")):
            scps.append([
                _compile(item, PolicyKind.SCP, f"scp-{level}-{i}")
                for i, item in enumerate(_as_list(docs, f"scps[{level}]"))
            ])
        return request, PolicySet(identity, resource_policy, boundaries, session, scps, trust)

    def run_case(self, case: Any) -> dict[str, Any]:
        case_id = case.get("id") if isinstance(case, Mapping) else None
        try:
            if not isinstance(case, Mapping):
                raise CaseError("a case must be a JSON object")
            request, policies = self.build(case)
        except CaseError as exc:
            return {"id": case_id, "decision": ERROR, "error": str(exc), "explanation": None}
        result = evaluate(request, policies)
        return {"id": case_id, "decision": result.decision.value, "error": None,
                "explanation": result.to_dict()}

    def run_line(self, line: str) -> dict[str, Any]:
        try:
            case = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            return {"id": None, "decision": ERROR, "error": f"invalid JSON: {exc}",
                    "explanation": None}
        return self.run_case(case)

    def run(self, lines: Iterable[str]) -> Iterator[str]:
        """One JSON text per non-blank input line, in order."""
        for line in lines:
            if line.strip():
                yield json.dumps(self.run_line(line), separators=(",", ":"))
