"""The policy simulator page: choose a principal (a user or role of the account) or write a
policy, then actions, resources and context keys; see each decision and why.

Decisions come from IAM's SimulatePrincipalPolicy / SimulateCustomPolicy, run through
`invoke` as the signed-in principal (so iam:SimulatePrincipalPolicy must be allowed, and the
simulation is recorded). The explanation names the matched statements with their text; for a
custom policy the page also shows the policy engine's own account of the decision (reason and
matched statements) for the same inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trailgate.console.policy_check import check_document
from trailgate.console.web import CallFailure, Page
from trailgate.errors import AwsError
from trailgate.http import HttpResponse
from trailgate.policy import (
    AuthzRequest,
    MalformedPolicyDocument,
    PolicyKind,
    PolicySet,
    PrincipalInfo,
    compile_policy,
    evaluate,
)

_SPLIT = re.compile(r"[\s,]+")
MAX_PAIRS = 100


@dataclass
class SimForm:
    mode: str = "principal"
    principal_arn: str = ""
    policy: str = ""
    actions: str = ""
    resources: str = "*"
    context: str = ""
    resource_policy: str = ""


def _entries(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """ContextEntries from lines `key=value` (`key=v1,v2` for a list)."""
    entries, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        key, eq, value = line.partition("=")
        if not eq or not key.strip():
            problems.append(f"Context line {number}: write key=value.")
            continue
        values = [v.strip() for v in value.split(",")] if "," in value else [value.strip()]
        entries.append(
            {
                "ContextKeyName": key.strip(),
                "ContextKeyValues": values,
                "ContextKeyType": "stringList" if len(values) > 1 else "string",
            }
        )
    return entries, problems


def _choices(page: Page) -> list[str]:
    arns: list[str] = []
    users, _ = page.try_call("iam", "ListUsers", {})
    roles, _ = page.try_call("iam", "ListRoles", {})
    arns += [u["Arn"] for u in (users or {}).get("Users", [])]
    arns += [r["Arn"] for r in (roles or {}).get("Roles", [])]
    return sorted(arns)


def _statement_text(document: str, statement: dict[str, Any]) -> str | None:
    start, end = statement.get("StartPosition"), statement.get("EndPosition")
    if not document or not start or not end:
        return None
    lines = document.splitlines()
    first, last = start["Line"] - 1, end["Line"] - 1
    if not (0 <= first <= last < len(lines)):
        return None
    if first == last:
        return lines[first][start["Column"] - 1:end["Column"] - 1]
    chunk = [lines[first][start["Column"] - 1:], *lines[first + 1:last],
             lines[last][:end["Column"] - 1]]
    return "\n".join(chunk)


def _principal_document(page: Page, principal_arn: str, matched: dict[str, Any]) -> str:
    """The text of a policy a principal simulation matched (read as the signed-in principal;
    "" when it cannot be read)."""
    kind, source = matched.get("SourcePolicyType"), matched.get("SourcePolicyId", "")
    entity = principal_arn.rsplit("/", 1)[-1]
    result: dict[str, Any] | None = None
    if kind == "user":
        result, _ = page.try_call(
            "iam", "GetUserPolicy", {"UserName": entity, "PolicyName": source})
    elif kind == "role":
        result, _ = page.try_call(
            "iam", "GetRolePolicy", {"RoleName": entity, "PolicyName": source})
    elif kind in ("user-managed", "aws-managed"):
        policy, _ = page.try_call("iam", "GetPolicy", {"PolicyArn": source})
        if policy is not None:
            version, _ = page.try_call("iam", "GetPolicyVersion", {
                "PolicyArn": source, "VersionId": policy["Policy"]["DefaultVersionId"]})
            return (version or {}).get("PolicyVersion", {}).get("Document", "")
    return (result or {}).get("PolicyDocument", "")


def explain(result: dict[str, Any], documents: dict[str, str]) -> str:
    """One sentence for a simulator result, in AWS's words where AWS has them."""
    action = result["EvalActionName"]
    decision = result["EvalDecision"]
    matched = [m.get("SourcePolicyId", "") for m in result.get("MatchedStatements") or []]
    if decision == "allowed":
        return "Allowed by " + ", ".join(matched) + "." if matched else "Allowed."
    if decision == "explicitDeny":
        where = ", ".join(matched) or "a policy"
        return f"Denied with an explicit deny in {where}."
    boundary = result.get("PermissionsBoundaryDecisionDetail") or {}
    if boundary and not boundary.get("AllowedByPermissionsBoundary", True):
        return f"Denied because no permissions boundary allows the {action} action."
    organizations = result.get("OrganizationsDecisionDetail") or {}
    if organizations and not organizations.get("AllowedByOrganizations", True):
        return f"Denied because no service control policy allows the {action} action."
    return f"Denied because no identity-based policy allows the {action} action."


def _engine_view(
    page: Page, form: SimForm, pairs: list[tuple[str, str]], context: dict[str, Any]
) -> list[str]:
    """The engine's explanation for a custom policy, for each action and resource."""
    try:
        identity = compile_policy(form.policy, PolicyKind.IDENTITY, name="PolicyInputList.1")
        resource = (
            compile_policy(form.resource_policy, PolicyKind.RESOURCE, name="ResourcePolicy")
            if form.resource_policy.strip()
            else None
        )
    except MalformedPolicyDocument:
        return []
    principal = page.session.principal
    arn = principal.arn if principal.kind == "IAMUser" and principal.arn else (
        f"arn:aws:iam::{page.session.account_id}:user/simulated")
    info = PrincipalInfo(arn=arn, account=page.session.account_id, type="IAMUser")
    texts = []
    for action, resource_arn in pairs:
        request = AuthzRequest(info, action, resource_arn, page.session.account_id, context)
        texts.append(evaluate(request, PolicySet(identity=[identity], resource=resource)).explain())
    return texts


def simulator_page(page: Page) -> HttpResponse:
    return page.render(
        "simulator.html", form=SimForm(), choices=_choices(page), results=None, problems=[],
        failure=None,
    )


def simulate(page: Page) -> HttpResponse:
    request = page.request
    form = SimForm(
        mode="custom" if request.field("mode") == "custom" else "principal",
        principal_arn=request.field("principal_arn").strip(),
        policy=request.field("policy"),
        actions=request.field("actions"),
        resources=request.field("resources") or "*",
        context=request.field("context"),
        resource_policy=request.field("resource_policy"),
    )
    actions = [a for a in _SPLIT.split(form.actions) if a]
    resources = [r for r in _SPLIT.split(form.resources) if r] or ["*"]
    entries, problems = _entries(form.context)
    if not actions:
        problems.append("Enter at least one action, such as s3:GetObject.")
    if len(actions) * len(resources) > MAX_PAIRS:
        problems.append(f"At most {MAX_PAIRS} action and resource pairs at a time.")
    documents: dict[str, str] = {}
    if form.mode == "custom":
        check = check_document(form.policy, PolicyKind.IDENTITY)
        problems += [f"Policy: {m}" for m in check.messages]
        documents["PolicyInputList.1"] = form.policy
    elif not form.principal_arn:
        problems.append("Choose the user or role to simulate.")
    if form.resource_policy.strip():
        check = check_document(form.resource_policy, PolicyKind.RESOURCE)
        problems += [f"Resource policy: {m}" for m in check.messages]
        documents["ResourcePolicy"] = form.resource_policy
    results = None
    failure = None
    engine: list[str] = []
    if not problems:
        params: dict[str, Any] = {"ActionNames": actions, "ResourceArns": resources}
        if entries:
            params["ContextEntries"] = entries
        if form.resource_policy.strip():
            params["ResourcePolicy"] = form.resource_policy
        try:
            if form.mode == "custom":
                params["PolicyInputList"] = [form.policy]
                output = page.call("iam", "SimulateCustomPolicy", params)
            else:
                params["PolicySourceArn"] = form.principal_arn
                output = page.call("iam", "SimulatePrincipalPolicy", params)
        except AwsError as err:
            failure = CallFailure.of(err)
        else:
            results = []
            for item in output.get("EvaluationResults") or []:
                statements = []
                for matched in item.get("MatchedStatements") or []:
                    name = matched.get("SourcePolicyId", "")
                    if form.mode == "principal" and name not in documents:
                        documents[name] = _principal_document(page, form.principal_arn, matched)
                    source = documents.get(name, "")
                    statements.append({**matched, "text": _statement_text(source, matched)})
                results.append(
                    {**item, "statements": statements, "explanation": explain(item, documents)}
                )
            if form.mode == "custom":
                context = {e["ContextKeyName"]: (
                    e["ContextKeyValues"] if len(e["ContextKeyValues"]) > 1
                    else e["ContextKeyValues"][0]) for e in entries}
                engine = _engine_view(page, form, [(a, r) for a in actions for r in resources],
                                      context)
    for number, text in enumerate(engine):
        if results is not None and number < len(results):
            results[number]["engine"] = text
    return page.render(
        "simulator.html", 400 if problems else 200, form=form, choices=_choices(page),
        results=results, problems=problems, failure=failure,
    )


ROUTES = [
    ("GET", r"/simulator", simulator_page),
    ("POST", r"/simulator", simulate),
]
