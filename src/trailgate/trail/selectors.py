"""Event selectors: which events a trail logs. Validation (PutEventSelectors) and matching
(the recorder's data-event decision and the delivery worker's per-trail filter).

Basic selectors (`EventSelectors`): a read/write filter over management events, S3 data events
for chosen buckets or key prefixes (`arn:aws:s3:::bucket/prefix`, `arn:aws:s3:::` or `arn:aws:s3`
for every bucket), and excluded management event sources. Advanced selectors
(`AdvancedEventSelectors`) match the fields eventCategory, eventSource, eventName, readOnly,
resources.type and resources.ARN with Equals / StartsWith / EndsWith and their negations.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trailgate.errors import AwsError

DEFAULT_SELECTORS: list[dict[str, Any]] = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [],
        "ExcludeManagementEventSources": [],
    }
]

MAX_SELECTORS = 5
MAX_DATA_RESOURCE_VALUES = 250
MAX_ADVANCED_SELECTORS = 500
S3_OBJECT = "AWS::S3::Object"
# Types CloudTrail accepts in basic selectors; only S3 objects exist in trailgate.
BASIC_DATA_TYPES = frozenset({S3_OBJECT, "AWS::Lambda::Function", "AWS::DynamoDB::Table"})
EXCLUDABLE_SOURCES = frozenset({"kms.amazonaws.com", "rdsdata.amazonaws.com"})
ADVANCED_FIELDS = frozenset(
    {"eventCategory", "eventSource", "eventName", "readOnly", "resources.type", "resources.ARN"}
)
_OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")


def invalid(message: str) -> AwsError:
    return AwsError("InvalidEventSelectorsException", message, 400)


@dataclass(frozen=True)
class EventFacts:
    """The fields of an event that selectors look at."""

    management: bool
    event_source: str
    event_name: str
    read_only: bool
    bucket: str | None = None
    key: str | None = None

    @property
    def resource_type(self) -> str | None:
        return None if self.management else S3_OBJECT

    @property
    def resource_arn(self) -> str | None:
        if self.management or not self.bucket:
            return None
        return f"arn:aws:s3:::{self.bucket}/{self.key or ''}"


# --- validation ------------------------------------------------------------------------------


def validate_basic(selectors: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The selectors as stored (defaults filled in), or InvalidEventSelectorsException."""
    if len(selectors) > MAX_SELECTORS:
        raise invalid(f"A trail can have at most {MAX_SELECTORS} event selectors.")
    total_values = 0
    stored: list[dict[str, Any]] = []
    for selector in selectors:
        rw = selector.get("ReadWriteType", "All")
        if rw not in ("All", "ReadOnly", "WriteOnly"):
            raise invalid(f"Invalid ReadWriteType: {rw}")
        resources = []
        for resource in selector.get("DataResources") or []:
            kind = resource.get("Type")
            values = list(resource.get("Values") or [])
            if kind not in BASIC_DATA_TYPES:
                raise invalid(f"Value {kind} for DataResources.Type is invalid.")
            if kind == S3_OBJECT:
                for value in values:
                    if not (value == "arn:aws:s3" or value.startswith("arn:aws:s3:::")):
                        raise invalid(f"Value {value} for DataResources.Values is invalid.")
            total_values += len(values)
            resources.append({"Type": kind, "Values": values})
        if total_values > MAX_DATA_RESOURCE_VALUES:
            raise invalid(
                f"A trail can have at most {MAX_DATA_RESOURCE_VALUES} data resource values."
            )
        excluded = list(selector.get("ExcludeManagementEventSources") or [])
        for source in excluded:
            if source not in EXCLUDABLE_SOURCES:
                raise invalid(f"Value {source} for ExcludeManagementEventSources is invalid.")
        stored.append(
            {
                "ReadWriteType": rw,
                "IncludeManagementEvents": bool(selector.get("IncludeManagementEvents", True)),
                "DataResources": resources,
                "ExcludeManagementEventSources": excluded,
            }
        )
    return stored


def validate_advanced(selectors: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(selectors) > MAX_ADVANCED_SELECTORS:
        raise invalid(f"A trail can have at most {MAX_ADVANCED_SELECTORS} advanced selectors.")
    stored: list[dict[str, Any]] = []
    for selector in selectors:
        fields = selector.get("FieldSelectors") or []
        if not fields:
            raise invalid("Each advanced event selector needs at least one field selector.")
        kept_fields: list[dict[str, Any]] = []
        has_category = False
        for field_selector in fields:
            name = field_selector.get("Field")
            if name not in ADVANCED_FIELDS:
                raise invalid(f"Field {name} is not supported in advanced event selectors.")
            ops = {op: list(field_selector[op]) for op in _OPERATORS if field_selector.get(op)}
            if not ops:
                raise invalid(f"Field selector for {name} must use at least one operator.")
            if name == "eventCategory":
                has_category = True
                for value in ops.get("Equals", []):
                    if value not in ("Management", "Data"):
                        raise invalid(f"Invalid value {value} for eventCategory.")
            if name == "readOnly":
                for value in ops.get("Equals", []):
                    if value not in ("true", "false"):
                        raise invalid(f"Invalid value {value} for readOnly.")
            kept_fields.append({"Field": name, **ops})
        if not has_category:
            raise invalid("Each advanced event selector must include an eventCategory field.")
        item: dict[str, Any] = {"FieldSelectors": kept_fields}
        if selector.get("Name"):
            item = {"Name": selector["Name"], **item}
        stored.append(item)
    return stored


# --- matching --------------------------------------------------------------------------------


def _basic_matches(selector: dict[str, Any], facts: EventFacts) -> bool:
    rw = selector.get("ReadWriteType", "All")
    if rw == "ReadOnly" and not facts.read_only:
        return False
    if rw == "WriteOnly" and facts.read_only:
        return False
    if facts.management:
        return bool(selector.get("IncludeManagementEvents", True)) and facts.event_source not in (
            selector.get("ExcludeManagementEventSources") or []
        )
    arn = facts.resource_arn or ""
    for resource in selector.get("DataResources") or []:
        if resource.get("Type") != S3_OBJECT:
            continue
        for value in resource.get("Values") or []:
            if value in ("arn:aws:s3", "arn:aws:s3:::") or arn.startswith(value):
                return True
    return False


def _field_value(name: str, facts: EventFacts) -> str | None:
    if name == "eventCategory":
        return "Management" if facts.management else "Data"
    if name == "eventSource":
        return facts.event_source
    if name == "eventName":
        return facts.event_name
    if name == "readOnly":
        return "true" if facts.read_only else "false"
    if name == "resources.type":
        return facts.resource_type
    if name == "resources.ARN":
        return facts.resource_arn
    return None


def _field_matches(field_selector: dict[str, Any], facts: EventFacts) -> bool:
    value = _field_value(field_selector["Field"], facts)
    if value is None:
        # A field the event lacks matches only negative conditions.
        return not any(field_selector.get(op) for op in ("Equals", "StartsWith", "EndsWith"))
    if field_selector.get("Equals") and value not in field_selector["Equals"]:
        return False
    if field_selector.get("StartsWith") and not any(
        value.startswith(p) for p in field_selector["StartsWith"]
    ):
        return False
    if field_selector.get("EndsWith") and not any(
        value.endswith(s) for s in field_selector["EndsWith"]
    ):
        return False
    if value in (field_selector.get("NotEquals") or []):
        return False
    if any(value.startswith(p) for p in field_selector.get("NotStartsWith") or []):
        return False
    return not any(value.endswith(s) for s in field_selector.get("NotEndsWith") or [])


def _management_only(selector: dict[str, Any]) -> bool:
    return any(
        f.get("Field") == "eventCategory" and list(f.get("Equals") or []) == ["Management"]
        for f in selector.get("FieldSelectors") or []
    )


@dataclass(frozen=True)
class TrailFilter:
    """A trail's selectors, ready to test events."""

    basic: tuple[dict[str, Any], ...]
    advanced: tuple[dict[str, Any], ...] | None

    @classmethod
    def from_json(cls, basic: str | None, advanced: str | None) -> TrailFilter:
        if advanced:
            return cls((), tuple(json.loads(advanced)))
        return cls(tuple(json.loads(basic) if basic else DEFAULT_SELECTORS), None)

    def to_json(self) -> dict[str, Any]:
        return {"basic": list(self.basic), "advanced": list(self.advanced or []) or None}

    @classmethod
    def from_plan(cls, plan: dict[str, Any]) -> TrailFilter:
        advanced = plan.get("advanced")
        return cls(tuple(plan.get("basic") or ()), tuple(advanced) if advanced else None)

    def may_select_data_events(self) -> bool:
        """False when no data event can match (the recorder then skips building them)."""
        if self.advanced is not None:
            return any(not _management_only(selector) for selector in self.advanced)
        return any(
            resource.get("Type") == S3_OBJECT
            for selector in self.basic
            for resource in selector.get("DataResources") or []
        )

    def matches(self, facts: EventFacts) -> bool:
        if self.advanced is not None:
            return any(
                all(_field_matches(f, facts) for f in selector["FieldSelectors"])
                for selector in self.advanced
            )
        return any(_basic_matches(selector, facts) for selector in self.basic)
