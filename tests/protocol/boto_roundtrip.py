"""Round trips through real boto3 clients: botocore builds, signs and later parses the HTTP
messages, trailgate's protocol layer routes, parses and serializes them in between.

A `before-send` handler takes the prepared request, turns it into a `trailgate.http.HttpRequest`,
routes and parses it with our code, and answers with our serialized output (or error) as the
client's HTTP response; nothing is sent over the network.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from trailgate.errors import AwsError
from trailgate.http import Headers, HttpRequest, HttpResponse
from trailgate.protocol import Route, Router, RoutingError, codec_for, error_response

REQUEST_ID = "4442587FB7D0A2F9"


class _RawBody(io.BytesIO):
    """What botocore expects from urllib3: `read(amt)` and `stream()`."""

    def stream(self, amt: int = 1024, decode_content: bool | None = None) -> Iterator[bytes]:
        while True:
            chunk = self.read(amt)
            if not chunk:
                return
            yield chunk


async def _aiter(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _drain(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


def drain(stream: AsyncIterator[bytes]) -> bytes:
    return asyncio.run(_drain(stream))


def stream_of(data: bytes) -> AsyncIterator[bytes]:
    return _aiter(data)


def to_http_request(prepared: AWSPreparedRequest) -> HttpRequest:
    url = urlsplit(prepared.url)
    headers = [("Host", url.netloc)]
    for name, value in prepared.headers.items():
        headers.append((name, value.decode("utf-8") if isinstance(value, bytes) else str(value)))
    body = prepared.body
    if body is None:
        raw = b""
    elif isinstance(body, bytes):
        raw = body
    elif isinstance(body, str):
        raw = body.encode("utf-8")
    else:
        raw = body.read()
    return HttpRequest(
        method=prepared.method,
        raw_path=url.path or "/",
        query_string=url.query,
        headers=Headers(headers),
        body=raw,
        scheme=url.scheme,
    )


def to_aws_response(url: str, response: HttpResponse) -> AWSResponse:
    body = response.body
    if response.stream is not None:
        body = drain(response.stream)
    return AWSResponse(url, response.status, dict(response.headers), _RawBody(body))


@dataclass
class Exchange:
    """What happened to the last request."""

    request: HttpRequest
    route: Route | None = None
    parsed: dict[str, Any] | None = None
    response: HttpResponse | None = None
    failure: AwsError | None = None


@dataclass
class RoundTrip:
    service: str
    endpoint_url: str | None = "http://localhost:4566"
    region: str = "us-east-1"
    addressing_style: str | None = None
    validate_params: bool = True
    # "when_supported" (botocore's default) makes uploads aws-chunked with checksum trailers.
    checksums: str = "when_required"
    router: Router = field(default_factory=Router)

    def __post_init__(self) -> None:
        s3_config: dict[str, Any] = {}
        if self.addressing_style:
            s3_config["addressing_style"] = self.addressing_style
        config = Config(
            s3=s3_config or None,
            retries={"total_max_attempts": 1},
            parameter_validation=self.validate_params,
            request_checksum_calculation=self.checksums,
            response_checksum_validation="when_required",
        )
        self.client = boto3.client(
            self.service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            config=config,
        )
        self.client.meta.events.register("before-send", self._before_send)
        self._output: Mapping[str, Any] | None = None
        self._error: AwsError | None = None
        self.last: Exchange | None = None

    def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        output: Mapping[str, Any] | None = None,
        *,
        error: AwsError | None = None,
    ) -> Any:
        """Call client.<method>(**params); the server side answers with `output` or `error`."""
        self._output = output
        self._error = error
        return getattr(self.client, method)(**(params or {}))

    def _before_send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        http = to_http_request(request)
        exchange = Exchange(request=http)
        self.last = exchange
        try:
            route = self.router.route(http)
        except RoutingError as exc:
            exchange.failure = exc
            exchange.response = error_response(exc, REQUEST_ID)
            return to_aws_response(request.url, exchange.response)
        exchange.route = route
        codec = codec_for(route.service)
        if codec.body_is_streamed(route):
            http = replace(http, body=None, stream=stream_of(http.body or b""))
            exchange.request = http
        try:
            exchange.parsed = codec.parse(http, route)
        except AwsError as exc:
            exchange.failure = exc
            exchange.response = codec.serialize_error(exc, REQUEST_ID, route)
            return to_aws_response(request.url, exchange.response)
        if self._error is not None:
            exchange.response = codec.serialize_error(self._error, REQUEST_ID, route)
        else:
            exchange.response = codec.serialize(route, self._output, REQUEST_ID)
        return to_aws_response(request.url, exchange.response)


def without_metadata(result: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in result.items() if key != "ResponseMetadata"}


def manual_request(
    method: str,
    path: str,
    *,
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes | None = b"",
    host: str = "localhost:4566",
) -> HttpRequest:
    """A request built by hand, for wire shapes no SDK sends."""
    return HttpRequest(
        method=method,
        raw_path=path,
        query_string=query,
        headers=Headers([("Host", host), *(headers or [])]),
        body=body,
    )
