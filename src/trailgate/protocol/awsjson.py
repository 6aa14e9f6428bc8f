"""The awsJson1.1 protocol (CloudTrail, Organizations): JSON bodies, operation in X-Amz-Target.

Timestamps travel as epoch seconds, blobs as base64. A value of the wrong JSON type is a
`SerializationException`. Model constraints are checked per service, as each reports them:
Organizations checks them all and answers `InvalidInputException` with a `Reason`; CloudTrail only
reports missing required members here (as `InvalidParameterException`) and leaves lengths, names
and ranges to its own service-specific errors. Errors are `{"__type": ..., "message": ...}` with
the `x-amzn-ErrorType` header.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.model import Shape

from ..errors import AwsError
from ..http import HttpRequest, HttpResponse
from .models import error_shape, operation_model, service_model
from .routing import Route
from .scalars import WireValueError, read_integer
from .timestamps import format_epoch, from_epoch, parse_timestamp
from .validation import (
    ALL_CHECKS,
    REQUIRED,
    Violation,
    find_violations,
    member_path,
    validation_message,
)

REQUEST_ID_HEADER = "x-amzn-RequestId"


@dataclass(frozen=True)
class _ValidationStyle:
    code: str
    checks: frozenset[str]
    # Organizations' InvalidInputException carries a machine-readable Reason per kind.
    reasons: Mapping[str, str] | None = None


_ORGANIZATIONS_REASONS = {
    "required": "INPUT_REQUIRED",
    "enum": "INVALID_ENUM",
    "pattern": "INVALID_PATTERN",
    "min_length": "MIN_LENGTH_EXCEEDED",
    "max_length": "MAX_LENGTH_EXCEEDED",
    "min_value": "MIN_VALUE_EXCEEDED",
    "max_value": "MAX_VALUE_EXCEEDED",
}

_STYLES: dict[str, _ValidationStyle] = {
    "organizations": _ValidationStyle("InvalidInputException", ALL_CHECKS, _ORGANIZATIONS_REASONS),
    "cloudtrail": _ValidationStyle("InvalidParameterException", frozenset({REQUIRED})),
}
_DEFAULT_STYLE = _ValidationStyle("ValidationException", ALL_CHECKS)

_MISSING = object()
_TYPE_NAMES = {
    "string": "a String",
    "character": "a String",
    "integer": "an Integer",
    "long": "a Long",
    "short": "a Short",
    "byte": "a Byte",
    "float": "a Float",
    "double": "a Double",
    "boolean": "a Boolean",
    "timestamp": "a Timestamp",
    "blob": "a Blob",
    "list": "a List",
    "map": "a Map",
    "structure": "a Structure",
}


class JsonCodec:
    def __init__(self, service: str) -> None:
        self.service = service
        version = service_model(service).metadata.get("jsonVersion", "1.1")
        self.content_type = f"application/x-amz-json-{version}"
        self._style = _STYLES.get(service, _DEFAULT_STYLE)

    # --- requests ---------------------------------------------------------------------------

    def body_is_streamed(self, route: Route) -> bool:
        return False

    def parse(self, request: HttpRequest, route: Route) -> dict[str, Any]:
        shape = route.operation_model.input_shape
        document = self._load(request.body or b"")
        if shape is None:
            return {}
        try:
            parsed = _from_json(shape, document, "")
        except WireValueError as exc:
            raise AwsError("SerializationException", _type_message(exc)) from exc
        self._check(shape, parsed)
        return parsed

    def validate(self, operation: str, params: dict[str, Any]) -> None:
        """Validate an input built in-process (the console) exactly as a parsed one."""
        self._check(operation_model(self.service, operation).input_shape, params)

    def _check(self, shape: Any, parsed: dict[str, Any]) -> None:
        violations = find_violations(shape, parsed, self._style.checks)
        if violations:
            raise self._validation_error(violations)

    def _load(self, body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise AwsError("SerializationException", "Request body is not valid JSON") from exc
        if not isinstance(document, dict):
            raise AwsError(
                "SerializationException", "Start of structure or map expected in request body"
            )
        return document

    def _validation_error(self, violations: list[Violation]) -> AwsError:
        extra: dict[str, str] = {}
        if self._style.reasons is not None:
            extra["Reason"] = self._style.reasons[violations[0].kind]
        return AwsError(self._style.code, validation_message(violations), extra=extra)

    # --- responses --------------------------------------------------------------------------

    def serialize(
        self, route: Route, output: Mapping[str, Any] | None, request_id: str
    ) -> HttpResponse:
        shape = route.operation_model.output_shape
        document = _to_json(shape, output or {}) if shape is not None else {}
        return self._response(200, document, request_id)

    def serialize_error(
        self, error: AwsError, request_id: str, route: Route | str | None = None
    ) -> HttpResponse:
        document: dict[str, Any] = {"__type": error.code}
        document[self._message_key(error.code)] = error.message
        document.update(error.extra)
        response = self._response(error.status, document, request_id)
        response.headers.append(("x-amzn-ErrorType", error.code))
        response.headers.extend(error.headers)
        return response

    def _message_key(self, code: str) -> str:
        # Organizations models its exceptions with `Message`; most services send `message`.
        shape = error_shape(self.service, code)
        if shape is not None and "Message" in shape.members:
            return "Message"
        return "message"

    def _response(self, status: int, document: Mapping[str, Any], request_id: str) -> HttpResponse:
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return HttpResponse(
            status=status,
            headers=[
                (REQUEST_ID_HEADER, request_id),
                ("Content-Type", self.content_type),
                ("Content-Length", str(len(body))),
            ],
            body=body,
        )


def _from_json(shape: Shape, value: Any, path: str) -> Any:
    if value is None:
        return _MISSING
    type_name = shape.type_name
    if type_name == "structure":
        if not isinstance(value, dict):
            raise WireValueError(type_name, value, path)
        parsed: dict[str, Any] = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            if wire in value:
                item = _from_json(member, value[wire], member_path(path, name))
                if item is not _MISSING:
                    parsed[name] = item
        return parsed
    if type_name == "list":
        if not isinstance(value, list):
            raise WireValueError(type_name, value, path)
        items = [
            _from_json(shape.member, item, f"{path}.{index}.member")
            for index, item in enumerate(value, 1)
        ]
        return [item for item in items if item is not _MISSING]
    if type_name == "map":
        if not isinstance(value, dict):
            raise WireValueError(type_name, value, path)
        entries: dict[Any, Any] = {}
        for key, item in value.items():
            converted = _from_json(shape.value, item, f"{path}.{key}")
            if converted is not _MISSING:
                entries[key] = converted
        return entries
    return _scalar_from_json(shape, value, path)


def _scalar_from_json(shape: Shape, value: Any, path: str) -> Any:
    type_name = shape.type_name
    try:
        if type_name in ("string", "character") and isinstance(value, str):
            return value
        if type_name in ("integer", "long", "short", "byte"):
            if isinstance(value, int) and not isinstance(value, bool):
                return read_integer(type_name, str(value))
        elif type_name in ("float", "double"):
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            if value in ("NaN", "Infinity", "-Infinity"):
                return float(value.replace("Infinity", "inf"))
        elif type_name == "boolean" and isinstance(value, bool):
            return value
        elif type_name == "timestamp":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return from_epoch(value)
            if isinstance(value, str):
                return parse_timestamp(value)
        elif type_name == "blob" and isinstance(value, str):
            return base64.b64decode(value, validate=True)
    except (ValueError, OverflowError, binascii.Error) as exc:
        raise WireValueError(type_name, value, path) from exc
    raise WireValueError(type_name, value, path)


def _to_json(shape: Shape, value: Any) -> Any:
    type_name = shape.type_name
    if type_name == "structure":
        document: dict[str, Any] = {}
        for name, member in shape.members.items():
            item = value.get(name)
            if item is not None:
                document[member.serialization.get("name", name)] = _to_json(member, item)
        return document
    if type_name == "list":
        return [_to_json(shape.member, item) for item in value if item is not None]
    if type_name == "map":
        return {
            str(key): _to_json(shape.value, item) for key, item in value.items() if item is not None
        }
    if type_name == "timestamp":
        return format_epoch(value) if isinstance(value, datetime) else value
    if type_name == "blob":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if type_name in ("float", "double"):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return number
    return value


def _type_message(exc: WireValueError) -> str:
    value = exc.value
    if isinstance(value, bool):
        kind = "TRUE_VALUE" if value else "FALSE_VALUE"
    elif isinstance(value, int | float):
        kind = "NUMBER_VALUE"
    elif isinstance(value, str):
        kind = "STRING_VALUE"
    elif isinstance(value, list):
        return "Start of list found where not expected"
    elif isinstance(value, dict):
        return "Start of structure or map found where not expected."
    else:
        kind = "VALUE"
    target = _TYPE_NAMES.get(exc.type_name)
    if target is None:
        return f"{kind} can not be converted to a {exc.type_name}"
    return f"{kind} can not be converted to {target}"
