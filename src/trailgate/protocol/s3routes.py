"""Which S3 operation a request is, matched against the model's `requestUri` templates.

Candidates come from the model: method, path level (service `/`, bucket `/{Bucket}`, object
`/{Bucket}/{Key+}`), the literal sub-resources in the template (`?acl`, `?list-type=2`), and the
query-string and header members the operation requires (`uploadId` and `partNumber` make a PUT an
UploadPart; `x-amz-copy-source` makes it a CopyObject or UploadPartCopy). The most specific
candidate whose requirements are all present wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from botocore.model import OperationModel, ServiceModel

from ..http import Headers
from .s3help import UNROUTABLE_OPERATIONS

SERVICE_LEVEL = "service"
BUCKET_LEVEL = "bucket"
OBJECT_LEVEL = "object"


@dataclass(frozen=True)
class _Candidate:
    operation: str
    literal_query: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    deprecated: bool

    @property
    def specificity(self) -> int:
        return len(self.literal_query) + len(self.required_query) + len(self.required_headers)

    def accepts(self, query: Mapping[str, str], headers: Headers) -> bool:
        for key, value in self.literal_query:
            if key not in query or (value is not None and query[key] != value):
                return False
        return all(key in query for key in self.required_query) and all(
            name in headers for name in self.required_headers
        )


class S3RouteTable:
    """All routable S3 operations, indexed by (method, level)."""

    def __init__(self, model: ServiceModel) -> None:
        table: dict[tuple[str, str], list[_Candidate]] = {}
        for name in model.operation_names:
            operation = model.operation_model(name)
            level = _level(operation.http["requestUri"])
            if level is None or _unroutable(operation):
                continue
            candidate = _candidate(name, operation)
            table.setdefault((operation.http["method"].upper(), level), []).append(candidate)
        for candidates in table.values():
            # Most specific first; a deprecated twin (GetBucketLifecycle) loses ties.
            candidates.sort(key=lambda c: (-c.specificity, c.deprecated, c.operation))
        self._table = table

    def find(
        self, method: str, level: str, query: Mapping[str, str], headers: Headers
    ) -> str | None:
        for candidate in self._table.get((method.upper(), level), ()):
            if candidate.accepts(query, headers):
                return candidate.operation
        return None


def _level(request_uri: str) -> str | None:
    path = request_uri.split("?", 1)[0]
    if path == "/":
        return SERVICE_LEVEL
    if path == "/{Bucket}":
        return BUCKET_LEVEL
    if path == "/{Bucket}/{Key+}":
        return OBJECT_LEVEL
    return None


def _unroutable(operation: OperationModel) -> bool:
    # Object Lambda's WriteGetObjectResponse lives on its own host prefix.
    return operation.name in UNROUTABLE_OPERATIONS or "hostPrefix" in (operation.endpoint or {})


def _candidate(name: str, operation: OperationModel) -> _Candidate:
    http = operation.http
    literal: tuple[tuple[str, str | None], ...] = ()
    if "?" in http["requestUri"]:
        query = http["requestUri"].split("?", 1)[1]
        literal = tuple(
            (key, value if "=" in part else None)
            for part in query.split("&")
            for key, value in parse_qsl(part, keep_blank_values=True)
        )
    required_query: list[str] = []
    required_headers: list[str] = []
    shape = operation.input_shape
    if shape is not None:
        for member_name in shape.required_members:
            member = shape.members[member_name]
            location = member.serialization.get("location")
            wire = member.serialization.get("name", member_name)
            if location == "querystring":
                required_query.append(wire)
            elif location == "header":
                required_headers.append(wire)
    return _Candidate(
        operation=name,
        literal_query=literal,
        required_query=tuple(required_query),
        required_headers=tuple(required_headers),
        deprecated=bool(operation.deprecated),
    )
