"""The web console: `handle(runtime, request)` answers every request under /console.

The server calls it (in a worker thread) for paths under /console. Public are only the
sign-in form and the stylesheet; every other page needs a live session, and every POST also
needs the session's CSRF token and, when the browser sends one, a same-origin Origin header.
Views run their reads and writes as the signed-in principal through `pipeline.invoke`, so a
page shows and does only what that principal's policies allow; a denial shows AWS's message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from trailgate.console import (
    cloudtrail,
    iam_policies,
    iam_roles,
    iam_users,
    s3,
    sessions,
    signin,
    simulator,
)
from trailgate.console.web import (
    PACKAGE_DIR,
    SECURITY_HEADERS,
    BadRequest,
    ConsoleRequest,
    Page,
    html_response,
    redirect,
    render,
    status_for,
)
from trailgate.errors import AwsError
from trailgate.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from trailgate.runtime import Runtime

log = logging.getLogger("trailgate.console")

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    view: View


def _home(page: Page) -> HttpResponse:
    identity, failure = page.try_call("sts", "GetCallerIdentity", {})
    return page.render("home.html", identity=identity, failure=failure)


def _signout(page: Page) -> HttpResponse:
    return signin.signout(page.runtime, page.request, page.session)


def _routes() -> list[Route]:
    table: list[tuple[str, str, View]] = [
        ("GET", r"/home", _home),
        ("POST", r"/signout", _signout),
        *iam_users.ROUTES,
        *iam_policies.ROUTES,
        *iam_roles.ROUTES,
        *s3.ROUTES,
        *cloudtrail.ROUTES,
        *simulator.ROUTES,
    ]
    return [Route(method, re.compile(pattern), view) for method, pattern, view in table]


ROUTES = _routes()

_STATIC = {"console.css": "text/css; charset=utf-8"}


def _static(name: str) -> HttpResponse:
    content_type = _STATIC.get(name)
    if content_type is None:
        return _not_found()
    body = (PACKAGE_DIR / "static" / name).read_bytes()
    headers = [("content-type", content_type), ("cache-control", "max-age=300")]
    headers += [h for h in SECURITY_HEADERS if h[0] != "cache-control"]
    return HttpResponse(200, headers, body)


def _not_found() -> HttpResponse:
    return html_response(render("not_found.html", {}), 404)


def _error_page(page: Page | None, title: str, message: str, status: int) -> HttpResponse:
    if page is not None:
        return page.render("error.html", status, title=title, error_message=message)
    return html_response(
        render("error.html", {"title": title, "error_message": message}), status
    )


def handle(runtime: Runtime, request: HttpRequest) -> HttpResponse:
    """Answer one console request (blocking: run it off the event loop)."""
    try:
        return _handle(runtime, ConsoleRequest.from_http(request))
    except Exception:
        log.exception("console error on %s %s", request.method, request.path)
        return html_response(
            render("error.html", {"title": "Something went wrong",
                                  "error_message": "The console could not answer."}),
            500,
        )


def _handle(runtime: Runtime, request: ConsoleRequest) -> HttpResponse:
    path = request.path
    method = "GET" if request.method == "HEAD" else request.method
    if path.startswith("/static/") and method == "GET":
        return _static(path[len("/static/"):])
    try:
        if path == "/signin":
            if method == "GET":
                return signin.signin_page(runtime, request)
            if method == "POST":
                return signin.signin_submit(runtime, request)
            return _error_page(None, "Method not allowed", "Use GET or POST.", 405)
        session = sessions.load_session(runtime, request.cookies.get(sessions.COOKIE))
        if session is None:
            if method == "GET":
                target = "/console/signin"
                if path not in ("/", "/home"):
                    wanted = "/console" + path
                    if request.http.query_string:
                        wanted += "?" + request.http.query_string
                    target += "?next=" + quote(wanted, safe="")
                return redirect(target)
            return _error_page(None, "Signed out", "Your session has ended. Sign in again.", 401)
        page = Page(runtime, request, session)
        if method == "POST" and not (
            request.same_origin() and session.csrf_ok(request.field("csrf_token"))
        ):
            return _error_page(
                page, "Request refused",
                "The form was not sent by this console session (CSRF check failed).", 403,
            )
        if path in ("/", ""):
            return redirect("/console/home")
        allowed_methods = set()
        for route in ROUTES:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if route.method != method:
                allowed_methods.add(route.method)
                continue
            try:
                return route.view(page, **match.groupdict())
            except AwsError as err:
                return _error_page(page, err.code, err.message or err.code, status_for(err))
        if allowed_methods:
            return _error_page(page, "Method not allowed", "Not here.", 405)
        return page.render("not_found.html", 404)
    except BadRequest as bad:
        return _error_page(None, "Bad request", bad.message, bad.status)
