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
# Distinct (method, level, sub-resources, headers) combinations remembered; clients use a few
# dozen, and a bound keeps odd ones from growing the table.
_DECISIONS_KEPT = 4096


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
        # Only these query names (with the values of literal ones) and headers can change the
        # answer; the decision for a combination of them is remembered.
        self._query_names = frozenset(
            name
            for candidates in table.values()
            for c in candidates
            for name in (*(key for key, _ in c.literal_query), *c.required_query)
        )
        # Names whose value matters (`?list-type=2`); for the others only presence does, so
        # varying values (upload ids) do not multiply the remembered decisions.
        self._valued_names = frozenset(
            key for candidates in table.values() for c in candidates
            for key, value in c.literal_query if value is not None
        )  # fmt: skip
        self._header_names = frozenset(
            name.lower() for candidates in table.values() for c in candidates
            for name in c.required_headers
        )  # fmt: skip
        self._decisions: dict[tuple[object, ...], str | None] = {}

    def find(
        self, method: str, level: str, query: Mapping[str, str], headers: Headers
    ) -> str | None:
        names = self._query_names
        valued = self._valued_names
        relevant_query = [(k, v if k in valued else None) for k, v in query.items() if k in names]
        if len(relevant_query) > 1:
            relevant_query.sort()
        relevant_headers = [h for h in headers.keys_lower() if h in self._header_names]
        if len(relevant_headers) > 1:
            relevant_headers.sort()
        decision_key = (method.upper(), level, tuple(relevant_query), tuple(relevant_headers))
        try:
            return self._decisions[decision_key]
        except KeyError:
            pass
        found = None
        for candidate in self._table.get((method.upper(), level), ()):
            if candidate.accepts(query, headers):
                found = candidate.operation
                break
        if len(self._decisions) < _DECISIONS_KEPT:
            self._decisions[decision_key] = found
        return found


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
