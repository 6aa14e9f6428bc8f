"""The rest-xml protocol as S3 speaks it: members bound to URI, query string, headers and payload.

Input members are read from wherever the model binds them (`uri`, `querystring`, `header`,
`headers` prefix maps such as `x-amz-meta-`, and the payload: an XML document, a string, or the
streaming object body, which is handed on untouched). Output members are written the same way
back, with S3's namespace, `x-amz-request-id`/`x-amz-id-2`, no body on HEAD, and S3's flat
`<Error>` document for errors. S3 checks only that required members are present here; its other
checks are the S3 service's own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from botocore.model import OperationModel, Shape

from ..errors import AwsError
from ..http import HttpRequest, HttpResponse
from .models import operation_model
from .routing import Route
from .s3help import (
    AWS_CHUNKED_ENCODING,
    DECODED_LENGTH_HEADER,
    PARTIAL_CONTENT_OPERATIONS,
    S3_NAMESPACE,
    TEXT_ROOT_OPERATIONS,
    result_root,
)
from .scalars import WireValueError, read_text, write_text
from .timestamps import ISO8601, RFC822
from .validation import REQUIRED, find_violations
from .xmlcodec import MalformedXml, XmlReader, XmlWriter, element_name, is_located, parse_document

XML_CONTENT_TYPE = "application/xml"
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NO_BODY_STATUSES = frozenset({204, 304})
_HEADER_BREAKS = re.compile(r"[\r\n\x00]")

MALFORMED_XML_MESSAGE = (
    "The XML you provided was not well-formed or did not validate against our published schema"
)


def host_id(request_id: str) -> str:
    """An opaque `x-amz-id-2` / `HostId` derived from the request id."""
    return base64.b64encode(hashlib.sha384(request_id.encode("utf-8")).digest()).decode("ascii")


class RestXmlCodec:
    def __init__(self, service: str = "s3") -> None:
        self.service = service
        self._body_writer = XmlWriter(always_millis=True)
        self._body_reader = XmlReader()

    # --- requests ---------------------------------------------------------------------------

    def body_is_streamed(self, route: Route) -> bool:
        shape = route.operation_model.input_shape
        if shape is None or "payload" not in shape.serialization:
            return False
        payload = shape.members[shape.serialization["payload"]]
        return payload.type_name == "blob" and bool(payload.serialization.get("streaming"))

    def parse(self, request: HttpRequest, route: Route) -> dict[str, Any]:
        shape = route.operation_model.input_shape
        if shape is None:
            return {}
        query = _multi(request.query_items())
        labels = {"Bucket": route.bucket, "Key": route.key}
        parsed: dict[str, Any] = {}
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = str(member.serialization.get("name", name))
            if location == "uri":
                label = labels.get(wire)
                if label is not None:
                    parsed[name] = label
            elif location == "querystring":
                value = _read_query_member(member, wire, query)
                if value is not None:
                    parsed[name] = value
            elif location == "header":
                value = _read_header_member(member, wire, request)
                if value is not None:
                    parsed[name] = value
            elif location == "headers":
                prefix = wire.lower()
                found = {
                    key[len(prefix) :].lower(): value
                    for key, value in request.headers.items()
                    if key.lower().startswith(prefix)
                }
                if found:
                    parsed[name] = found
        _undo_aws_chunked_framing(shape, parsed, request)
        parsed.update(self._read_payload(shape, request))
        self._check(shape, parsed)
        return parsed

    def validate(self, operation: str, params: dict[str, Any]) -> None:
        """Validate an input built in-process exactly as a parsed one."""
        self._check(operation_model(self.service, operation).input_shape, params)

    def _check(self, shape: Any, parsed: dict[str, Any]) -> None:
        if shape is not None and find_violations(shape, parsed, frozenset({REQUIRED})):
            raise _missing_input_error(shape, parsed)

    def _read_payload(self, shape: Shape, request: HttpRequest) -> dict[str, Any]:
        payload_name = shape.serialization.get("payload")
        if payload_name is not None:
            member = shape.members[payload_name]
            if member.type_name == "blob" and member.serialization.get("streaming"):
                # The object body stays a stream; the S3 service consumes it.
                body: Any = request.stream if request.stream is not None else request.body or b""
                return {payload_name: body}
            raw = request.body or b""
            if not raw:
                return {}
            if member.type_name == "blob":
                return {payload_name: raw}
            if member.type_name == "string":
                return {payload_name: raw.decode("utf-8", "replace")}
            return {payload_name: self._read_xml(member, raw)}
        if any(not is_located(member) for member in shape.members.values()) and request.body:
            return self._read_xml(shape, request.body)
        return {}

    def _read_xml(self, shape: Shape, raw: bytes) -> dict[str, Any]:
        try:
            return self._body_reader.structure(shape, parse_document(raw))
        except (MalformedXml, WireValueError) as exc:
            raise AwsError("MalformedXML", MALFORMED_XML_MESSAGE) from exc

    # --- responses --------------------------------------------------------------------------

    def serialize(
        self, route: Route, output: Mapping[str, Any] | None, request_id: str
    ) -> HttpResponse:
        operation = route.operation_model
        output = output or {}
        response = HttpResponse(status=int(operation.http.get("responseCode", 200)))
        response.headers.extend(_request_id_headers(request_id))
        shape = operation.output_shape
        if shape is not None:
            self._write_located(shape, output, response)
            self._write_body(operation, shape, output, response)
            trigger = PARTIAL_CONTENT_OPERATIONS.get(operation.name)
            if trigger and output.get(trigger) and not _has_status_member(shape, output):
                response.status = 206
        if _is_head(operation) or response.status in _NO_BODY_STATUSES:
            response.body = b""
            response.stream = None
        _finish(response)
        return response

    def _write_located(
        self, shape: Shape, output: Mapping[str, Any], response: HttpResponse
    ) -> None:
        for name, member in shape.members.items():
            value = output.get(name)
            if value is None:
                continue
            location = member.serialization.get("location")
            wire = str(member.serialization.get("name", name))
            if location == "header":
                response.headers.append((wire, _header_safe(_header_text(member, value))))
            elif location == "headers":
                for key, item in value.items():
                    response.headers.append((_header_safe(f"{wire}{key}"), _header_safe(str(item))))
            elif location == "statusCode":
                response.status = int(value)

    def _write_body(
        self,
        operation: OperationModel,
        shape: Shape,
        output: Mapping[str, Any],
        response: HttpResponse,
    ) -> None:
        text_root = TEXT_ROOT_OPERATIONS.get(operation.name)
        if text_root is not None:
            response.body = _text_root_document(text_root, output.get(text_root))
            _set_default_header(response, "Content-Type", XML_CONTENT_TYPE)
            return
        payload_name = shape.serialization.get("payload")
        if payload_name is not None:
            member = shape.members[payload_name]
            value = output.get(payload_name)
            if value is None:
                return
            if member.type_name in ("blob", "string"):
                if isinstance(value, str):
                    response.body = value.encode("utf-8")
                elif isinstance(value, bytes | bytearray | memoryview):
                    response.body = bytes(value)
                else:
                    response.stream = value
                return
            root = element_name(member, payload_name)
            response.body = self._body_writer.document(
                root, member, value, namespace=S3_NAMESPACE, declaration=True
            )
            _set_default_header(response, "Content-Type", XML_CONTENT_TYPE)
            return
        if any(not is_located(member) for member in shape.members.values()):
            response.body = self._body_writer.document(
                result_root(operation.name),
                shape,
                output,
                namespace=S3_NAMESPACE,
                declaration=True,
            )
            _set_default_header(response, "Content-Type", XML_CONTENT_TYPE)

    def serialize_error(
        self, error: AwsError, request_id: str, route: Route | str | None = None
    ) -> HttpResponse:
        response = HttpResponse(status=error.status)
        response.headers.extend(_request_id_headers(request_id))
        response.headers.extend(error.headers)
        head = isinstance(route, Route) and _is_head(route.operation_model)
        if not head and error.status not in _NO_BODY_STATUSES:
            parts = [
                _XML_DECLARATION,
                "<Error>",
                f"<Code>{_escape(error.code)}</Code>",
                f"<Message>{_escape(error.message)}</Message>",
            ]
            parts.extend(
                f"<{name}>{_escape(str(value))}</{name}>" for name, value in error.extra.items()
            )
            parts.append(f"<RequestId>{_escape(request_id)}</RequestId>")
            parts.append(f"<HostId>{host_id(request_id)}</HostId>")
            parts.append("</Error>")
            response.body = "".join(parts).encode("utf-8")
            _set_default_header(response, "Content-Type", XML_CONTENT_TYPE)
        _finish(response)
        return response


def _multi(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in items:
        grouped.setdefault(key, []).append(value)
    return grouped


def _read_query_member(member: Shape, wire: str, query: Mapping[str, list[str]]) -> Any:
    if member.type_name == "map":
        # A query map takes every parameter no other member claims; S3 models none today.
        return None
    values = query.get(wire)
    if not values:
        return None
    try:
        if member.type_name == "list":
            return [read_text(member.member, value, name=wire) for value in values]
        return read_text(member, values[0], timestamp_format=ISO8601, name=wire)
    except WireValueError as exc:
        raise _invalid_argument(exc) from exc


def _read_header_member(member: Shape, wire: str, request: HttpRequest) -> Any:
    values = request.headers.get_all(wire)
    if not values:
        return None
    text = ",".join(values)
    try:
        if member.serialization.get("jsonvalue"):
            return json.loads(base64.b64decode(text, validate=True))
        if member.type_name == "list":
            return [read_text(member.member, part.strip(), name=wire) for part in text.split(",")]
        return read_text(member, text, timestamp_format=RFC822, name=wire)
    except WireValueError as exc:
        if member.type_name == "timestamp":
            # HTTP says an unparseable date in a conditional header is ignored.
            return None
        raise _invalid_argument(exc) from exc
    except (ValueError, binascii.Error) as exc:
        raise _invalid_argument(WireValueError("jsonvalue", text, wire)) from exc


def _undo_aws_chunked_framing(shape: Shape, parsed: dict[str, Any], request: HttpRequest) -> None:
    for name, member in shape.members.items():
        if member.serialization.get("location") != "header":
            continue
        wire = str(member.serialization.get("name", name)).lower()
        if wire == "content-length":
            decoded = (request.headers.get(DECODED_LENGTH_HEADER) or "").strip()
            if decoded:
                try:
                    parsed[name] = read_text(member, decoded, name=DECODED_LENGTH_HEADER)
                except WireValueError as exc:
                    raise _invalid_argument(exc) from exc
        elif wire == "content-encoding" and name in parsed:
            codings = [c.strip() for c in str(parsed[name]).split(",")]
            kept = [c for c in codings if c and c.lower() != AWS_CHUNKED_ENCODING]
            if kept:
                parsed[name] = ",".join(kept)
            else:
                del parsed[name]


def _invalid_argument(exc: WireValueError) -> AwsError:
    if exc.type_name in ("integer", "long"):
        message = f"Provided {exc.name} not an integer or within integer range"
    else:
        message = f"Invalid value for {exc.name}"
    return AwsError(
        "InvalidArgument",
        message,
        extra={"ArgumentName": exc.name, "ArgumentValue": str(exc.value)},
    )


def _missing_input_error(shape: Shape, parsed: Mapping[str, Any]) -> AwsError:
    payload_name = shape.serialization.get("payload")
    if payload_name is not None and parsed.get(payload_name) is None:
        return AwsError("MissingRequestBodyError", "Request Body is empty")
    return AwsError("MalformedXML", MALFORMED_XML_MESSAGE)


def _header_text(member: Shape, value: Any) -> str:
    if member.serialization.get("jsonvalue"):
        encoded = json.dumps(value, separators=(",", ":")).encode("utf-8")
        return base64.b64encode(encoded).decode("ascii")
    # S3 writes iso8601 timestamps with milliseconds wherever they appear.
    if member.type_name == "list":
        return ",".join(
            write_text(member.member, item, timestamp_format=RFC822, always_millis=True)
            for item in value
        )
    return write_text(member, value, timestamp_format=RFC822, always_millis=True)


def _header_safe(text: str) -> str:
    # Some header values echo request input (response-content-disposition and friends); a line
    # break there would split the response.
    return _HEADER_BREAKS.sub(" ", text)


def _text_root_document(root: str, value: Any) -> bytes:
    if value:
        element = f'<{root} xmlns="{S3_NAMESPACE}">{_escape(str(value))}</{root}>'
    else:
        element = f'<{root} xmlns="{S3_NAMESPACE}"/>'
    return (_XML_DECLARATION + element).encode("utf-8")


def _request_id_headers(request_id: str) -> list[tuple[str, str]]:
    return [("x-amz-request-id", request_id), ("x-amz-id-2", host_id(request_id))]


def _has_status_member(shape: Shape, output: Mapping[str, Any]) -> bool:
    return any(
        member.serialization.get("location") == "statusCode" and output.get(name) is not None
        for name, member in shape.members.items()
    )


def _is_head(operation: OperationModel) -> bool:
    return str(operation.http.get("method", "")).upper() == "HEAD"


def _set_default_header(response: HttpResponse, name: str, value: str) -> None:
    if response.header(name) is None:
        response.headers.append((name, value))


def _finish(response: HttpResponse) -> None:
    if response.status in _NO_BODY_STATUSES:
        # HTTP forbids Content-Length on 204 and it is meaningless on 304.
        response.headers = [(k, v) for k, v in response.headers if k.lower() != "content-length"]
        return
    # A fixed body's length is known here; a stream's comes from the ContentLength member.
    if response.stream is None and response.header("Content-Length") is None:
        response.headers.append(("Content-Length", str(len(response.body))))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
