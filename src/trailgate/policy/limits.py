"""Size quotas for policy documents, per kind, and how each service measures a document.

What counts (checked in the AWS docs, Nov 2026):
- IAM (identity, boundary, trust): "IAM does not count white space when calculating the size
  of a policy" (IAM User Guide, "IAM and AWS STS quotas"). We drop the whitespace JSON allows
  between tokens and keep whitespace inside strings, which is part of the policy's meaning.
- S3 bucket policies: 20 KB, measured on the compact form, so the same whitespace rule, in
  UTF-8 bytes.
- SCPs: "All characters in your SCP count against its maximum size" when saved through the API
  (Organizations User Guide, "SCP syntax"); only the console strips whitespace.
- Session policies: STS checks the raw `Policy` parameter against 2,048 characters (botocore
  model `sessionPolicyDocumentType`). Its separate packed-size check is STS's business.

Inline policies share one aggregate quota per user (2,048), group (5,120) or role (10,240);
the IAM service sums `measured_size` over an entity's policies and uses
`inline_policy_size_message` for IAM's LimitExceeded text.
"""

from __future__ import annotations

import re

from trailgate.policy.kinds import PolicyKind

MANAGED_POLICY_MAX = 6_144
"""Customer managed policy, which is also what a permissions boundary is."""
INLINE_USER_AGGREGATE_MAX = 2_048
INLINE_GROUP_AGGREGATE_MAX = 5_120
INLINE_ROLE_AGGREGATE_MAX = 10_240
TRUST_POLICY_DEFAULT_MAX = 2_048
TRUST_POLICY_RAISED_MAX = 4_096
"""The highest value the "Role trust policy length" quota can be raised to."""
SESSION_POLICY_MAX = 2_048
SCP_MAX = 5_120
BUCKET_POLICY_MAX = 20 * 1_024

DEFAULT_MAX_SIZE: dict[PolicyKind, int] = {
    # The largest a single identity policy can legally be (a role's inline policies). Stored
    # policies are compiled again later, so a tighter default would refuse valid ones; the IAM
    # service asks for the managed quota (`managed=True`) or passes the inline aggregate.
    PolicyKind.IDENTITY: INLINE_ROLE_AGGREGATE_MAX,
    PolicyKind.BOUNDARY: MANAGED_POLICY_MAX,
    PolicyKind.TRUST: TRUST_POLICY_DEFAULT_MAX,
    PolicyKind.SESSION: SESSION_POLICY_MAX,
    PolicyKind.SCP: SCP_MAX,
    PolicyKind.RESOURCE: BUCKET_POLICY_MAX,
}

_RAW_LENGTH_KINDS = frozenset({PolicyKind.SCP, PolicyKind.SESSION})
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_WHITESPACE = str.maketrans("", "", " \t\n\r")

# IAM's LimitExceeded texts name the quota (IAM answered "Cannot exceed the quota for
# PolicySize: 6144." in 2025; older answers lack "the" and the full stop).
_IAM_QUOTA_NAMES: dict[PolicyKind, str] = {
    PolicyKind.IDENTITY: "PolicySize",
    PolicyKind.BOUNDARY: "PolicySize",
    PolicyKind.TRUST: "ACLSizePerRole",
}
_IAM_SIZE_PREFIX = "Cannot exceed the quota for "
_INLINE_SIZE_PREFIX = "Maximum policy size of "
_S3_SIZE_MESSAGE = "Policy exceeds the maximum allowed document size."
_SCP_SIZE_MESSAGE = "You have exceeded the maximum policy size."
_SESSION_SIZE_PREFIX = "Session policy exceeds the maximum size of "


def counts_whitespace(kind: PolicyKind) -> bool:
    """Whether whitespace between JSON tokens counts towards this kind's size quota."""
    return kind in _RAW_LENGTH_KINDS


def _whitespace(text: str) -> int:
    return len(text) - len(text.translate(_JSON_WHITESPACE))


def _insignificant_whitespace(text: str) -> int:
    # All whitespace minus what sits inside string tokens; C-level passes only, as this runs
    # on every policy write.
    return _whitespace(text) - _whitespace("".join(_JSON_STRING.findall(text)))


def measured_size(text: str, kind: PolicyKind) -> int:
    """The size of `text` as the service owning `kind` counts it against its quota."""
    if counts_whitespace(kind):
        return len(text)
    if kind is PolicyKind.RESOURCE:
        return len(text.encode("utf-8")) - _insignificant_whitespace(text)
    return len(text) - _insignificant_whitespace(text)


def size_limit_message(kind: PolicyKind, limit: int) -> str:
    """The AWS-style text for a document of `kind` over `limit`."""
    quota = _IAM_QUOTA_NAMES.get(kind)
    if quota is not None:
        return f"{_IAM_SIZE_PREFIX}{quota}: {limit}."
    if kind is PolicyKind.RESOURCE:
        return _S3_SIZE_MESSAGE
    if kind is PolicyKind.SCP:
        return _SCP_SIZE_MESSAGE
    return f"{_SESSION_SIZE_PREFIX}{limit} characters."


def inline_policy_size_message(entity_type: str, entity_name: str, limit: int) -> str:
    """IAM's LimitExceeded text for an inline policy set over its aggregate quota.

    `entity_type` is "user", "group" or "role" (IAM answered "Maximum policy size of 5120
    bytes exceeded for group travis-ci").
    """
    return f"{_INLINE_SIZE_PREFIX}{limit} bytes exceeded for {entity_type} {entity_name}"


def max_size_for(kind: PolicyKind, max_size: int | None = None, managed: bool = False) -> int:
    """The quota that applies: `max_size` if given, the managed-policy quota for a managed
    identity policy, else the kind's default."""
    if max_size is not None:
        return max_size
    if managed and kind in (PolicyKind.IDENTITY, PolicyKind.BOUNDARY):
        return MANAGED_POLICY_MAX
    return DEFAULT_MAX_SIZE[kind]


def size_problem(
    text: str, kind: PolicyKind, max_size: int | None = None, managed: bool = False
) -> str | None:
    """The size message if `text` is over its quota (see `max_size_for`)."""
    limit = max_size_for(kind, max_size, managed)
    if len(text) <= limit and (kind is not PolicyKind.RESOURCE or text.isascii()):
        return None  # cheap exit: dropping whitespace only shrinks a document
    if measured_size(text, kind) <= limit:
        return None
    return size_limit_message(kind, limit)


def is_size_message(message: str) -> bool:
    """True for the messages of this module, which the services answer as a quota error
    (IAM: LimitExceeded, Organizations: ConstraintViolation) rather than a malformed policy."""
    return message.startswith(
        (_IAM_SIZE_PREFIX, _INLINE_SIZE_PREFIX, _SESSION_SIZE_PREFIX)
    ) or message in (_S3_SIZE_MESSAGE, _SCP_SIZE_MESSAGE)
