"""Checking policy documents before IAM stores them, with IAM's error codes.

The policy engine's validator finds the problems; this module turns them into IAM's answers:
MalformedPolicyDocument (400) with the first message, or LimitExceeded (409) for size quotas.
Inline policies share an aggregate quota per user, group or role, summed here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from trailgate.errors import AwsError
from trailgate.policy.document import PolicyJsonError, load_policy_json
from trailgate.policy.kinds import PolicyKind
from trailgate.policy.limits import (
    INLINE_GROUP_AGGREGATE_MAX,
    INLINE_ROLE_AGGREGATE_MAX,
    INLINE_USER_AGGREGATE_MAX,
    inline_policy_size_message,
    is_size_message,
    measured_size,
)
from trailgate.policy.validate import SYNTAX_ERROR, validate_policy
from trailgate.services.iam.common import limit_exceeded
from trailgate.store.schema_iam import iam_inline_policies

# UpdateAssumeRolePolicy answers unparseable JSON with this text rather than "Syntax errors".
TRUST_INVALID_JSON = "This policy contains invalid Json"

INLINE_LIMITS = {
    "user": INLINE_USER_AGGREGATE_MAX,
    "group": INLINE_GROUP_AGGREGATE_MAX,
    "role": INLINE_ROLE_AGGREGATE_MAX,
}
# Large enough that the validator never reports size: inline sizes are checked as a sum.
_NO_SIZE_LIMIT = 1 << 30


def malformed(message: str) -> AwsError:
    return AwsError("MalformedPolicyDocument", message, 400)


def _raise_first(problems: list[str]) -> None:
    if not problems:
        return
    for problem in problems:
        if is_size_message(problem):
            raise limit_exceeded(problem)
    raise malformed(problems[0])


def check_managed_document(text: str) -> None:
    """A customer managed policy version (CreatePolicy, CreatePolicyVersion)."""
    _raise_first(validate_policy(text, PolicyKind.IDENTITY, managed=True))


def check_trust_document(text: str) -> None:
    """A role's AssumeRolePolicyDocument (CreateRole, UpdateAssumeRolePolicy)."""
    problems = validate_policy(text, PolicyKind.TRUST)
    if problems and problems[0] == SYNTAX_ERROR and not _is_json(text):
        raise malformed(TRUST_INVALID_JSON)
    _raise_first(problems)


def check_inline_document(
    conn: Connection, owner_type: str, owner_id: str, owner_name: str, policy_name: str,
    text: str,
) -> None:
    """An inline policy: valid on its own, and the owner's inline policies within quota."""
    _raise_first(validate_policy(text, PolicyKind.IDENTITY, max_size=_NO_SIZE_LIMIT))
    others = conn.execute(
        select(iam_inline_policies.c.document).where(
            iam_inline_policies.c.owner_type == owner_type,
            iam_inline_policies.c.owner_id == owner_id,
            iam_inline_policies.c.name_lower != policy_name.lower(),
        )
    )
    total = measured_size(text, PolicyKind.IDENTITY) + sum(
        measured_size(row.document, PolicyKind.IDENTITY) for row in others
    )
    limit = INLINE_LIMITS[owner_type]
    if total > limit:
        raise limit_exceeded(inline_policy_size_message(owner_type, owner_name, limit))


def check_simulation_document(text: str, kind: PolicyKind) -> None:
    """A policy handed to the simulator: sizes are not enforced, malformed text is refused."""
    problems = [p for p in validate_policy(text, kind) if not is_size_message(p)]
    if problems:
        raise malformed(problems[0])


def _is_json(text: str) -> bool:
    try:
        load_policy_json(text)
    except PolicyJsonError:
        return False
    return True


def condition_keys(document: Any) -> list[str]:
    """The condition keys a parsed document tests, in order of appearance, without duplicates."""
    found: dict[str, None] = {}
    if not isinstance(document, dict):
        return []
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return []
    for statement in statements:
        condition = statement.get("Condition") if isinstance(statement, dict) else None
        if not isinstance(condition, dict):
            continue
        for block in condition.values():
            if isinstance(block, dict):
                for key in block:
                    found.setdefault(key, None)
    return list(found)
