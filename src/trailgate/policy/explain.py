"""What a decision says about itself: matched statements, the reason, AWS's AccessDenied text.

The reason phrases are AWS's (IAM User Guide, "Troubleshoot access denied error messages"):
an explicit deny reads "with an explicit deny in a <type>", an implicit one "because no <type>
allows the <action> action", with <type> one of identity-based policy, resource-based policy,
role trust policy, permissions boundary, session policy, service control policy. The message is
"User: <principal ARN> is not authorized to perform: <action> on resource: <resource> <reason>";
" on resource: ..." is left out when the resource is "*" (actions without a resource).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trailgate.policy.decision import Decision
from trailgate.policy.kinds import PolicyKind

if TYPE_CHECKING:
    from trailgate.policy.request import AuthzRequest

SCP = "scp"
RESOURCE = "resource"
TRUST = "trust"
IDENTITY = "identity"
BOUNDARY = "boundary"
SESSION = "session"
ROOT = "root"

_EXPLICIT_PHRASE = {
    SCP: "a service control policy",
    RESOURCE: "a resource-based policy",
    TRUST: "the role trust policy",
    IDENTITY: "an identity-based policy",
    BOUNDARY: "a permissions boundary",
    SESSION: "a session policy",
}
_IMPLICIT_NAME = {
    SCP: "service control policy",
    RESOURCE: "resource-based policy",
    TRUST: "role trust policy",
    IDENTITY: "identity-based policy",
    BOUNDARY: "permissions boundary",
    SESSION: "session policy",
}
_ALLOWED_PHRASE = {
    ROOT: "the account root user has full access to its own account",
    IDENTITY: "an identity-based policy",
    RESOURCE: "a resource-based policy",
    TRUST: "the role trust policy",
}


class MatchedStatement:
    """A statement that applied to the request (action, resource, principal and conditions)."""

    __slots__ = ("effect", "index", "level", "policy_kind", "policy_name", "principal_match",
                 "sid")

    def __init__(self, policy_name: str, policy_kind: PolicyKind, sid: str | None, index: int,
                 effect: str, level: int | None = None, principal_match: str | None = None
                 ) -> None:
        self.policy_name = policy_name
        self.policy_kind = policy_kind
        self.sid = sid
        self.index = index
        self.effect = effect
        self.level = level
        self.principal_match = principal_match

    @property
    def label(self) -> str:
        return self.sid if self.sid is not None else f"#{self.index}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "policy": self.policy_name,
            "kind": self.policy_kind.value,
            "sid": self.sid,
            "index": self.index,
            "effect": self.effect,
        }
        if self.level is not None:
            out["level"] = self.level
        if self.principal_match is not None:
            out["principalMatch"] = self.principal_match
        return out

    def describe(self) -> str:
        where = f"{self.policy_kind.value} policy {self.policy_name!r}"
        if self.level is not None:
            where += f" (organisation level {self.level})"
        text = f"{self.effect} by {where}, statement {self.label}"
        if self.principal_match is not None:
            text += f" (names the {self.principal_match})"
        return text

    def __repr__(self) -> str:
        return f"MatchedStatement({self.describe()})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MatchedStatement):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


class EvaluationResult:
    """The decision for one request and why."""

    __slots__ = ("by", "decision", "ignored", "matched", "request")

    def __init__(self, decision: Decision, by: tuple[str, ...], matched: list[MatchedStatement],
                 request: AuthzRequest, ignored: tuple[str, ...] = ()) -> None:
        self.decision = decision
        # For a denial: the one policy type that decided it; for an allow: the types that
        # granted it.
        self.by = by
        self.matched = matched
        self.request = request
        self.ignored = ignored

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOWED

    @property
    def reason(self) -> str:
        """AWS's phrase for a denial ("because no identity-based policy allows the s3:GetObject
        action"), or which policies granted the request."""
        if self.decision is Decision.EXPLICITLY_DENIED:
            return f"with an explicit deny in {_EXPLICIT_PHRASE[self.by[0]]}"
        if self.decision is Decision.IMPLICITLY_DENIED:
            policy_type = _IMPLICIT_NAME[self.by[0]]
            return f"because no {policy_type} allows the {self.request.action} action"
        if self.by == (ROOT,):
            return _ALLOWED_PHRASE[ROOT]
        return "allowed by " + " and ".join(_ALLOWED_PHRASE[source] for source in self.by)

    def denial_message(self) -> str:
        """The AccessDenied message AWS would give ("" when the request is allowed)."""
        if self.allowed:
            return ""
        request = self.request
        text = f"User: {request.principal.arn} is not authorized to perform: {request.action}"
        if request.resource and request.resource != "*":
            text += f" on resource: {request.resource}"
        return f"{text} {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "reason": self.reason,
            "matched": [statement.to_dict() for statement in self.matched],
        }
        if not self.allowed:
            out["message"] = self.denial_message()
        if self.ignored:
            out["ignored"] = list(self.ignored)
        return out

    def explain(self) -> str:
        """A few lines for people: the decision, the reason, the statements that applied."""
        lines = [f"Decision: {self.decision.value}"]
        lines.append(f"Reason: {self.denial_message() or self.reason}")
        if self.matched:
            lines.append("Matched statements:")
            lines.extend(f"  - {statement.describe()}" for statement in self.matched)
        else:
            lines.append("Matched statements: none")
        for note in self.ignored:
            lines.append(f"Not applied: {note}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"EvaluationResult({self.decision.value}, {self.reason!r})"
