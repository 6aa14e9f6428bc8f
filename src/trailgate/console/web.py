"""The console's HTTP plumbing: the request as views see it, template rendering, responses with
the console's security headers, and `Page`, through which views call AWS operations as the
signed-in principal.

Every read and write a view makes goes through `Page.call` -> `pipeline.invoke`: the same input
validation, authorization by the policy engine and CloudTrail recording (as AwsConsoleAction)
as a request on the wire. Views never read or write the store themselves.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape

from trailgate.errors import AwsError
from trailgate.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from trailgate.console.sessions import Session
    from trailgate.runtime import Runtime

PACKAGE_DIR = Path(__file__).parent
MAX_FORM_BYTES = 1 << 20

# No scripts at all; styles only from our own stylesheet; forms post only to us.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cache-control", "no-store"),
]


class BadRequest(Exception):
    """A request the console refuses before doing anything (bad form, failed CSRF check)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _format_time(value: Any) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "" if value is None else str(value)


def _pretty_json(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, sort_keys=False, default=str)


def _size(value: Any) -> str:
    try:
        size = int(value)
    except (TypeError, ValueError):
        return ""
    units = ["B", "KB", "MB", "GB", "TB"]
    amount = float(size)
    for unit in units:
        if amount < 1024 or unit == units[-1]:
            return f"{size} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} B"


def _build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(PACKAGE_DIR / "templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["time"] = _format_time
    env.filters["pretty_json"] = _pretty_json
    env.filters["size"] = _size
    env.filters["q"] = lambda value: quote(str(value), safe="")
    env.globals["urlencode"] = urlencode
    return env


ENV = _build_environment()


def _parse_cookies(header: str | None) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in (header or "").split(";"):
        name, eq, value = part.strip().partition("=")
        if eq and name and name not in cookies:
            cookies[name] = value.strip().strip('"')
    return cookies


@dataclass
class ConsoleRequest:
    """One request to the console, as views need it."""

    http: HttpRequest
    path: str  # below /console, starting with "/"
    query: dict[str, str]
    cookies: dict[str, str]
    _form: dict[str, list[str]] | None = None

    @classmethod
    def from_http(cls, request: HttpRequest) -> ConsoleRequest:
        path = request.path[len("/console"):] or "/"
        return cls(
            http=request,
            path=path,
            query=request.query(),
            cookies=_parse_cookies(request.headers.get("cookie")),
        )

    @property
    def method(self) -> str:
        return self.http.method.upper()

    @property
    def secure(self) -> bool:
        return self.http.scheme == "https"

    @property
    def client_ip(self) -> str:
        return self.http.client_ip

    @property
    def user_agent(self) -> str:
        return self.http.headers.get("user-agent", "") or ""

    def form(self) -> dict[str, list[str]]:
        if self._form is None:
            if self.http.body is None:
                raise BadRequest("The form is too large.", 413)
            if len(self.http.body) > MAX_FORM_BYTES:
                raise BadRequest("The form is too large.", 413)
            content_type = (self.http.headers.get("content-type") or "").split(";")[0].strip()
            if content_type != "application/x-www-form-urlencoded":
                raise BadRequest("Forms must be sent as application/x-www-form-urlencoded.", 415)
            try:
                text = self.http.body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadRequest("The form is not UTF-8.") from exc
            self._form = parse_qs(text, keep_blank_values=True)
        return self._form

    def field(self, name: str, default: str = "") -> str:
        values = self.form().get(name)
        return values[0] if values else default

    def form_value(self, name: str) -> str:
        """A form field of a POST; "" for other methods."""
        return self.field(name) if self.method == "POST" else ""

    def fields(self, name: str) -> list[str]:
        return list(self.form().get(name, []))

    def same_origin(self) -> bool:
        """False when the browser says the form came from another origin."""
        origin = self.http.headers.get("origin")
        if origin is None or origin == "null":
            return origin is None
        host = self.http.headers.get("host", "")
        return origin.split("://", 1)[-1] == host


def cookie_header(
    name: str, value: str, *, secure: bool, max_age: int | None, path: str
) -> tuple[str, str]:
    parts = [f"{name}={value}", f"Path={path}", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return ("set-cookie", "; ".join(parts))


def html_response(
    body: str, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> HttpResponse:
    all_headers = [("content-type", "text/html; charset=utf-8"), *SECURITY_HEADERS]
    all_headers += headers or []
    return HttpResponse(status, all_headers, body.encode("utf-8"))


def redirect(location: str, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(
        303, [("location", location), *SECURITY_HEADERS, *(headers or [])], b""
    )


def stream_response(
    body: bytes | AsyncIterator[bytes], headers: list[tuple[str, str]]
) -> HttpResponse:
    all_headers = [*SECURITY_HEADERS, *headers]
    if isinstance(body, bytes | bytearray):
        return HttpResponse(200, all_headers, bytes(body))
    return HttpResponse(200, all_headers, b"", stream=body)


def render(template: str, context: Mapping[str, Any]) -> str:
    return ENV.get_template(template).render(**context)


@dataclass
class CallFailure:
    """An AWS error a view shows in place of what it could not read."""

    code: str
    message: str

    @classmethod
    def of(cls, error: AwsError) -> CallFailure:
        return cls(error.code, error.message or error.code)


@dataclass
class Page:
    """What a signed-in view works with: the request, the session, and `call`."""

    runtime: Runtime
    request: ConsoleRequest
    session: Session
    notices: list[str] = field(default_factory=list)

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run an operation as the signed-in principal; raises its AwsError."""
        from trailgate.pipeline import invoke

        return invoke(
            self.runtime,
            self.session.principal,
            service,
            operation,
            params,
            source_ip=self.request.client_ip,
            user_agent=self.request.user_agent or "trailgate-console",
            event_type="AwsConsoleAction",
        )

    def try_call(
        self, service: str, operation: str, params: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, CallFailure | None]:
        """`call`, with a denial or error returned for the view to show instead."""
        try:
            return self.call(service, operation, params), None
        except AwsError as err:
            return None, CallFailure.of(err)

    def collect(
        self, service: str, operation: str, params: dict[str, Any], key: str, *,
        token_in: str = "Marker", token_out: str = "Marker", limit: int = 1000,
    ) -> list[Any]:
        """Every item of a paginated list (up to `limit`); raises the first AwsError."""
        items: list[Any] = []
        token: str | None = None
        while True:
            page_params = dict(params)
            if token:
                page_params[token_in] = token
            result = self.call(service, operation, page_params)
            items.extend(result.get(key) or [])
            token = result.get(token_out)
            if token_out == "Marker" and not result.get("IsTruncated"):
                token = None
            if not token or len(items) >= limit:
                return items[:limit]

    def render(self, template: str, status: int = 200, **context: Any) -> HttpResponse:
        context.setdefault("notices", self.notices)
        return html_response(render(template, {**self.base_context(), **context}), status)

    def base_context(self) -> dict[str, Any]:
        session = self.session
        return {
            "session": session,
            "principal": session.principal,
            "csrf_token": session.csrf_token,
            "path": self.request.path,
            "message": MESSAGES.get(self.request.query.get("done", "")),
        }


# Results of writes, shown after the redirect that follows them (POST, redirect, GET).
MESSAGES: dict[str, str] = {
    "policy-saved": "The policy was saved.",
    "policy-deleted": "The policy was deleted.",
    "policy-attached": "The policy was attached.",
    "policy-detached": "The policy was detached.",
    "policy-created": "The policy was created.",
    "policy-updated": "A new default version of the policy was saved.",
    "role-created": "The role was created.",
    "role-deleted": "The role was deleted.",
    "trust-saved": "The trust policy was saved.",
    "key-updated": "The access key was updated.",
    "key-deleted": "The access key was deleted.",
    "user-created": "The user was created.",
    "user-deleted": "The user was deleted.",
    "password-set": "The console password was set.",
}


def status_for(error: CallFailure | AwsError) -> int:
    code = error.code
    if code in ("AccessDenied", "AccessDeniedException"):
        return 403
    if code.startswith("NoSuch") or code.endswith("NotFoundException") or code == "NotFound":
        return 404
    return 400


def failure_status(failure: CallFailure | None) -> int:
    """The status of a page whose main content could not be read (200 when it could)."""
    return 200 if failure is None else status_for(failure)
