"""Input constraints from the model (required, enum, pattern, length, range), checked the AWS way.

AWS's request framework reports violations as
`1 validation error detected: Value 'x' at 'userName' failed to satisfy constraint: Member must ...`
with member paths in lower camel case and list items as `tags.1.member.key`. Each codec decides
which checks its service applies and which error code carries the message.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import Shape

from .models import per_shape
from .patterns import matches

REQUIRED = "required"
ENUM = "enum"
PATTERN = "pattern"
LENGTH = "length"
RANGE = "range"
ALL_CHECKS = frozenset({REQUIRED, ENUM, PATTERN, LENGTH, RANGE})

_NUMERIC = frozenset({"integer", "long", "short", "byte", "float", "double"})
_SIZED = frozenset({"string", "list", "map", "blob"})


@dataclass(frozen=True)
class Violation:
    """One failed constraint.

    `kind` is `required`, `enum`, `pattern`, `min_length`, `max_length`, `min_value` or
    `max_value`; `path` is the AWS-style member path; `value` is None for a missing member.
    """

    kind: str
    path: str
    value: Any
    constraint: str
    sensitive: bool = False

    def describe(self) -> str:
        if self.value is None:
            subject = "Value null"
        elif self.sensitive:
            # Never echo secrets (passwords, keys) back in an error message.
            subject = "Value"
        else:
            subject = f"Value '{_render(self.value)}'"
        return f"{subject} at '{self.path}' failed to satisfy constraint: {self.constraint}"


def validation_message(violations: list[Violation]) -> str:
    count = len(violations)
    noun = "error" if count == 1 else "errors"
    details = "; ".join(v.describe() for v in violations)
    return f"{count} validation {noun} detected: {details}"


def find_violations(
    shape: Shape | None, params: Mapping[str, Any], checks: Collection[str] = ALL_CHECKS
) -> list[Violation]:
    """Every constraint `params` (an operation's parsed input) breaks, in member order."""
    found: list[Violation] = []
    if shape is not None:
        _check_structure(shape, params, "", frozenset(checks), found)
    return found


def member_path(parent: str, member_name: str) -> str:
    name = member_name[:1].lower() + member_name[1:]
    return f"{parent}.{name}" if parent else name


def _check_structure(
    shape: Shape,
    value: Mapping[str, Any],
    path: str,
    checks: frozenset[str],
    found: list[Violation],
) -> None:
    check_required = REQUIRED in checks
    for name, member, lowered, required in _members(shape):
        child = value.get(name)
        if child is None:
            if required and check_required:
                child_path = f"{path}.{lowered}" if path else lowered
                found.append(Violation("required", child_path, None, "Member must not be null"))
            continue
        _check_value(member, child, f"{path}.{lowered}" if path else lowered, checks, found)


# A structure's members as validation walks them, per shape: most inputs set a few of many
# optional members (PutObject: 5 of 49), and every request is validated.
_MemberPlan = tuple[tuple[str, Shape, str, bool], ...]
_plans: dict[int, tuple[Shape, _MemberPlan]] = {}


def _members(shape: Shape) -> _MemberPlan:
    return per_shape(_plans, shape, _member_plan)


def _member_plan(shape: Shape) -> _MemberPlan:
    required = set(shape.required_members)
    return tuple(
        (name, member, name[:1].lower() + name[1:], name in required)
        for name, member in shape.members.items()
    )


def _check_value(
    shape: Shape, value: Any, path: str, checks: frozenset[str], found: list[Violation]
) -> None:
    type_name = shape.type_name
    meta = shape.metadata
    sensitive = bool(meta.get("sensitive"))
    if type_name == "string" and isinstance(value, str):
        if ENUM in checks and shape.enum and value not in shape.enum:
            options = ", ".join(shape.enum)
            found.append(
                Violation(
                    "enum",
                    path,
                    value,
                    f"Member must satisfy enum value set: [{options}]",
                    sensitive,
                )
            )
        pattern = meta.get("pattern")
        if PATTERN in checks and pattern and not matches(pattern, value):
            found.append(
                Violation(
                    "pattern",
                    path,
                    value,
                    f"Member must satisfy regular expression pattern: {pattern}",
                    sensitive,
                )
            )
    if LENGTH in checks and type_name in _SIZED:
        _check_bounds(meta, _length(value), "length", path, value, sensitive, found)
    if RANGE in checks and type_name in _NUMERIC and not isinstance(value, bool):
        _check_bounds(meta, value, "value", path, value, sensitive, found)
    if type_name == "structure" and isinstance(value, Mapping):
        _check_structure(shape, value, path, checks, found)
    elif type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value, 1):
            if item is not None:
                _check_value(shape.member, item, f"{path}.{index}.member", checks, found)
    elif type_name == "map" and isinstance(value, Mapping):
        for index, (key, item) in enumerate(value.items(), 1):
            _check_value(shape.key, key, f"{path}.{index}.key", checks, found)
            if item is not None:
                _check_value(shape.value, item, f"{path}.{index}.value", checks, found)


def _check_bounds(
    meta: Mapping[str, Any],
    measured: float,
    what: str,
    path: str,
    value: Any,
    sensitive: bool,
    found: list[Violation],
) -> None:
    low = meta.get("min")
    high = meta.get("max")
    if low is not None and measured < low:
        found.append(
            Violation(
                f"min_{what}",
                path,
                value,
                f"Member must have {what} greater than or equal to {_number(low)}",
                sensitive,
            )
        )
    if high is not None and measured > high:
        found.append(
            Violation(
                f"max_{what}",
                path,
                value,
                f"Member must have {what} less than or equal to {_number(high)}",
                sensitive,
            )
        )


def _length(value: Any) -> int:
    if isinstance(value, str):
        # AWS counts Java chars, i.e. UTF-16 code units.
        return len(value.encode("utf-16-le")) // 2
    try:
        return len(value)
    except TypeError:
        return 0


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, list):
        return "[" + ", ".join(_render(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_render(k)}={_render(v)}" for k, v in value.items()) + "}"
    return str(value)
