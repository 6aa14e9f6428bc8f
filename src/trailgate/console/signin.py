"""Console sign-in and sign-out.

An IAM user signs in with the account id (or its alias), the user name and the password of the
user's login profile; the account root with the account id (or alias) and the root's own login
profile, which the root sets through the API (`aws iam create-login-profile --password ...`
with root credentials: CreateLoginProfile without UserName is about the caller's own profile).

Each attempt is recorded in CloudTrail as AWS records console sign-ins: eventSource
signin.amazonaws.com, eventName ConsoleLogin, eventType AwsConsoleSignIn, responseElements
{"ConsoleLogin": "Success" | "Failure"}; the password never leaves this module. A name that
does not exist is recorded as "HIDDEN_DUE_TO_SECURITY_REASONS", as AWS does, because people
type their password into the user name field.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from trailgate.auth.principal import Principal
from trailgate.calls import ApiCall
from trailgate.console import sessions
from trailgate.console.web import (
    ConsoleRequest,
    cookie_header,
    html_response,
    redirect,
    render,
)
from trailgate.http import HttpResponse
from trailgate.services import accounts, ids
from trailgate.services.iam import entities, login_profiles
from trailgate.services.iam.passwords import check_password
from trailgate.store import schema

if TYPE_CHECKING:
    from trailgate.runtime import Runtime

FAILED = "Your authentication information is incorrect. Please try again."
HIDDEN_USER = "HIDDEN_DUE_TO_SECURITY_REASONS"
_ACCOUNT_ID = re.compile(r"\d{12}")
_MAX_FIELD = 256


def _safe_next(value: str | None) -> str:
    """Only a path inside the console (never another site) is followed after sign-in."""
    if (
        value
        and value.startswith("/console/")
        and not any(c in value for c in ("\\", "\n", "\r"))
    ):
        return value
    return "/console/home"


def _form_page(
    runtime: Runtime,
    request: ConsoleRequest,
    *,
    root: bool,
    error: str | None = None,
    status: int = 200,
    account: str = "",
    user_name: str = "",
) -> HttpResponse:
    cookie_value, token = sessions.new_signin_nonce(runtime)
    body = render(
        "signin.html",
        {
            "root": root,
            "error": error,
            "csrf_token": token,
            "account": account,
            "user_name": user_name,
            "next": _safe_next(request.query.get("next") or request.form_value("next")),
        },
    )
    cookie = cookie_header(
        sessions.SIGNIN_COOKIE,
        cookie_value,
        secure=request.secure,
        max_age=int(sessions.SIGNIN_NONCE_LIFETIME.total_seconds()),
        path=sessions.COOKIE_PATH,
    )
    return html_response(body, status, [cookie])


def signin_page(runtime: Runtime, request: ConsoleRequest) -> HttpResponse:
    if sessions.load_session(runtime, request.cookies.get(sessions.COOKIE)) is not None:
        return redirect(_safe_next(request.query.get("next")))
    return _form_page(runtime, request, root=request.query.get("as") == "root")


def _resolve_account(runtime: Runtime, text: str) -> accounts.Account | None:
    text = text.strip().lower()
    if not text or len(text) > 63:
        return None
    with runtime.db.read() as conn:
        if _ACCOUNT_ID.fullmatch(text):
            account = accounts.get_account(conn, text)
        else:
            row = conn.execute(
                select(schema.accounts.c.id).where(schema.accounts.c.alias == text)
            ).first()
            account = accounts.get_account(conn, row.id) if row else None
    if account is None or account.status != "ACTIVE":
        return None
    return account


def _record(
    runtime: Runtime,
    request: ConsoleRequest,
    principal: Principal,
    success: bool,
) -> None:
    from trailgate.pipeline import record_call

    call = ApiCall(
        service="signin",
        operation="ConsoleLogin",
        request_id=ids.request_id(),
        event_time=runtime.clock.now(),
        principal=principal,
        access_key_id=None,
        source_ip=request.client_ip,
        user_agent=request.user_agent,
        region=runtime.config.region,
        params=None,
        output={"ConsoleLogin": "Success" if success else "Failure"},
        read_only=False,
        event_type="AwsConsoleSignIn",
    )
    host = request.http.host or "localhost"
    call.trail["additionalEventData"] = {
        "LoginTo": f"{request.http.scheme}://{host}/console/home",
        "MobileVersion": "No",
        "MFAUsed": "No",
    }
    if not success:
        call.trail["errorMessage"] = "Failed authentication"
    record_call(runtime, call)


def _attempt_principal(
    runtime: Runtime, account: accounts.Account, user_name: str | None
) -> tuple[Principal, str | None]:
    """Who the attempt is recorded as, and the user's id (None for the root or no such user)."""
    if user_name is None:
        return Principal.root(account.id), None
    with runtime.db.read() as conn:
        user = entities.find_user(conn, account.id, user_name)
        principal = (
            sessions.principal_for(conn, account.id, "IAMUser", user.id) if user else None
        )
    if user is None or principal is None:
        hidden = Principal(
            kind="IAMUser", account_id=account.id, principal_id=account.id,
            user_name=HIDDEN_USER,
        )
        return hidden, None
    return principal, user.id


def signin_submit(runtime: Runtime, request: ConsoleRequest) -> HttpResponse:
    root = request.field("as") == "root"
    if not sessions.signin_token_ok(
        runtime, request.cookies.get(sessions.SIGNIN_COOKIE), request.field("csrf_token")
    ) or not request.same_origin():
        return _form_page(
            runtime, request, root=root, status=403,
            error="The sign-in form expired or was not sent by this console. Please try again.",
        )
    account_text = request.field("account").strip()[:_MAX_FIELD]
    user_name = None if root else request.field("username").strip()[:_MAX_FIELD]
    password = request.field("password")[:_MAX_FIELD * 4]
    again = {"root": root, "account": account_text, "user_name": user_name or ""}

    account = _resolve_account(runtime, account_text)
    subject = sessions.subject_for(account.id if account else account_text.lower(), user_name)
    locked = sessions.locked_for(runtime, subject)
    if locked > 0:
        if account is not None:
            _record(runtime, request, _attempt_principal(runtime, account, user_name)[0], False)
        wait = int(locked) + 1
        return _form_page(
            runtime, request, status=429,
            error=f"Too many failed sign-in attempts. Try again in {wait} seconds.", **again,
        )
    if account is None or (user_name is not None and not user_name):
        check_password(password, None)  # the same work as a real check
        ok = False
    else:
        with runtime.db.read() as conn:
            ok = login_profiles.verify_password(conn, account.id, user_name, password)
    if account is not None:
        principal, user_id = _attempt_principal(runtime, account, user_name)
        ok = ok and (user_name is None or user_id is not None)
        _record(runtime, request, principal, ok)
    if not ok:
        delay = sessions.record_failure(runtime, subject)
        error = FAILED
        if delay:
            error += f" Too many failed attempts: wait {int(delay.total_seconds())} seconds."
        return _form_page(runtime, request, status=401, error=error, **again)
    assert account is not None
    sessions.clear_failures(runtime, subject)
    if user_id is not None:
        with runtime.db.begin() as conn:
            login_profiles.record_password_use(conn, user_id, runtime.clock.now())
    cookie_value = sessions.create_session(
        runtime, account.id, "Root" if user_name is None else "IAMUser", user_id
    )
    headers = [
        cookie_header(
            sessions.COOKIE, cookie_value, secure=request.secure,
            max_age=int(sessions.SESSION_LIFETIME.total_seconds()), path=sessions.COOKIE_PATH,
        ),
        cookie_header(
            sessions.SIGNIN_COOKIE, "", secure=request.secure, max_age=0,
            path=sessions.COOKIE_PATH,
        ),
    ]
    return redirect(_safe_next(request.field("next")), headers)


def signout(runtime: Runtime, request: ConsoleRequest, session: Any) -> HttpResponse:
    sessions.end_session(runtime, session.token_hash)
    cookie = cookie_header(
        sessions.COOKIE, "", secure=request.secure, max_age=0, path=sessions.COOKIE_PATH
    )
    return redirect("/console/signin", [cookie])
