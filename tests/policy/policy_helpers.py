"""Small builders shared by the evaluator tests (documents, principals, decisions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trailgate.policy import (
    AuthzRequest,
    CompiledPolicy,
    EvaluationResult,
    PolicyKind,
    PolicySet,
    PrincipalInfo,
    compile_policy,
    evaluate,
)

A = "111111111111"
B = "222222222222"
C = "333333333333"
Z = "444444444444"


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return document


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any
          ) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any
         ) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def identity(*statements: dict[str, Any], name: str = "id", version: str | None = "2012-10-17"
             ) -> CompiledPolicy:
    return compile_policy(doc(*statements, version=version), PolicyKind.IDENTITY, name)


def policy(kind: PolicyKind, *statements: dict[str, Any], name: str = "p") -> CompiledPolicy:
    return compile_policy(doc(*statements), kind, name)


def principal(arn: str) -> PrincipalInfo:
    return PrincipalInfo.from_arn(arn)


def decide(who: str | PrincipalInfo, action: str, resource: str, *,
           identity_policies: Sequence[CompiledPolicy] = (),
           resource_policy: CompiledPolicy | None = None,
           boundaries: Sequence[CompiledPolicy] = (),
           session: Sequence[CompiledPolicy] = (),
           scps: Sequence[Sequence[CompiledPolicy]] = (),
           trust: bool = False,
           resource_account: str | None = None,
           context: dict[str, Any] | None = None) -> EvaluationResult:
    info = who if isinstance(who, PrincipalInfo) else PrincipalInfo.from_arn(who)
    request = AuthzRequest(info, action, resource, resource_account, context or {})
    policies = PolicySet(identity_policies, resource_policy, boundaries, session, scps, trust)
    return evaluate(request, policies)
