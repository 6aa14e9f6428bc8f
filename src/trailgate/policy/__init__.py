"""The IAM policy language, pure and without I/O: parse + validate, compile, evaluate, explain.

Public entry points are re-exported here so callers never reach into submodules.
"""

from trailgate.policy.compile import CompiledPolicy, CompiledStatement, compile_policy
from trailgate.policy.decision import Decision
from trailgate.policy.evaluate import evaluate
from trailgate.policy.explain import EvaluationResult, MatchedStatement
from trailgate.policy.kinds import PolicyKind
from trailgate.policy.principal import PrincipalInfo
from trailgate.policy.request import AuthzRequest, PolicySet
from trailgate.policy.validate import MalformedPolicyDocument, parse_policy, validate_policy

__all__ = [
    "AuthzRequest",
    "CompiledPolicy",
    "CompiledStatement",
    "Decision",
    "EvaluationResult",
    "MalformedPolicyDocument",
    "MatchedStatement",
    "PolicyKind",
    "PolicySet",
    "PrincipalInfo",
    "compile_policy",
    "evaluate",
    "parse_policy",
    "validate_policy",
]
