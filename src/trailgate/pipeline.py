"""The request pipeline, one way through: route -> authenticate -> parse -> authorize -> operation
-> serialise. Every AWS error raised on the way is serialised in the service's own format; any
other exception becomes a 500 without details (they go to the server log, never to the client).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from trailgate import authorization
from trailgate.auth import authenticate
from trailgate.auth.presented import presented_access_key_id
from trailgate.auth.principal import Principal
from trailgate.calls import ApiCall
from trailgate.errors import AwsError
from trailgate.http import HttpRequest, HttpResponse
from trailgate.protocol.codec import codec_for, error_response
from trailgate.protocol.routing import Route, Router
from trailgate.runtime import Runtime
from trailgate.services import ids, registry
from trailgate.services.credentials import resolver_for
from trailgate.services.registry import CallContext
from trailgate.services.s3.bodies import ROW_BODY_LIMIT

log = logging.getLogger("trailgate.pipeline")

_routers: dict[tuple[str, ...], Router] = {}


def _router(runtime: Runtime) -> Router:
    suffixes = runtime.config.s3_host_suffixes
    router = _routers.get(suffixes)
    if router is None:
        router = _routers[suffixes] = Router(suffixes)
    return router


def _load_services() -> None:
    # Importing a service package registers its operations.
    from trailgate.services import cloudtrail, iam, organizations, s3, sts  # noqa: F401


_load_services()


def record_call(runtime: Runtime, call: ApiCall) -> None:
    """Hand the finished call to the CloudTrail recorder, which also commits the call's own
    `writes` (with its events, in one transaction)."""
    if call.error is not None:
        call.writes.clear()  # a failed call stores nothing
    if runtime.recorder is not None:
        runtime.recorder.record(call)
    elif call.writes:
        raise RuntimeError("a call with writes needs the runtime's recorder to commit them")


def _unknown_operation(route: Route) -> AwsError:
    if route.service == "s3":
        return AwsError(
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            501,
        )
    if route.service in ("iam", "sts"):
        return AwsError(
            "InvalidAction", f"The action {route.operation} is not valid for this web service.", 400
        )
    return AwsError("UnknownOperationException", "", 400)


def _internal_error(service: str) -> AwsError:
    if service == "s3":
        return AwsError(
            "InternalError", "We encountered an internal error. Please try again.", 500, False
        )
    if service in ("iam", "sts"):
        return AwsError(
            "ServiceFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
            500,
            False,
        )
    return AwsError("InternalFailure", "The request processing has failed.", 500, False)


def route_request(runtime: Runtime, request: HttpRequest) -> Route | AwsError:
    """The request's route, or the routing error to answer with."""
    try:
        return _router(runtime).route(request)
    except AwsError as err:
        return err


def may_run_on_loop(route: Route | AwsError, request: HttpRequest) -> bool:
    """Whether serving the request is short, non-blocking work the event loop may do itself:
    everything but streamed bodies, S3 writes (blob files fsynced on disk) and operations that
    declare slow CPU work (`blocking`, password hashing). A PutObject whose body is kept in its
    object row (at most ROW_BODY_LIMIT bytes) writes no file, so it is short too."""
    if request.stream is not None:
        return False
    if isinstance(route, AwsError):
        return True
    if route.service == "s3":
        if route.operation == "PutObject":
            return request.body is not None and len(request.body) <= ROW_BODY_LIMIT
        return request.method in ("GET", "HEAD")
    spec = registry.lookup(route.service, route.operation)
    return spec is None or not spec.blocking


def handle(
    runtime: Runtime, request: HttpRequest, route: Route | AwsError | None = None
) -> HttpResponse:
    request_id = ids.request_id()
    now = runtime.clock.now()
    if route is None:
        route = route_request(runtime, request)
    if isinstance(route, AwsError):
        return error_response(route, request_id, getattr(route, "service", "s3"))
    codec = codec_for(route.service)
    call = ApiCall(
        service=route.service,
        operation=route.operation,
        request_id=request_id,
        event_time=now,
        principal=None,
        access_key_id=None,
        source_ip=request.client_ip,
        user_agent=request.headers.get("user-agent", "") or "",
        region=runtime.config.region,
        params=None,
        bucket=route.bucket,
        key=route.key,
    )
    try:
        output = _call(runtime, request, route, call)
        response = codec.serialize(route, output, request_id)
        call.output = output
    except AwsError as err:
        call.error = err
        if call.access_key_id is None:
            # Authentication failed: CloudTrail attributes the attempt to the key's account.
            call.access_key_id = presented_access_key_id(request)
        response = codec.serialize_error(err, request_id, route)
    except Exception:
        log.exception("internal error in %s.%s", route.service, route.operation)
        call.error = _internal_error(route.service)
        response = codec.serialize_error(call.error, request_id, route)
    # Recorded (durably queued) before the response goes out: an acknowledged call is never
    # missing from the trail.
    record_call(runtime, call)
    return response


def unacknowledged(request: HttpRequest, route: Route | AwsError) -> HttpResponse:
    """The answer when a call's writes could not be made durable (a failed fsync): the
    service's internal error, so the client does not take the call as done."""
    service = route.service if isinstance(route, Route) else getattr(route, "service", "s3")
    err = _internal_error(service)
    if isinstance(route, Route):
        return codec_for(service).serialize_error(err, ids.request_id(), route)
    return error_response(err, ids.request_id(), service)


def _call(runtime: Runtime, request: HttpRequest, route: Route, call: ApiCall) -> dict[str, Any]:
    now = call.event_time
    request_id = call.request_id
    virtual_bucket = route.bucket if route.addressing_style == "virtual" else None
    auth = authenticate(
        request,
        resolver_for(runtime),
        now=now,
        service_hint=route.service,
        virtual_host_bucket=virtual_bucket,
        require_auth=route.service != "s3",
    )
    principal = auth.principal
    call.principal = principal
    call.access_key_id = auth.access_key_id
    if auth.region:
        call.region = auth.region
    spec = registry.lookup(route.service, route.operation)
    if spec is None:
        raise _unknown_operation(route)
    call.read_only = spec.read_only
    params = codec_for(route.service).parse(request, route)
    call.params = params
    ctx = CallContext(
        runtime=runtime,
        principal=principal,
        request_id=request_id,
        now=now,
        region=auth.region or runtime.config.region,
        source_ip=request.client_ip,
        user_agent=request.headers.get("user-agent", "") or "",
        secure_transport=request.scheme == "https",
        auth=auth,
        request=request,
        trail=call.trail,
        writes=call.writes,
    )
    authorize(spec, ctx, params)
    return spec.func(ctx, params)


def authorize(
    spec: registry.OperationSpec,
    ctx: CallContext,
    params: dict[str, Any],
    extra_context: Mapping[str, Any] | None = None,
) -> None:
    """Answer every check the operation declares with the policy engine; raise on a denial.

    `extra_context` adds condition keys to every check (aws:SourceArn for service principals).
    Per-item checks (DeleteObjects) only record their outcome in `ctx.item_decisions`.
    """
    if spec.authorize is None:
        return
    for check in spec.authorize(ctx, params):
        if extra_context:
            check = replace(check, context={**check.context, **extra_context})
        restricted = authorization.session_token_restriction(ctx.principal, check.action)
        if restricted is not None:
            raise restricted
        result = authorization.evaluate_check(ctx, check)
        if spec.per_item and check.item is not None:
            ctx.item_decisions[check.item] = result.allowed
        elif not result.allowed:
            raise authorization.access_denied(spec.service, result)


def invoke(
    runtime: Runtime,
    principal: Principal,
    service: str,
    operation: str,
    params: dict[str, Any],
    *,
    source_ip: str = "127.0.0.1",
    user_agent: str = "trailgate",
    extra_context: Mapping[str, Any] | None = None,
    record: bool = True,
    event_type: str = "AwsApiCall",
) -> dict[str, Any]:
    """Run one operation in-process as `principal` (the console, service principals), with the
    same input validation, authorization and CloudTrail recording as a request on the wire.
    Raises the AwsError a client would have received."""
    spec = registry.lookup(service, operation)
    call = ApiCall(
        service=service,
        operation=operation,
        request_id=ids.request_id(),
        event_time=runtime.clock.now(),
        principal=principal,
        access_key_id=principal.access_key_id,
        source_ip=source_ip,
        user_agent=user_agent,
        region=runtime.config.region,
        params=params,
        read_only=spec.read_only if spec else False,
        event_type=event_type,
        bucket=params.get("Bucket") if service == "s3" else None,
        key=params.get("Key") if service == "s3" else None,
    )
    try:
        if spec is None:
            raise AwsError("InvalidAction", f"{service}:{operation} is not supported.", 400)
        codec_for(service).validate(operation, params)
        ctx = CallContext(
            runtime=runtime,
            principal=principal,
            request_id=call.request_id,
            now=call.event_time,
            region=runtime.config.region,
            source_ip=source_ip,
            user_agent=user_agent,
            secure_transport=True,
            trail=call.trail,
        )
        authorize(spec, ctx, params, extra_context)
        call.output = spec.func(ctx, params)
        return call.output
    except AwsError as err:
        call.error = err
        raise
    except Exception:
        log.exception("internal error in %s.%s (in-process)", service, operation)
        call.error = _internal_error(service)
        raise call.error from None
    finally:
        if record:
            record_call(runtime, call)
