"""IAM policies in the console: the policy editor for inline policies of users and roles, and
customer managed policies (list, view, create, edit as a new default version, delete), plus
attaching and detaching managed policies.

The editor checks the document with the policy engine (policy_check) and shows its messages,
with line and column for JSON syntax errors, before anything is saved; the save itself is the
IAM operation, run as the signed-in principal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from trailgate.console.policy_check import CheckResult, check_document
from trailgate.console.web import CallFailure, Page, failure_status, redirect
from trailgate.errors import AwsError
from trailgate.http import HttpResponse
from trailgate.policy import PolicyKind

MAX_VERSIONS = 5
ATTACH_CHOICES = 200
LIST_ROWS = 500

NEW_POLICY_TEMPLATE = """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [],
      "Resource": []
    }
  ]
}"""


@dataclass(frozen=True)
class Owner:
    """Users or roles: the IAM operations of their inline and attached policies."""

    plural: str  # "users" | "roles"
    noun: str  # "User" | "Role"

    @property
    def name_param(self) -> str:
        return f"{self.noun}Name"

    def url(self, name: str, tab: str = "permissions") -> str:
        return f"/console/iam/{self.plural}/{quote(name, safe='')}?tab={tab}"

    def permissions(self, page: Page, name: str) -> dict[str, Any]:
        """The Permissions tab: attached and inline policies, each read with its own call."""
        params = {self.name_param: name}
        attached, attached_failure = page.try_call(
            "iam", f"ListAttached{self.noun}Policies", params
        )
        inline, inline_failure = page.try_call("iam", f"List{self.noun}Policies", params)
        return {
            "attached": (attached or {}).get("AttachedPolicies", []),
            "attached_failure": attached_failure,
            "inline": (inline or {}).get("PolicyNames", []),
            "inline_failure": inline_failure,
        }


OWNERS = {"users": Owner("users", "User"), "roles": Owner("roles", "Role")}


def _owner(plural: str) -> Owner:
    return OWNERS[plural]


# -- the editor ------------------------------------------------------------------------------


def _editor(
    page: Page,
    *,
    title: str,
    action: str,
    document: str,
    back: str,
    name: str | None = None,
    name_editable: bool = False,
    description: str | None = None,
    check: CheckResult | None = None,
    failure: CallFailure | None = None,
    checked_ok: bool = False,
    status: int = 200,
    hidden: dict[str, str] | None = None,
    kind_label: str = "identity-based policy",
) -> HttpResponse:
    return page.render(
        "policy_editor.html",
        status,
        title=title,
        form_action=action,
        document=document,
        back=back,
        policy_name=name,
        name_editable=name_editable,
        description=description,
        check=check,
        failure=failure,
        checked_ok=checked_ok,
        hidden=hidden or {},
        kind_label=kind_label,
    )


def _save_intent(page: Page) -> bool:
    return page.request.field("intent", "save") == "save"


def _check_then_save(
    page: Page, check: CheckResult, again: dict[str, Any], save: Callable[[], str]
) -> HttpResponse:
    """An editor POST: the check's findings, or on "save" run `save` and go where it says.

    `again` is what the editor needs to show the form once more.
    """
    if not check.ok:
        return _editor(page, check=check, status=400 if _save_intent(page) else 200, **again)
    if not _save_intent(page):
        return _editor(page, check=check, checked_ok=True, **again)
    try:
        target = save()
    except AwsError as err:
        return _editor(page, check=check, failure=CallFailure.of(err), status=400, **again)
    return redirect(target)


def _inline_form(owner: str, name: str, policy: str, *, new: bool) -> dict[str, Any]:
    """The editor's title, action and back link for an inline policy of a user or role."""
    kind = _owner(owner)
    base = f"/console/iam/{owner}/{quote(name, safe='')}"
    if new:
        title = f"Create inline policy for {kind.noun.lower()} {name}"
        action = f"{base}/new-inline"
    else:
        title = f"Edit inline policy {policy} of {kind.noun.lower()} {name}"
        action = f"{base}/inline/{quote(policy, safe='')}"
    return {
        "title": title, "action": action, "back": kind.url(name), "name": policy,
        "name_editable": new,
    }


def inline_new(page: Page, owner: str, name: str) -> HttpResponse:
    form = _inline_form(owner, name, "", new=True)
    return _editor(page, document=NEW_POLICY_TEMPLATE, **form)


def inline_edit(page: Page, owner: str, name: str, policy: str) -> HttpResponse:
    kind = _owner(owner)
    result = page.call(
        "iam", f"Get{kind.noun}Policy", {kind.name_param: name, "PolicyName": policy}
    )
    form = _inline_form(owner, name, policy, new=False)
    return _editor(page, document=result["PolicyDocument"], **form)


def _inline_save(page: Page, owner: str, name: str, policy: str, *, new: bool) -> HttpResponse:
    kind = _owner(owner)
    document = page.request.field("document")
    again = {**_inline_form(owner, name, policy, new=new), "document": document}

    def save() -> str:
        page.call(
            "iam",
            f"Put{kind.noun}Policy",
            {kind.name_param: name, "PolicyName": policy, "PolicyDocument": document},
        )
        return kind.url(name) + "&done=policy-saved"

    return _check_then_save(page, check_document(document, PolicyKind.IDENTITY), again, save)


def inline_create(page: Page, owner: str, name: str) -> HttpResponse:
    return _inline_save(page, owner, name, page.request.field("policy_name").strip(), new=True)


def inline_update(page: Page, owner: str, name: str, policy: str) -> HttpResponse:
    return _inline_save(page, owner, name, policy, new=False)


def inline_delete(page: Page, owner: str, name: str, policy: str) -> HttpResponse:
    kind = _owner(owner)
    page.call("iam", f"Delete{kind.noun}Policy", {kind.name_param: name, "PolicyName": policy})
    return redirect(kind.url(name) + "&done=policy-deleted")


# -- attach / detach -------------------------------------------------------------------------


def _matching_policies(page: Page, scope: str, text: str) -> list[dict[str, Any]]:
    policies = page.collect("iam", "ListPolicies", {"Scope": scope}, "Policies", limit=5000)
    text = text.strip().lower()
    if text:
        policies = [p for p in policies if text in p["PolicyName"].lower()]
    policies.sort(key=lambda p: (p["Arn"].split(":")[4] == "aws", p["PolicyName"].lower()))
    return policies


def _filtered_policies(page: Page, shown: int) -> dict[str, Any]:
    """The query's scope and name filters, the first `shown` policies they select and how many
    more there are, or the failure of listing them."""
    query = page.request.query
    scope = query.get("scope", "Local")
    if scope not in ("Local", "AWS", "All"):
        scope = "Local"
    text = query.get("filter", "")
    policies, failure = [], None
    try:
        policies = _matching_policies(page, scope, text)
    except AwsError as err:
        failure = CallFailure.of(err)
    return {
        "scope": scope, "filter_text": text, "policies": policies[:shown],
        "more": max(0, len(policies) - shown), "failure": failure,
    }


def attach_form(page: Page, owner: str, name: str) -> HttpResponse:
    kind = _owner(owner)
    found = _filtered_policies(page, ATTACH_CHOICES)
    return page.render(
        "attach_policy.html", owner=kind, name=name, back=kind.url(name), **found
    )


def _change_attachment(page: Page, owner: str, name: str, verb: str, done: str) -> HttpResponse:
    """Attach or Detach (`verb`) the managed policy of the form to a user or role."""
    kind = _owner(owner)
    arn = page.request.field("policy_arn")
    page.call("iam", f"{verb}{kind.noun}Policy", {kind.name_param: name, "PolicyArn": arn})
    return redirect(kind.url(name) + f"&done={done}")


def attach(page: Page, owner: str, name: str) -> HttpResponse:
    return _change_attachment(page, owner, name, "Attach", "policy-attached")


def detach(page: Page, owner: str, name: str) -> HttpResponse:
    return _change_attachment(page, owner, name, "Detach", "policy-detached")


# -- customer managed policies -----------------------------------------------------------------


def _policy_url(arn: str) -> str:
    return f"/console/iam/policy?arn={quote(arn, safe='')}"


def policy_list(page: Page) -> HttpResponse:
    found = _filtered_policies(page, LIST_ROWS)
    return page.render("policies.html", failure_status(found["failure"]), **found)


def policy_view(page: Page) -> HttpResponse:
    arn = page.request.query.get("arn", "")
    policy = page.call("iam", "GetPolicy", {"PolicyArn": arn})["Policy"]
    version, version_failure = page.try_call(
        "iam", "GetPolicyVersion", {"PolicyArn": arn, "VersionId": policy["DefaultVersionId"]}
    )
    entities, entities_failure = page.try_call("iam", "ListEntitiesForPolicy", {"PolicyArn": arn})
    versions, versions_failure = page.try_call("iam", "ListPolicyVersions", {"PolicyArn": arn})
    return page.render(
        "policy.html",
        policy=policy,
        document=(version or {}).get("PolicyVersion", {}).get("Document"),
        version_failure=version_failure,
        entities=entities,
        entities_failure=entities_failure,
        versions=(versions or {}).get("Versions", []),
        versions_failure=versions_failure,
        aws_managed=arn.split(":")[4:5] == ["aws"],
    )


def policy_new(page: Page) -> HttpResponse:
    return _editor(
        page, title="Create policy", action="/console/iam/policies/new",
        document=NEW_POLICY_TEMPLATE, back="/console/iam/policies", name="",
        name_editable=True, description="",
    )


def policy_create(page: Page) -> HttpResponse:
    request = page.request
    name = request.field("policy_name").strip()
    description = request.field("description").strip()
    document = request.field("document")
    check = check_document(document, PolicyKind.IDENTITY, managed=True)
    again = {
        "title": "Create policy", "action": "/console/iam/policies/new", "document": document,
        "back": "/console/iam/policies", "name": name, "name_editable": True,
        "description": description,
    }

    def save() -> str:
        params: dict[str, Any] = {"PolicyName": name, "PolicyDocument": document}
        if description:
            params["Description"] = description
        created = page.call("iam", "CreatePolicy", params)["Policy"]
        return _policy_url(created["Arn"]) + "&done=policy-created"

    return _check_then_save(page, check, again, save)


def policy_edit(page: Page) -> HttpResponse:
    arn = page.request.query.get("arn", "")
    policy = page.call("iam", "GetPolicy", {"PolicyArn": arn})["Policy"]
    version = page.call(
        "iam", "GetPolicyVersion", {"PolicyArn": arn, "VersionId": policy["DefaultVersionId"]}
    )["PolicyVersion"]
    return _editor(
        page, title=f"Edit policy {policy['PolicyName']}", action="/console/iam/policy/edit",
        document=version["Document"], back=_policy_url(arn), name=policy["PolicyName"],
        hidden={"arn": arn},
    )


def _drop_oldest_version(page: Page, arn: str) -> None:
    """Make room for a new version as the console does: delete the oldest non-default one."""
    versions = page.call("iam", "ListPolicyVersions", {"PolicyArn": arn})["Versions"]
    if len(versions) < MAX_VERSIONS:
        return
    candidates = [v for v in versions if not v.get("IsDefaultVersion")]
    candidates.sort(key=lambda v: v["CreateDate"])
    if candidates:
        page.call(
            "iam", "DeletePolicyVersion",
            {"PolicyArn": arn, "VersionId": candidates[0]["VersionId"]},
        )


def policy_update(page: Page) -> HttpResponse:
    request = page.request
    arn = request.field("arn")
    document = request.field("document")
    name = arn.rsplit("/", 1)[-1]
    check = check_document(document, PolicyKind.IDENTITY, managed=True)
    again = {
        "title": f"Edit policy {name}", "action": "/console/iam/policy/edit",
        "document": document, "back": _policy_url(arn), "name": name, "hidden": {"arn": arn},
    }

    def save() -> str:
        _drop_oldest_version(page, arn)
        page.call(
            "iam", "CreatePolicyVersion",
            {"PolicyArn": arn, "PolicyDocument": document, "SetAsDefault": True},
        )
        return _policy_url(arn) + "&done=policy-updated"

    return _check_then_save(page, check, again, save)


def policy_delete(page: Page) -> HttpResponse:
    """Delete as the console does: detach everywhere, delete old versions, then the policy."""
    arn = page.request.field("arn")
    entities = page.call("iam", "ListEntitiesForPolicy", {"PolicyArn": arn})
    for noun in ("User", "Group", "Role"):
        for entity in entities.get(f"Policy{noun}s") or []:
            name_param = f"{noun}Name"
            page.call(
                "iam", f"Detach{noun}Policy", {name_param: entity[name_param], "PolicyArn": arn}
            )
    versions = page.call("iam", "ListPolicyVersions", {"PolicyArn": arn})["Versions"]
    for version in versions:
        if not version.get("IsDefaultVersion"):
            page.call(
                "iam", "DeletePolicyVersion",
                {"PolicyArn": arn, "VersionId": version["VersionId"]},
            )
    page.call("iam", "DeletePolicy", {"PolicyArn": arn})
    return redirect("/console/iam/policies?done=policy-deleted")


_OWNER = r"(?P<owner>users|roles)"
_NAME = r"(?P<name>[\w+=,.@-]+)"
_POLICY = r"(?P<policy>[\w+=,.@-]+)"

ROUTES = [
    ("GET", rf"/iam/{_OWNER}/{_NAME}/new-inline", inline_new),
    ("POST", rf"/iam/{_OWNER}/{_NAME}/new-inline", inline_create),
    ("GET", rf"/iam/{_OWNER}/{_NAME}/inline/{_POLICY}", inline_edit),
    ("POST", rf"/iam/{_OWNER}/{_NAME}/inline/{_POLICY}", inline_update),
    ("POST", rf"/iam/{_OWNER}/{_NAME}/inline/{_POLICY}/delete", inline_delete),
    ("GET", rf"/iam/{_OWNER}/{_NAME}/attach", attach_form),
    ("POST", rf"/iam/{_OWNER}/{_NAME}/attach", attach),
    ("POST", rf"/iam/{_OWNER}/{_NAME}/detach", detach),
    ("GET", r"/iam/policies", policy_list),
    ("GET", r"/iam/policies/new", policy_new),
    ("POST", r"/iam/policies/new", policy_create),
    ("GET", r"/iam/policy", policy_view),
    ("GET", r"/iam/policy/edit", policy_edit),
    ("POST", r"/iam/policy/edit", policy_update),
    ("POST", r"/iam/policy/delete", policy_delete),
]
