"""IAM roles in the console: the list; a role's page whose Summary shows the Role ARN, with a
Permissions tab (attached and inline policies) and a Trust relationships tab (the trusted
entities, their conditions and the trust policy, editable in the policy editor); the
create-role flow for "Another AWS account" (optionally requiring an external ID) or a custom
trust policy; deleting a role.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from trailgate.console.iam_policies import OWNERS
from trailgate.console.policy_check import check_document
from trailgate.console.web import CallFailure, Page, failure_status, redirect
from trailgate.errors import AwsError
from trailgate.http import HttpResponse
from trailgate.policy import PolicyKind

TABS = ("permissions", "trust")
_ACCOUNT_ID = re.compile(r"\d{12}")
ACCOUNT_ID_PROBLEM = "Enter the 12-digit ID of the account that may assume the role."
EXTERNAL_ID_PROBLEM = (
    "Enter an external ID of 2 to 1224 characters: letters, digits and +=,.@:/-"
)
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}")


def _role_url(name: str, tab: str = "permissions") -> str:
    return f"/console/iam/roles/{quote(name, safe='')}?tab={tab}"


def role_list(page: Page) -> HttpResponse:
    roles: list[dict[str, Any]] = []
    failure = None
    try:
        roles = page.collect("iam", "ListRoles", {}, "Roles")
    except AwsError as err:
        failure = CallFailure.of(err)
    roles.sort(key=lambda r: r["RoleName"].lower())
    text = page.request.query.get("filter", "").strip().lower()
    if text:
        roles = [r for r in roles if text in r["RoleName"].lower()]
    return page.render(
        "roles.html", failure_status(failure), roles=roles, failure=failure,
        filter_text=page.request.query.get("filter", ""),
    )


def trusted_entities(document: str) -> list[dict[str, Any]]:
    """Who a trust policy lets assume the role: one row per principal of each statement."""
    try:
        parsed = json.loads(document)
    except ValueError:
        return []
    statements = parsed.get("Statement") if isinstance(parsed, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    rows: list[dict[str, Any]] = []
    for statement in statements or []:
        if not isinstance(statement, dict):
            continue
        principal = statement.get("Principal", statement.get("NotPrincipal"))
        entries: list[tuple[str, str]] = []
        if principal == "*":
            entries.append(("AWS", "*"))
        elif isinstance(principal, dict):
            for kind, values in principal.items():
                for value in values if isinstance(values, list) else [values]:
                    entries.append((kind, str(value)))
        actions = statement.get("Action", statement.get("NotAction", []))
        for kind, value in entries:
            rows.append(
                {
                    "effect": statement.get("Effect", ""),
                    "type": kind,
                    "principal": value,
                    "actions": actions if isinstance(actions, list) else [actions],
                    "condition": statement.get("Condition"),
                }
            )
    return rows


def role_detail(page: Page, name: str) -> HttpResponse:
    tab = page.request.query.get("tab", "permissions")
    if tab not in TABS:
        tab = "permissions"
    role = page.call("iam", "GetRole", {"RoleName": name})["Role"]
    context: dict[str, Any] = {"role": role, "tab": tab}
    if tab == "permissions":
        context.update(OWNERS["roles"].permissions(page, role["RoleName"]))
    else:
        context["trusted"] = trusted_entities(role.get("AssumeRolePolicyDocument", ""))
    return page.render("role.html", **context)


def trust_document(account_id: str, external_id: str | None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=2)


def _policy_choices(page: Page) -> tuple[list[dict[str, Any]], CallFailure | None]:
    try:
        policies = page.collect("iam", "ListPolicies", {"Scope": "Local"}, "Policies")
    except AwsError as err:
        return [], CallFailure.of(err)
    policies.sort(key=lambda p: p["PolicyName"].lower())
    return policies, None


def role_new(page: Page) -> HttpResponse:
    policies, policies_failure = _policy_choices(page)
    return page.render(
        "role_new.html",
        form={"entity": "account", "trust_document": trust_document(page.session.account_id, None)},
        problems=[], failure=None, policies=policies,
        policies_failure=policies_failure,
    )


def role_create(page: Page) -> HttpResponse:
    request = page.request
    form = {
        "entity": request.field("entity", "account"),
        "account_id": request.field("account_id").strip(),
        "require_external_id": request.field("require_external_id") == "on",
        "external_id": request.field("external_id").strip(),
        "role_name": request.field("role_name").strip(),
        "description": request.field("description").strip(),
        "policy_arn": request.field("policy_arn"),
        "trust_document": request.field("trust_document"),
    }
    problems: list[str] = []
    syntax = None
    if form["entity"] == "custom":
        document = form["trust_document"]
    else:
        if not _ACCOUNT_ID.fullmatch(form["account_id"]):
            problems.append(ACCOUNT_ID_PROBLEM)
        if form["require_external_id"] and not _EXTERNAL_ID.fullmatch(form["external_id"]):
            problems.append(EXTERNAL_ID_PROBLEM)
        external = form["external_id"] if form["require_external_id"] else None
        document = trust_document(form["account_id"], external)
    if not problems:
        check = check_document(document, PolicyKind.TRUST)
        problems, syntax = check.messages, check.syntax
    failure = None
    if not problems:
        params: dict[str, Any] = {
            "RoleName": form["role_name"], "AssumeRolePolicyDocument": document,
        }
        if form["description"]:
            params["Description"] = form["description"]
        try:
            page.call("iam", "CreateRole", params)
        except AwsError as err:
            failure = CallFailure.of(err)
        else:
            if form["policy_arn"]:
                try:
                    page.call(
                        "iam", "AttachRolePolicy",
                        {"RoleName": form["role_name"], "PolicyArn": form["policy_arn"]},
                    )
                except AwsError as err:
                    # The role exists; say what could not be attached on its page.
                    page.notices.append(f"The policy was not attached: {err.message}")
                    return role_detail(page, form["role_name"])
            return redirect(_role_url(form["role_name"]) + "&done=role-created")
    policies, policies_failure = _policy_choices(page)
    return page.render(
        "role_new.html", 400, form=form, problems=problems, syntax=syntax, failure=failure,
        policies=policies, policies_failure=policies_failure,
    )


def trust_edit(page: Page, name: str) -> HttpResponse:
    role = page.call("iam", "GetRole", {"RoleName": name})["Role"]
    return page.render(
        "policy_editor.html",
        title=f"Edit trust policy of role {role['RoleName']}",
        form_action=f"/console/iam/roles/{quote(name, safe='')}/trust",
        document=_indented(role["AssumeRolePolicyDocument"]),
        back=_role_url(name, "trust"),
        policy_name=None, name_editable=False, description=None, check=None, failure=None,
        checked_ok=False, hidden={}, kind_label="role trust policy",
    )


def _indented(document: str) -> str:
    try:
        return json.dumps(json.loads(document), indent=2)
    except ValueError:
        return document


def trust_save(page: Page, name: str) -> HttpResponse:
    request = page.request
    document = request.field("document")
    check = check_document(document, PolicyKind.TRUST)
    save = request.field("intent", "save") == "save"
    failure = None
    if check.ok and save:
        try:
            page.call(
                "iam", "UpdateAssumeRolePolicy", {"RoleName": name, "PolicyDocument": document}
            )
        except AwsError as err:
            failure = CallFailure.of(err)
        else:
            return redirect(_role_url(name, "trust") + "&done=trust-saved")
    return page.render(
        "policy_editor.html",
        400 if (save and (failure or not check.ok)) else 200,
        title=f"Edit trust policy of role {name}",
        form_action=f"/console/iam/roles/{quote(name, safe='')}/trust",
        document=document, back=_role_url(name, "trust"), policy_name=None,
        name_editable=False, description=None, check=check, failure=failure,
        checked_ok=check.ok and not save, hidden={}, kind_label="role trust policy",
    )


def role_delete(page: Page, name: str) -> HttpResponse:
    """Remove the role's policies first, as the console does, then the role."""
    for policy in page.collect("iam", "ListRolePolicies", {"RoleName": name}, "PolicyNames"):
        page.call("iam", "DeleteRolePolicy", {"RoleName": name, "PolicyName": policy})
    attached = page.collect(
        "iam", "ListAttachedRolePolicies", {"RoleName": name}, "AttachedPolicies"
    )
    for policy in attached:
        page.call("iam", "DetachRolePolicy", {"RoleName": name, "PolicyArn": policy["PolicyArn"]})
    page.call("iam", "DeleteRole", {"RoleName": name})
    return redirect("/console/iam/roles?done=role-deleted")


_NAME = r"(?P<name>[\w+=,.@-]+)"

ROUTES = [
    ("GET", r"/iam/roles", role_list),
    ("GET", r"/iam/new-role", role_new),
    ("POST", r"/iam/new-role", role_create),
    ("GET", rf"/iam/roles/{_NAME}", role_detail),
    ("GET", rf"/iam/roles/{_NAME}/trust", trust_edit),
    ("POST", rf"/iam/roles/{_NAME}/trust", trust_save),
    ("POST", rf"/iam/roles/{_NAME}/delete", role_delete),
]
