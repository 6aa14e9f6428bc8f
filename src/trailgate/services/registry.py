"""The operation registry: each service operation is a plain function plus what it needs authorized.

An operation declares, next to its body, the IAM checks the pipeline must pass before calling it
(`authorize`): one `AuthzCheck` per action and resource (CopyObject declares two, DeleteObjects one
per key). The pipeline evaluates them with the policy engine; the body never re-checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trailgate.auth.principal import Principal
    from trailgate.auth.result import AuthResult
    from trailgate.http import HttpRequest
    from trailgate.policy import CompiledPolicy
    from trailgate.runtime import Runtime
    from trailgate.store.raw import RawWrite


@dataclass
class CallContext:
    """Everything an operation may know about the call it serves."""

    runtime: Runtime
    principal: Principal
    request_id: str
    now: datetime
    region: str
    source_ip: str
    user_agent: str
    secure_transport: bool = False
    # How the request was authenticated (signature version, payload mode for S3 uploads) and
    # the request itself (S3 reads headers and streams bodies); None for internal calls.
    auth: AuthResult | None = None
    request: HttpRequest | None = None
    # Extra facts an operation leaves for the CloudTrail recorder (resources, shared event id...).
    trail: dict[str, Any] = field(default_factory=dict)
    # Outcomes of per-item checks (DeleteObjects), by AuthzCheck.item.
    item_decisions: dict[str, bool] = field(default_factory=dict)
    # What an operation's `authorize` already read (a row, a policy), for its body to reuse.
    scratch: dict[str, Any] = field(default_factory=dict)
    # Requests on the wire: writes the recorder commits with the call's CloudTrail events
    # (ApiCall.writes). None for in-process calls, which commit their rows themselves.
    writes: list[RawWrite] | None = None


@dataclass(frozen=True)
class AuthzCheck:
    """One question for the policy engine: may the caller do `action` on `resource`?"""

    action: str
    resource: str
    resource_account: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    resource_policy: CompiledPolicy | None = None
    resource_is_trust_policy: bool = False
    # For per-item checks (DeleteObjects keys): an id the operation uses to look up the outcome.
    item: str | None = None


Operation = Callable[[CallContext, dict[str, Any]], dict[str, Any]]
Authorizer = Callable[[CallContext, dict[str, Any]], Sequence[AuthzCheck]]


@dataclass(frozen=True)
class OperationSpec:
    service: str
    name: str
    func: Operation
    authorize: Authorizer | None  # None: no permission needed (GetCallerIdentity)
    read_only: bool
    # Per-item checks deny only the item (DeleteObjects); otherwise any denial fails the call.
    per_item: bool = False
    # Slow CPU work (password hashing) that must not hold up the event loop: such calls run in
    # a worker thread even when the server serves others on the loop (server.py).
    blocking: bool = False


_REGISTRY: dict[tuple[str, str], OperationSpec] = {}


def operation(
    service: str,
    name: str,
    *,
    authorize: Authorizer | None,
    read_only: bool = False,
    per_item: bool = False,
    blocking: bool = False,
) -> Callable[[Operation], Operation]:
    def register(func: Operation) -> Operation:
        _REGISTRY[(service, name)] = OperationSpec(
            service, name, func, authorize, read_only, per_item, blocking
        )
        return func

    return register


def lookup(service: str, name: str) -> OperationSpec | None:
    return _REGISTRY.get((service, name))


def registered(service: str | None = None) -> list[OperationSpec]:
    return [s for s in _REGISTRY.values() if service is None or s.service == service]
