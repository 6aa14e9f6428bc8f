"""IAM users in the console: the list, a user's page (Permissions tab with attached and inline
policies and groups; Security credentials tab with console access and access keys), creating
and deleting users, console passwords, and access keys (create, activate/deactivate, delete).

Every section is read with its own IAM call, so a principal allowed to read some of them sees
those and AWS's denial message in place of the others.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from trailgate.console.iam_policies import OWNERS
from trailgate.console.web import CallFailure, Page, failure_status, redirect
from trailgate.errors import AwsError
from trailgate.http import HttpResponse

TABS = ("permissions", "groups", "security")


def _user_url(name: str, tab: str = "permissions") -> str:
    return f"/console/iam/users/{quote(name, safe='')}?tab={tab}"


def user_list(page: Page) -> HttpResponse:
    users: list[dict[str, Any]] = []
    failure = None
    try:
        users = page.collect("iam", "ListUsers", {}, "Users")
    except AwsError as err:
        failure = CallFailure.of(err)
    users.sort(key=lambda u: u["UserName"].lower())
    return page.render(
        "users.html", failure_status(failure), users=users, failure=failure
    )


def _security(page: Page, name: str) -> dict[str, Any]:
    keys, keys_failure = page.try_call("iam", "ListAccessKeys", {"UserName": name})
    key_rows = []
    for key in (keys or {}).get("AccessKeyMetadata", []):
        used, _ = page.try_call(
            "iam", "GetAccessKeyLastUsed", {"AccessKeyId": key["AccessKeyId"]}
        )
        key_rows.append({**key, "LastUsed": (used or {}).get("AccessKeyLastUsed", {})})
    profile, profile_failure = page.try_call("iam", "GetLoginProfile", {"UserName": name})
    if profile_failure is not None and profile_failure.code == "NoSuchEntity":
        profile_failure = None
    return {
        "keys": key_rows,
        "keys_failure": keys_failure,
        "login_profile": (profile or {}).get("LoginProfile"),
        "profile_failure": profile_failure,
    }


def user_detail(page: Page, name: str) -> HttpResponse:
    tab = page.request.query.get("tab", "permissions")
    if tab not in TABS:
        tab = "permissions"
    user = page.call("iam", "GetUser", {"UserName": name})["User"]
    context: dict[str, Any] = {"user": user, "tab": tab}
    if tab == "permissions":
        context.update(OWNERS["users"].permissions(page, user["UserName"]))
    elif tab == "groups":
        groups, failure = page.try_call("iam", "ListGroupsForUser", {"UserName": name})
        context.update(groups=(groups or {}).get("Groups", []), groups_failure=failure)
    else:
        context.update(_security(page, user["UserName"]))
    return page.render("user.html", **context)


def user_new(page: Page) -> HttpResponse:
    return page.render("user_new.html", user_name="", failure=None)


def user_create(page: Page) -> HttpResponse:
    name = page.request.field("user_name").strip()
    try:
        page.call("iam", "CreateUser", {"UserName": name})
    except AwsError as err:
        return page.render("user_new.html", 400, user_name=name, failure=CallFailure.of(err))
    return redirect(_user_url(name) + "&done=user-created")


def user_delete(page: Page, name: str) -> HttpResponse:
    """Remove what IAM requires gone first (as the console does), then the user."""
    try:
        page.call("iam", "DeleteLoginProfile", {"UserName": name})
    except AwsError as err:
        if err.code != "NoSuchEntity":
            raise
    keys = page.call("iam", "ListAccessKeys", {"UserName": name})["AccessKeyMetadata"]
    for key in keys:
        page.call("iam", "DeleteAccessKey", {"UserName": name, "AccessKeyId": key["AccessKeyId"]})
    for policy in page.collect("iam", "ListUserPolicies", {"UserName": name}, "PolicyNames"):
        page.call("iam", "DeleteUserPolicy", {"UserName": name, "PolicyName": policy})
    attached = page.collect(
        "iam", "ListAttachedUserPolicies", {"UserName": name}, "AttachedPolicies"
    )
    for policy in attached:
        page.call("iam", "DetachUserPolicy", {"UserName": name, "PolicyArn": policy["PolicyArn"]})
    for group in page.collect("iam", "ListGroupsForUser", {"UserName": name}, "Groups"):
        page.call("iam", "RemoveUserFromGroup", {"UserName": name, "GroupName": group["GroupName"]})
    page.call("iam", "DeleteUser", {"UserName": name})
    return redirect("/console/iam/users?done=user-deleted")


def key_create(page: Page, name: str) -> HttpResponse:
    created = page.call("iam", "CreateAccessKey", {"UserName": name})["AccessKey"]
    # Shown once, on this response only (no redirect, never stored by the console).
    return page.render("access_key_created.html", key=created, user_name=name)


def key_update(page: Page, name: str) -> HttpResponse:
    request = page.request
    status = request.field("status")
    page.call(
        "iam", "UpdateAccessKey",
        {"UserName": name, "AccessKeyId": request.field("access_key_id"), "Status": status},
    )
    return redirect(_user_url(name, "security") + "&done=key-updated")


def key_delete(page: Page, name: str) -> HttpResponse:
    page.call(
        "iam", "DeleteAccessKey",
        {"UserName": name, "AccessKeyId": page.request.field("access_key_id")},
    )
    return redirect(_user_url(name, "security") + "&done=key-deleted")


def password_set(page: Page, name: str) -> HttpResponse:
    password = page.request.field("password")
    try:
        page.call("iam", "UpdateLoginProfile", {"UserName": name, "Password": password})
    except AwsError as err:
        if err.code != "NoSuchEntity":
            return _security_error(page, name, err)
        try:
            page.call("iam", "CreateLoginProfile", {"UserName": name, "Password": password})
        except AwsError as create_err:
            return _security_error(page, name, create_err)
    return redirect(_user_url(name, "security") + "&done=password-set")


def _security_error(page: Page, name: str, err: AwsError) -> HttpResponse:
    user = page.call("iam", "GetUser", {"UserName": name})["User"]
    context = _security(page, user["UserName"])
    return page.render(
        "user.html", 400, user=user, tab="security", password_failure=CallFailure.of(err),
        **context,
    )


_NAME = r"(?P<name>[\w+=,.@-]+)"

ROUTES = [
    ("GET", r"/iam/users", user_list),
    ("GET", r"/iam/new-user", user_new),
    ("POST", r"/iam/new-user", user_create),
    ("GET", rf"/iam/users/{_NAME}", user_detail),
    ("POST", rf"/iam/users/{_NAME}/delete", user_delete),
    ("POST", rf"/iam/users/{_NAME}/keys/new", key_create),
    ("POST", rf"/iam/users/{_NAME}/keys/status", key_update),
    ("POST", rf"/iam/users/{_NAME}/keys/delete", key_delete),
    ("POST", rf"/iam/users/{_NAME}/password", password_set),
]
