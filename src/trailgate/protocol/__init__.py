"""AWS wire formats driven by botocore service models: query, rest-xml and json, plus errors.

Public entry points: `route` / `Router` (which service and operation a request is), `codec_for`
(parse input, serialize output and errors for that service) and `error_response`.
"""

from .codec import Codec, codec_for, error_response
from .routing import (
    DEFAULT_S3_BASE_HOSTS,
    Route,
    Router,
    RoutingError,
    credential_scope_service,
    needs_body_for_routing,
    route,
)

__all__ = [
    "DEFAULT_S3_BASE_HOSTS",
    "Codec",
    "Route",
    "Router",
    "RoutingError",
    "codec_for",
    "credential_scope_service",
    "error_response",
    "needs_body_for_routing",
    "route",
]
