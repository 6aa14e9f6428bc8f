"""Which service and operation a request is for, decided from the request alone.

In order: `X-Amz-Target` (json protocols: CloudTrail, Organizations); an `Action` parameter in the
query string or form body (query protocol: IAM or STS, told apart by the SigV4 credential scope,
then the Host, then which model has the action); otherwise S3, by method, path, sub-resources and
headers matched against the model's URI templates, with path-style or virtual-hosted addressing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from urllib.parse import parse_qsl

from botocore.model import OperationModel

from ..errors import AwsError
from ..http import HttpRequest
from .models import has_operation, operation_model, service_model
from .s3routes import BUCKET_LEVEL, OBJECT_LEVEL, SERVICE_LEVEL, S3RouteTable

QUERY_SERVICES: tuple[str, ...] = ("iam", "sts")
JSON_SERVICES: tuple[str, ...] = ("cloudtrail", "organizations")

# Host suffixes that carry the bucket as their first labels (virtual-hosted style). `*` matches
# any run of characters, dots included.
DEFAULT_S3_BASE_HOSTS: tuple[str, ...] = (
    "s3.amazonaws.com",
    "s3.*.amazonaws.com",
    "s3-*.amazonaws.com",
    "s3.*",
    "localhost",
)

PATH_STYLE = "path"
VIRTUAL_STYLE = "virtual"

_SCOPE_IN_AUTHORIZATION = re.compile(r"Credential=([^,\s]+)")
_AWS_HOST = re.compile(r"(iam|sts)(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?")
_FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Route:
    """The operation a request is for; for S3 also the bucket, key and addressing style."""

    service: str
    operation: str
    bucket: str | None = None
    key: str | None = None
    addressing_style: str | None = None

    @property
    def operation_model(self) -> OperationModel:
        return operation_model(self.service, self.operation)


@dataclass
class RoutingError(AwsError):
    """A request no operation matches; `service` says whose error format to answer in."""

    service: str = "s3"


class Router:
    """Routes requests; `s3_base_hosts` lists the host suffixes of virtual-hosted S3 addressing."""

    def __init__(self, s3_base_hosts: Sequence[str] = DEFAULT_S3_BASE_HOSTS) -> None:
        self._s3_base_hosts = tuple(host.lower().strip(".") for host in s3_base_hosts)
        self._s3_routes = S3RouteTable(service_model("s3"))
        self._json_targets = _json_target_prefixes()

    def route(self, request: HttpRequest) -> Route:
        target = request.headers.get("x-amz-target")
        if target:
            return self._route_json(target, request)
        params = query_parameters(request)
        action = _first(params, "Action")
        scope = credential_scope_service(request, params)
        # Query-protocol requests go to "/"; elsewhere an `Action` parameter is only believed
        # when the request was signed for IAM or STS (S3 keys may carry any query string).
        if action is not None and (request.path in ("", "/") or scope in QUERY_SERVICES):
            return _route_query(action, _first(params, "Version"), request, params)
        if scope in QUERY_SERVICES:
            raise RoutingError("MissingAction", "Missing Action", service=scope)
        if scope in JSON_SERVICES:
            raise RoutingError(
                "UnknownOperationException", "Missing X-Amz-Target header", service=scope
            )
        return self._route_s3(request)

    def s3_bucket_from_host(self, host: str) -> str | None:
        """The bucket named by a virtual-hosted-style Host header, or None for path style."""
        return bucket_from_host(host, self._s3_base_hosts)

    def _route_json(self, target: str, request: HttpRequest) -> Route:
        prefix, _, operation = target.rpartition(".")
        service = self._json_targets.get(prefix)
        if service is None or not has_operation(service, operation):
            scope = credential_scope_service(request, query_parameters(request))
            fallback = service or (scope if scope in JSON_SERVICES else JSON_SERVICES[0])
            raise RoutingError(
                "UnknownOperationException",
                f"Unknown operation {target}",
                service=fallback,
            )
        return Route(service, operation)

    def _route_s3(self, request: HttpRequest) -> Route:
        bucket = self.s3_bucket_from_host(request.host)
        path = request.path
        if bucket is not None:
            style = VIRTUAL_STYLE
            key = path[1:] if path.startswith("/") else path
        else:
            style = PATH_STYLE
            bucket_part, _, key = (path[1:] if path.startswith("/") else path).partition("/")
            bucket = bucket_part or None
        level = SERVICE_LEVEL if bucket is None else OBJECT_LEVEL if key else BUCKET_LEVEL
        query = dict(request.query_items())
        operation = self._s3_routes.find(request.method, level, query, request.headers)
        if operation is None:
            raise RoutingError(
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                status=405,
                extra={"Method": request.method.upper(), "ResourceType": level.upper()},
                service="s3",
            )
        return Route("s3", operation, bucket=bucket, key=key or None, addressing_style=style)


_default_router: Router | None = None


def route(request: HttpRequest, *, s3_base_hosts: Sequence[str] | None = None) -> Route:
    """Route with the default S3 host suffixes, or with `s3_base_hosts` when given."""
    global _default_router
    if s3_base_hosts is not None:
        return Router(s3_base_hosts).route(request)
    if _default_router is None:
        _default_router = Router()
    return _default_router.route(request)


def needs_body_for_routing(request: HttpRequest) -> bool:
    """True when the Action may be in a form body, which the server must read before routing."""
    return request.method.upper() == "POST" and _is_form(request)


def query_parameters(request: HttpRequest) -> list[tuple[str, str]]:
    """Query-string parameters followed by form-body parameters (the query protocol's inputs)."""
    params = request.query_items()
    body = request.body
    if needs_body_for_routing(request) and body:
        cached = request.form_cache
        if cached is None or cached[0] is not body:
            form = tuple(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            cached = request.form_cache = (body, form)
        params.extend(cached[1])
    return params


def credential_scope_service(
    request: HttpRequest, params: list[tuple[str, str]] | None = None
) -> str | None:
    """The service named in the SigV4 credential scope (`AKID/date/region/SERVICE/aws4_request`)."""
    credential = None
    authorization = request.headers.get("authorization", "") or ""
    if authorization.startswith("AWS4-"):
        match = _SCOPE_IN_AUTHORIZATION.search(authorization)
        if match:
            credential = match.group(1)
    if credential is None:
        credential = _first(
            params if params is not None else request.query_items(), "X-Amz-Credential"
        )
    if not credential:
        return None
    parts = credential.split("/")
    return parts[-2] if len(parts) >= 5 else None


@lru_cache(maxsize=1024)
def _bucket_from_host(host: str, base_hosts: tuple[str, ...]) -> str | None:
    name = _hostname(host)
    labels = name.split(".")
    # Longest suffix first, so `bucket.s3.localhost` finds `s3.*` before `localhost`.
    for index in range(1, len(labels)):
        suffix = ".".join(labels[index:])
        if any(fnmatchcase(suffix, pattern) for pattern in base_hosts):
            return ".".join(labels[:index])
    return None


def bucket_from_host(host: str, base_hosts: Sequence[str]) -> str | None:
    # Cached: a server sees few distinct Host values, and matching patterns costs more.
    return _bucket_from_host(host, tuple(base_hosts))


def _route_query(
    action: str, version: str | None, request: HttpRequest, params: list[tuple[str, str]]
) -> Route:
    service = credential_scope_service(request, params)
    if service not in QUERY_SERVICES:
        # boto 2 derives the scope from the host (service "127" for 127.0.0.1), so an unknown
        # scope says nothing; the Host or the action name decides instead.
        service = _service_from_host(request.host)
    if service is None:
        service = next((s for s in QUERY_SERVICES if has_operation(s, action)), QUERY_SERVICES[0])
    api_version = service_model(service).api_version
    if not has_operation(service, action) or (version and version != api_version):
        raise RoutingError(
            "InvalidAction",
            f"Could not find operation {action} for version {version or api_version}",
            service=service,
        )
    return Route(service, action)


def _service_from_host(host: str) -> str | None:
    match = _AWS_HOST.fullmatch(_hostname(host))
    return match.group(1) if match else None


def _hostname(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _json_target_prefixes() -> dict[str, str]:
    # botocore sends the full prefix (com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101);
    # older SDKs and the CLI v1 era sent only its last segment (CloudTrail_20131101).
    prefixes: dict[str, str] = {}
    for service in JSON_SERVICES:
        prefix = str(service_model(service).metadata["targetPrefix"])
        prefixes[prefix] = service
        prefixes[prefix.rsplit(".", 1)[-1]] = service
    return prefixes


def _first(params: list[tuple[str, str]], name: str) -> str | None:
    for key, value in params:
        if key == name:
            return value
    return None


def _is_form(request: HttpRequest) -> bool:
    content_type = (request.headers.get("content-type", "") or "").lower()
    return content_type.split(";", 1)[0].strip() == _FORM_CONTENT_TYPE
