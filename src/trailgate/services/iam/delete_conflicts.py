"""What keeps a user, group or role from being deleted: IAM's DeleteConflict checks.

Each check is a query for anything still attached to the entity, with IAM's message; the first
that finds something wins, so callers list the checks in the order IAM's guide gives them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Select, exists, select

from trailgate.services.iam.common import (
    MUST_DELETE_POLICIES,
    MUST_DETACH_POLICIES,
    delete_conflict,
)
from trailgate.store.schema_iam import iam_attachments, iam_inline_policies

Check = tuple[Select, str]


def policy_checks(owner_type: str, owner_id: str) -> list[Check]:
    """Inline policies, then attached managed policies, of a user, group or role."""
    inline = select(iam_inline_policies.c.name).where(
        iam_inline_policies.c.owner_type == owner_type,
        iam_inline_policies.c.owner_id == owner_id,
    )
    attached = select(iam_attachments.c.policy_arn).where(
        iam_attachments.c.owner_type == owner_type, iam_attachments.c.owner_id == owner_id
    )
    return [(inline, MUST_DELETE_POLICIES), (attached, MUST_DETACH_POLICIES)]


def raise_first_conflict(conn: Connection, checks: Sequence[Check]) -> None:
    for query, message in checks:
        if conn.execute(select(exists(query))).scalar():
            raise delete_conflict(message)
