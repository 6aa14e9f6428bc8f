"""Where each member of a rest-xml input or output shape lives, worked out once per shape.

S3's shapes have dozens of members bound to headers and query parameters (GetObject's input
has 29, its output 40), while a request carries a handful of them. The codec (restxml.py) walks
the request's own headers and parameters and looks each one up here, instead of asking every
member whether the request carries it. `rank` is the member's position in the shape, so values
are still read (and errors still raised) in the model's member order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.model import Shape

from .models import per_shape
from .xmlcodec import is_located

URI = 0
QUERY = 1
HEADER = 2
PREFIX = 3
STATUS = 4


@dataclass(frozen=True)
class Binding:
    """One member: its position, name, where it lives (URI/QUERY/...) and its wire name."""

    rank: int
    name: str
    kind: int
    wire: str
    member: Shape = field(compare=False)


@dataclass(frozen=True)
class InputPlan:
    uri: tuple[Binding, ...]
    query: dict[str, tuple[Binding, ...]]  # by wire name
    headers: dict[str, tuple[Binding, ...]]  # by lower-case wire name
    prefixes: tuple[Binding, ...]  # `headers` maps; `wire` is the lower-case prefix
    required: tuple[str, ...]
    # Members whose value may hold nested required members (structures, lists, maps).
    nested: frozenset[str]
    content_length: Binding | None
    content_encoding: Binding | None
    payload: Binding | None
    payload_streamed: bool
    body_members: bool  # members carried in an XML body without an explicit payload


@dataclass(frozen=True)
class OutputPlan:
    located: dict[str, Binding]  # header, headers-map and status-code members, by member name
    has_status: bool


_input_plans: dict[int, tuple[Shape, InputPlan]] = {}
_output_plans: dict[int, tuple[Shape, OutputPlan]] = {}


def input_plan(shape: Shape) -> InputPlan:
    return per_shape(_input_plans, shape, _build_input)


def output_plan(shape: Shape) -> OutputPlan:
    return per_shape(_output_plans, shape, _build_output)


def _bindings(shape: Shape) -> list[Binding]:
    kinds = {"uri": URI, "querystring": QUERY, "header": HEADER, "headers": PREFIX,
             "statusCode": STATUS}  # fmt: skip
    found = []
    for rank, (name, member) in enumerate(shape.members.items()):
        location = member.serialization.get("location")
        if location not in kinds:
            continue
        wire = str(member.serialization.get("name", name))
        found.append(Binding(rank, name, kinds[location], wire, member))
    return found


def _grouped(bindings: list[Binding], lower: bool) -> dict[str, tuple[Binding, ...]]:
    grouped: dict[str, list[Binding]] = {}
    for binding in bindings:
        grouped.setdefault(binding.wire.lower() if lower else binding.wire, []).append(binding)
    return {wire: tuple(items) for wire, items in grouped.items()}


def _build_input(shape: Shape) -> InputPlan:
    bindings = _bindings(shape)
    headers = [b for b in bindings if b.kind == HEADER]
    # A query map takes every parameter no other member claims; S3 models none today.
    query = [b for b in bindings if b.kind == QUERY and b.member.type_name != "map"]
    prefixes = tuple(
        Binding(b.rank, b.name, PREFIX, b.wire.lower(), b.member)
        for b in bindings
        if b.kind == PREFIX
    )
    payload_name = shape.serialization.get("payload")
    payload = None
    streamed = False
    if payload_name is not None:
        member = shape.members[payload_name]
        payload = Binding(-1, payload_name, -1, payload_name, member)
        streamed = member.type_name == "blob" and bool(member.serialization.get("streaming"))
    return InputPlan(
        uri=tuple(b for b in bindings if b.kind == URI),
        query=_grouped(query, lower=False),
        headers=_grouped(headers, lower=True),
        prefixes=prefixes,
        required=tuple(shape.required_members),
        nested=frozenset(
            name
            for name, member in shape.members.items()
            if member.type_name in ("structure", "list", "map")
        ),
        content_length=_header_named(headers, "content-length"),
        content_encoding=_header_named(headers, "content-encoding"),
        payload=payload,
        payload_streamed=streamed,
        body_members=any(not is_located(member) for member in shape.members.values()),
    )


def _header_named(headers: list[Binding], wire: str) -> Binding | None:
    return next((b for b in headers if b.wire.lower() == wire), None)


def _build_output(shape: Shape) -> OutputPlan:
    located = {b.name: b for b in _bindings(shape) if b.kind in (HEADER, PREFIX, STATUS)}
    return OutputPlan(located=located, has_status=any(b.kind == STATUS for b in located.values()))


def present_values(plan: OutputPlan, output: Any) -> list[tuple[Binding, Any]]:
    """The located members `output` has a value for, in member order."""
    located = plan.located
    found = [
        (binding, value)
        for name, value in output.items()
        if value is not None and (binding := located.get(name)) is not None
    ]
    if len(found) > 1:
        found.sort(key=lambda item: item[0].rank)
    return found
