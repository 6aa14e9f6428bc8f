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
from .restxml_plan import (
    HEADER,
    PREFIX,
    QUERY,
    URI,
    Binding,
    InputPlan,
    input_plan,
    output_plan,
    present_values,
)
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
        return shape is not None and input_plan(shape).payload_streamed

    def parse(self, request: HttpRequest, route: Route) -> dict[str, Any]:
        shape = route.operation_model.input_shape
        if shape is None:
            return {}
        plan = input_plan(shape)
        present: list[Binding] = list(plan.uri)
        query: dict[str, list[str]] = {}
        if plan.query and request.query_string:
            query = _multi(request.query_items())
            for wire in query:
                present.extend(plan.query.get(wire, ()))
        headers = request.headers
        names = headers.keys_lower()
        for name in names:
            present.extend(plan.headers.get(name, ()))
        for binding in plan.prefixes:
            if any(name.startswith(binding.wire) for name in names):
                present.append(binding)
        present.sort(key=_rank)
        labels = {"Bucket": route.bucket, "Key": route.key}
        parsed: dict[str, Any] = {}
        for binding in present:
            kind = binding.kind
            if kind == HEADER:
                value = _read_header_member(binding.member, binding.wire, request)
            elif kind == QUERY:
                value = _read_query_member(binding.member, binding.wire, query)
            elif kind == URI:
                value = labels.get(binding.wire)
            else:
                prefix = binding.wire
                value = {
                    key[len(prefix) :].lower(): item
                    for key, item in headers.items()
                    if key.lower().startswith(prefix)
                }
            if value is not None:
                parsed[binding.name] = value
        _undo_aws_chunked_framing(plan, parsed, request)
        if plan.payload is not None or plan.body_members:
            parsed.update(self._read_payload(plan, shape, request))
        self._check_parsed(plan, shape, parsed)
        return parsed

    def validate(self, operation: str, params: dict[str, Any]) -> None:
        """Validate an input built in-process exactly as a parsed one."""
        self._check(operation_model(self.service, operation).input_shape, params)

    def _check_parsed(self, plan: InputPlan, shape: Shape, parsed: dict[str, Any]) -> None:
        # Only a missing required member, or one holding members of its own, can fail.
        if all(name in parsed for name in plan.required) and plan.nested.isdisjoint(parsed):
            return
        self._check(shape, parsed)

    def _check(self, shape: Any, parsed: dict[str, Any]) -> None:
        if shape is not None and find_violations(shape, parsed, frozenset({REQUIRED})):
            raise _missing_input_error(shape, parsed)

    def _read_payload(self, plan: InputPlan, shape: Shape, request: HttpRequest) -> dict[str, Any]:
        payload = plan.payload
        if payload is not None:
            member = payload.member
            if plan.payload_streamed:
                # The object body stays a stream; the S3 service consumes it.
                body: Any = request.stream if request.stream is not None else request.body or b""
                return {payload.name: body}
            raw = request.body or b""
            if not raw:
                return {}
            if member.type_name == "blob":
                return {payload.name: raw}
            if member.type_name == "string":
                return {payload.name: raw.decode("utf-8", "replace")}
            return {payload.name: self._read_xml(member, raw)}
        if request.body:
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
        for binding, value in present_values(output_plan(shape), output):
            kind = binding.kind
            if kind == HEADER:
                response.headers.append(
                    (binding.wire, _header_safe(_header_text(binding.member, value)))
                )
            elif kind == PREFIX:
                wire = binding.wire
                for key, item in value.items():
                    response.headers.append((_header_safe(f"{wire}{key}"), _header_safe(str(item))))
            else:
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


def _undo_aws_chunked_framing(
    plan: InputPlan, parsed: dict[str, Any], request: HttpRequest
) -> None:
    length = plan.content_length
    if length is not None:
        decoded = (request.headers.get(DECODED_LENGTH_HEADER) or "").strip()
        if decoded:
            try:
                parsed[length.name] = read_text(length.member, decoded, name=DECODED_LENGTH_HEADER)
            except WireValueError as exc:
                raise _invalid_argument(exc) from exc
    encoding = plan.content_encoding
    if encoding is not None and encoding.name in parsed:
        codings = [c.strip() for c in str(parsed[encoding.name]).split(",")]
        kept = [c for c in codings if c and c.lower() != AWS_CHUNKED_ENCODING]
        if kept:
            parsed[encoding.name] = ",".join(kept)
        else:
            del parsed[encoding.name]


def _rank(binding: Binding) -> int:
    return binding.rank


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
