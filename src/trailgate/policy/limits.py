"""Size quotas for policy documents, per kind, and how a document's size is measured.

IAM does not count whitespace towards its policy size quotas (IAM User Guide, "IAM and AWS STS
quotas"), so identity, boundary and trust policies are measured without it. Session policies are
checked by STS against the raw parameter length, SCPs by Organizations and bucket policies by S3
count every character.
"""

from __future__ import annotations

from trailgate.policy.kinds import PolicyKind

MANAGED_POLICY_MAX = 6_144
"""Customer managed policy (also what a permissions boundary is)."""
INLINE_USER_AGGREGATE_MAX = 2_048
INLINE_ROLE_AGGREGATE_MAX = 10_240
INLINE_GROUP_AGGREGATE_MAX = 5_120
TRUST_POLICY_DEFAULT_MAX = 2_048
TRUST_POLICY_RAISED_MAX = 4_096
"""Highest value the role trust policy quota can be raised to."""
SESSION_POLICY_MAX = 2_048
SCP_MAX = 5_120
BUCKET_POLICY_MAX = 20 * 1_024

DEFAULT_MAX_SIZE: dict[PolicyKind, int] = {
    PolicyKind.IDENTITY: MANAGED_POLICY_MAX,
    PolicyKind.BOUNDARY: MANAGED_POLICY_MAX,
    PolicyKind.TRUST: TRUST_POLICY_DEFAULT_MAX,
    PolicyKind.SESSION: SESSION_POLICY_MAX,
    PolicyKind.SCP: SCP_MAX,
    PolicyKind.RESOURCE: BUCKET_POLICY_MAX,
}

_WHITESPACE_FREE_KINDS = frozenset({PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.TRUST})
_WHITESPACE_TABLE = str.maketrans("", "", " \t\n\r")

# IAM's LimitExceeded texts name the quota; the other services get a neutral wording.
_QUOTA_NAMES: dict[PolicyKind, str] = {
    PolicyKind.IDENTITY: "PolicySize",
    PolicyKind.BOUNDARY: "PolicySize",
    PolicyKind.TRUST: "ACLSizePerRole",
}
SIZE_MESSAGE_PREFIXES = ("Cannot exceed quota for ", "Policy document exceeds the maximum size ")


def counts_whitespace(kind: PolicyKind) -> bool:
    """Whether whitespace counts towards the size quota of this kind of policy."""
    return kind not in _WHITESPACE_FREE_KINDS


def measured_size(text: str, kind: PolicyKind) -> int:
    """The size of `text` as the service owning `kind` counts it against its quota."""
    if counts_whitespace(kind):
        return len(text)
    return len(text.translate(_WHITESPACE_TABLE))


def size_limit_message(kind: PolicyKind, limit: int) -> str:
    """The AWS-style text for a document over `limit`."""
    quota = _QUOTA_NAMES.get(kind)
    if quota is not None:
        return f"Cannot exceed quota for {quota}: {limit}"
    return f"Policy document exceeds the maximum size of {limit} characters."


def size_problem(text: str, kind: PolicyKind, max_size: int | None = None) -> str | None:
    """The size message if `text` is over the quota (`max_size` overrides the kind default)."""
    limit = DEFAULT_MAX_SIZE[kind] if max_size is None else max_size
    if len(text) <= limit:
        return None  # cheap exit: removing whitespace can only shrink it
    if measured_size(text, kind) <= limit:
        return None
    return size_limit_message(kind, limit)


def is_size_message(message: str) -> bool:
    """True for the messages `size_problem` produces, which IAM reports as LimitExceeded."""
    return message.startswith(SIZE_MESSAGE_PREFIXES)
