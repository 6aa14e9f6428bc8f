"""What is being asked (`AuthzRequest`) and which policies apply to it (`PolicySet`).

The request context is normalised once, when the request is built: keys in lower case (key
names are case-insensitive, the tag-key part of `aws:PrincipalTag/K` too), each value a `str`
(single-valued key) or a non-empty tuple of `str` (multivalued key). Booleans become
"true"/"false" and numbers their decimal text. A key whose value is None or an empty list is
treated as absent. The engine adds no keys of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trailgate.policy.conditions import scalar_text
from trailgate.policy.principal import PrincipalInfo

if TYPE_CHECKING:
    from trailgate.policy.compile import CompiledPolicy
    from trailgate.policy.variables import ContextValue

ContextInput = Mapping[str, "str | bool | int | float | Sequence[str | bool | int] | None"]


def normalize_context(context: Mapping[str, Any]) -> dict[str, ContextValue]:
    """The context as the engine reads it (see the module docstring)."""
    normalized: dict[str, ContextValue] = {}
    for key, value in context.items():
        if type(value) is str:
            normalized[key.lower()] = value
            continue
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            items = tuple(
                text for text in (scalar_text(item) for item in value) if text is not None
            )
            if not items:
                continue
            normalized[str(key).lower()] = items
            continue
        text = scalar_text(value)
        normalized[str(key).lower()] = text if text is not None else str(value)
    return normalized


@dataclass(frozen=True, slots=True)
class AuthzRequest:
    """One authorization question. `resource_account` None means the principal's account."""

    principal: PrincipalInfo
    action: str
    resource: str
    resource_account: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    action_lower: str = field(init=False, repr=False, compare=False)
    _normalized: dict[str, ContextValue] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "action_lower", self.action.lower())

    @property
    def normalized_context(self) -> dict[str, ContextValue]:
        # Normalised on first use: a decision that reads no condition (the root user, no
        # resource policy) never needs it.
        normalized = self._normalized
        if normalized is None:
            normalized = normalize_context(self.context)
            object.__setattr__(self, "_normalized", normalized)
        return normalized

    @property
    def same_account(self) -> bool:
        return self.resource_account is None or self.resource_account == self.principal.account


@dataclass(frozen=True, slots=True)
class PolicySet:
    """The policies that apply to one request.

    `identity`: the user's policies and its groups', or the role's. `resource`: the resource's
    policy (bucket policy, role trust policy...). `boundaries`: the permissions boundary
    (several documents are one boundary: any of them may allow). `session`: the session
    policies passed when the session was created (empty: none). `scps`: one list per
    organisation level, root first (empty: not in an organisation, or the management account).
    `resource_is_trust_policy`: the resource policy is a role trust policy, which must allow
    explicitly even within one account.
    """

    identity: Sequence[CompiledPolicy] = ()
    resource: CompiledPolicy | None = None
    boundaries: Sequence[CompiledPolicy] = ()
    session: Sequence[CompiledPolicy] = ()
    scps: Sequence[Sequence[CompiledPolicy]] = ()
    resource_is_trust_policy: bool = False
