"""One interface over the three wire protocols, and the codec each service speaks.

The pipeline calls `codec_for(route.service)` and then only `parse`, `serialize` and
`serialize_error`; nothing outside this package knows which protocol a service uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..errors import AwsError
from ..http import HttpRequest, HttpResponse
from .awsjson import JsonCodec
from .models import SERVICE_NAMES, protocol_of
from .query import QueryCodec
from .restxml import RestXmlCodec
from .routing import Route, RoutingError


class Codec(Protocol):
    service: str

    def body_is_streamed(self, route: Route) -> bool:
        """True when the operation's input is the raw body stream (PutObject, UploadPart).

        For every other operation the server must read the whole body into `request.body`
        before calling `parse`.
        """
        ...

    def parse(self, request: HttpRequest, route: Route) -> dict[str, Any]:
        """The operation's input, shaped like the model's input shape; raises AwsError."""
        ...

    def validate(self, operation: str, params: dict[str, Any]) -> None:
        """Check an input built in-process (not parsed from a request) against the model."""
        ...

    def serialize(
        self, route: Route, output: Mapping[str, Any] | None, request_id: str
    ) -> HttpResponse:
        """The success response for `output` (shaped like the model's output shape)."""
        ...

    def serialize_error(
        self, error: AwsError, request_id: str, route: Route | str | None = None
    ) -> HttpResponse:
        """The error response the service's clients expect for `error`."""
        ...


_codecs: dict[str, Codec] = {}


def codec_for(service: str) -> Codec:
    codec = _codecs.get(service)
    if codec is None:
        if service not in SERVICE_NAMES:
            raise KeyError(f"trailgate does not speak the {service!r} service")
        protocol = protocol_of(service)
        if protocol == "query":
            codec = QueryCodec(service)
        elif protocol == "json":
            codec = JsonCodec(service)
        elif protocol == "rest-xml":
            codec = RestXmlCodec(service)
        else:
            raise KeyError(f"unsupported protocol {protocol!r} for {service!r}")
        _codecs[service] = codec
    return codec


def error_response(
    error: AwsError, request_id: str, route: Route | str | None = None
) -> HttpResponse:
    """Serialize `error` for a route, a service name, or (when routing failed) the service the
    RoutingError names."""
    if isinstance(route, Route):
        service = route.service
    elif route is not None:
        service = route
    elif isinstance(error, RoutingError):
        service = error.service
    else:
        raise ValueError("error_response needs a route or a service name")
    return codec_for(service).serialize_error(error, request_id, route)
