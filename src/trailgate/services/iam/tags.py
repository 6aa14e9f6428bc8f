"""Tags of users, roles and managed policies.

IAM treats user and role tag keys case-insensitively (a second key differing only in case is a
duplicate) but keeps managed-policy tag keys case-sensitive ("a" and "A" may coexist): both
recorded from IAM. `key_lower` holds the comparison form accordingly. Lists come back sorted by
key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, select

from trailgate.services.iam.common import invalid_input, limit_exceeded
from trailgate.store.schema_iam import iam_tags

MAX_TAGS = 50
USER = "user"
ROLE = "role"
POLICY = "policy"

_CASE_SENSITIVE = frozenset({POLICY})
_DUPLICATE_MESSAGES = {
    USER: "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    ROLE: "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    POLICY: "Duplicate tag keys found.",
}
TOO_MANY_TAGS = "The number of tags has reached the maximum limit."


def _fold(resource_type: str, key: str) -> str:
    return key if resource_type in _CASE_SENSITIVE else key.lower()


def check_new_tags(resource_type: str, tags: Sequence[Mapping[str, Any]] | None) -> None:
    """InvalidInput for duplicate keys in one request (before anything is written)."""
    seen: set[str] = set()
    for tag in tags or ():
        folded = _fold(resource_type, tag["Key"])
        if folded in seen:
            raise invalid_input(_DUPLICATE_MESSAGES[resource_type])
        seen.add(folded)


def list_tags(conn: Connection, resource_type: str, resource_id: str) -> list[dict[str, str]]:
    rows = conn.execute(
        select(iam_tags.c.key, iam_tags.c.value).where(
            iam_tags.c.resource_type == resource_type, iam_tags.c.resource_id == resource_id
        )
    )
    return [{"Key": k, "Value": v} for k, v in sorted(rows, key=lambda r: r[0])]


def tag_map(conn: Connection, resource_type: str, resource_id: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in list_tags(conn, resource_type, resource_id)}


def put_tags(
    conn: Connection,
    resource_type: str,
    resource_id: str,
    tags: Sequence[Mapping[str, Any]] | None,
) -> None:
    """Add or overwrite tags; the total may not exceed 50 (LimitExceeded, nothing written)."""
    if not tags:
        return
    check_new_tags(resource_type, tags)
    existing = {
        row.key_lower
        for row in conn.execute(
            select(iam_tags.c.key_lower).where(
                iam_tags.c.resource_type == resource_type, iam_tags.c.resource_id == resource_id
            )
        )
    }
    new_keys = {_fold(resource_type, t["Key"]) for t in tags}
    if len(existing | new_keys) > MAX_TAGS:
        raise limit_exceeded(TOO_MANY_TAGS)
    conn.execute(
        delete(iam_tags).where(
            iam_tags.c.resource_type == resource_type,
            iam_tags.c.resource_id == resource_id,
            iam_tags.c.key_lower.in_(new_keys),
        )
    )
    conn.execute(
        iam_tags.insert(),
        [
            {
                "resource_type": resource_type,
                "resource_id": resource_id,
                "key_lower": _fold(resource_type, t["Key"]),
                "key": t["Key"],
                "value": t.get("Value", ""),
            }
            for t in tags
        ],
    )


def remove_tags(
    conn: Connection, resource_type: str, resource_id: str, keys: Iterable[str]
) -> None:
    folded = [_fold(resource_type, k) for k in keys]
    if not folded:
        return
    conn.execute(
        delete(iam_tags).where(
            iam_tags.c.resource_type == resource_type,
            iam_tags.c.resource_id == resource_id,
            iam_tags.c.key_lower.in_(folded),
        )
    )


def drop_all_tags(conn: Connection, resource_type: str, resource_id: str) -> None:
    conn.execute(
        delete(iam_tags).where(
            iam_tags.c.resource_type == resource_type, iam_tags.c.resource_id == resource_id
        )
    )


def request_tag_context(tags: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    """aws:RequestTag/<key> and aws:TagKeys for an operation that sets tags."""
    if not tags:
        return {}
    context: dict[str, Any] = {f"aws:RequestTag/{t['Key']}": t.get("Value", "") for t in tags}
    context["aws:TagKeys"] = [t["Key"] for t in tags]
    return context


def resource_tag_context(tags: Mapping[str, str]) -> dict[str, Any]:
    return {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
