"""The AWS query protocol (IAM, STS): form parameters in, XML documents out.

Inputs arrive as flat `Name.member.N.Field=value` pairs in the query string or a form body; they
are rebuilt into the operation's input shape and validated the way IAM and STS do (every model
constraint, reported as `ValidationError`). Parameters the model does not know are ignored, as AWS
does. Responses are `<OpResponse><OpResult>...</OpResult><ResponseMetadata>` documents and errors
`<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from botocore.model import Shape

from ..errors import AwsError
from ..http import HttpRequest, HttpResponse
from .models import operation_model, service_model
from .routing import Route, query_parameters
from .scalars import WireValueError, read_text
from .validation import ALL_CHECKS, find_violations, member_path, validation_message
from .xmlcodec import XmlWriter, element_name

CONTENT_TYPE = "text/xml"
REQUEST_ID_HEADER = "x-amzn-RequestId"

# IAM returns every policy document URL-encoded (botocore's `json_decode_policies` undoes it);
# the model marks those strings with this shape name.
_IAM_POLICY_DOCUMENT_SHAPE = "policyDocumentType"


class _Node:
    """One dotted segment of the flat parameter names, e.g. `Tags` in `Tags.member.1.Key`."""

    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, _Node] = {}


_MISSING = object()
# AWS list indexes are small; longer digit runs are not indexes (and int() refuses huge ones).
_MAX_INDEX_DIGITS = 9


class QueryCodec:
    def __init__(self, service: str) -> None:
        self.service = service
        self._namespace = str(service_model(service).metadata["xmlNamespace"])
        hook = _url_encode_policy_documents if service == "iam" else None
        self._writer = XmlWriter(string_hook=hook)

    # --- requests ---------------------------------------------------------------------------

    def body_is_streamed(self, route: Route) -> bool:
        return False

    def parse(self, request: HttpRequest, route: Route) -> dict[str, Any]:
        shape = route.operation_model.input_shape
        if shape is None:
            return {}
        tree = _tree(query_parameters(request))
        try:
            parsed = self._read_structure(shape, tree, "")
        except WireValueError as exc:
            raise AwsError(
                "ValidationError",
                validation_message_for_type(exc),
            ) from exc
        self._check(shape, parsed)
        return parsed

    def validate(self, operation: str, params: dict[str, Any]) -> None:
        """Validate an input built in-process (the console) exactly as a parsed one."""
        self._check(operation_model(self.service, operation).input_shape, params)

    def _check(self, shape: Any, parsed: dict[str, Any]) -> None:
        violations = find_violations(shape, parsed, ALL_CHECKS)
        if violations:
            raise AwsError("ValidationError", validation_message(violations))

    def _read_structure(self, shape: Shape, node: _Node, path: str) -> dict[str, Any]:
        parsed: dict[str, Any] = {}
        for name, member in shape.members.items():
            child = node.children.get(element_name(member, name))
            if child is None:
                continue
            value = self._read(member, child, member_path(path, name))
            if value is not _MISSING:
                parsed[name] = value
        return parsed

    def _read(self, shape: Shape, node: _Node, path: str) -> Any:
        type_name = shape.type_name
        if type_name == "structure":
            return self._read_structure(shape, node, path)
        if type_name == "list":
            if shape.serialization.get("flattened"):
                container: _Node | None = node
            else:
                container = node.children.get(str(shape.member.serialization.get("name", "member")))
            if container is None:
                # `Tags=` (an explicitly empty list, as botocore sends it) or no items at all.
                return []
            items = [
                self._read(shape.member, child, f"{path}.{index}.member")
                for index, child in _indexed(container)
            ]
            return [item for item in items if item is not _MISSING]
        if type_name == "map":
            return self._read_map(shape, node, path)
        if node.value is None:
            return _MISSING
        return read_text(shape, node.value, name=path)

    def _read_map(self, shape: Shape, node: _Node, path: str) -> dict[Any, Any]:
        container = node if shape.serialization.get("flattened") else node.children.get("entry")
        if container is None:
            return {}
        key_name = str(shape.key.serialization.get("name", "key"))
        value_name = str(shape.value.serialization.get("name", "value"))
        parsed: dict[Any, Any] = {}
        for index, entry in _indexed(container):
            key_node = entry.children.get(key_name)
            if key_node is None or key_node.value is None:
                continue
            key = read_text(shape.key, key_node.value, name=f"{path}.{index}.key")
            value_node = entry.children.get(value_name)
            value = (
                _MISSING
                if value_node is None
                else self._read(shape.value, value_node, f"{path}.{index}.value")
            )
            parsed[key] = None if value is _MISSING else value
        return parsed

    # --- responses --------------------------------------------------------------------------

    def serialize(
        self, route: Route, output: Mapping[str, Any] | None, request_id: str
    ) -> HttpResponse:
        operation = route.operation_model
        shape = operation.output_shape
        out: list[str] = [f'<{operation.name}Response xmlns="{self._namespace}">']
        if shape is not None:
            wrapper = str(shape.serialization.get("resultWrapper", f"{operation.name}Result"))
            self._writer.structure(out, wrapper, shape, output or {})
        out.append(_response_metadata(request_id))
        out.append(f"</{operation.name}Response>")
        return _xml_response(200, "".join(out), request_id)

    def serialize_error(
        self, error: AwsError, request_id: str, route: Route | str | None = None
    ) -> HttpResponse:
        fault = "Sender" if error.sender_fault else "Receiver"
        parts = [
            f'<ErrorResponse xmlns="{self._namespace}">',
            "<Error>",
            f"<Type>{fault}</Type>",
            f"<Code>{_escape(error.code)}</Code>",
            f"<Message>{_escape(error.message)}</Message>",
        ]
        parts.extend(
            f"<{name}>{_escape(str(value))}</{name}>" for name, value in error.extra.items()
        )
        parts.append("</Error>")
        parts.append(f"<RequestId>{_escape(request_id)}</RequestId>")
        parts.append("</ErrorResponse>")
        response = _xml_response(error.status, "".join(parts), request_id)
        response.headers.extend(error.headers)
        return response


def validation_message_for_type(exc: WireValueError) -> str:
    expected = {
        "integer": "Member must be an integer",
        "long": "Member must be an integer",
        "boolean": "Member must be a boolean (true or false)",
        "timestamp": "Member must be a timestamp",
        "float": "Member must be a number",
        "double": "Member must be a number",
        "blob": "Member must be base64-encoded binary data",
    }.get(exc.type_name, f"Member must be a valid {exc.type_name}")
    return (
        f"1 validation error detected: Value '{exc.value}' at '{exc.name}' failed to satisfy "
        f"constraint: {expected}"
    )


def _tree(params: list[tuple[str, str]]) -> _Node:
    root = _Node()
    for key, value in params:
        node = root
        for part in key.split("."):
            node = node.children.setdefault(part, _Node())
        if node.value is None:
            node.value = value
    return root


def _indexed(container: _Node) -> list[tuple[int, _Node]]:
    """Children named by positive integers, in numeric order (`member.2` before `member.10`)."""
    indexed = [
        (int(name), child)
        for name, child in container.children.items()
        if name.isascii() and name.isdigit() and len(name) <= _MAX_INDEX_DIGITS
    ]
    return sorted((pair for pair in indexed if pair[0] > 0), key=lambda pair: pair[0])


def _url_encode_policy_documents(shape: Shape, text: str) -> str:
    if shape.name == _IAM_POLICY_DOCUMENT_SHAPE:
        return quote(text, safe="")
    return text


def _response_metadata(request_id: str) -> str:
    return f"<ResponseMetadata><RequestId>{_escape(request_id)}</RequestId></ResponseMetadata>"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_response(status: int, document: str, request_id: str) -> HttpResponse:
    body = document.encode("utf-8")
    return HttpResponse(
        status=status,
        headers=[
            (REQUEST_ID_HEADER, request_id),
            ("Content-Type", CONTENT_TYPE),
            ("Content-Length", str(len(body))),
        ],
        body=body,
    )
