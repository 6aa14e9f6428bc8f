"""Checking a policy document in the console's editor before it is saved.

The messages are the policy engine's (the ones IAM answers, first one first); a JSON syntax
error also gets the line and column where parsing stopped and that line, so the author can
find it. Saving still goes through the IAM operation, which validates again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from trailgate.policy import PolicyKind, validate_policy
from trailgate.policy.document import PolicyJsonError, load_policy_json


@dataclass(frozen=True)
class SyntaxProblem:
    line: int
    column: int
    detail: str
    excerpt: str  # the line where parsing stopped

    @property
    def caret(self) -> str:
        return " " * max(0, self.column - 1) + "^"


@dataclass(frozen=True)
class CheckResult:
    messages: list[str]
    syntax: SyntaxProblem | None = None

    @property
    def ok(self) -> bool:
        return not self.messages


def _syntax_problem(text: str) -> SyntaxProblem | None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        lines = text.splitlines() or [""]
        excerpt = lines[exc.lineno - 1] if 0 < exc.lineno <= len(lines) else ""
        return SyntaxProblem(exc.lineno, exc.colno, exc.msg, excerpt)
    except RecursionError:
        return SyntaxProblem(1, 1, "The document is nested too deeply.", "")
    try:
        load_policy_json(text)
    except PolicyJsonError as exc:
        # Valid for Python's json but not for IAM: a repeated member name, NaN, Infinity.
        return SyntaxProblem(0, 0, str(exc), "")
    return None


def check_document(text: str, kind: PolicyKind, *, managed: bool = False) -> CheckResult:
    """The engine's messages for `text` as a policy of `kind` ([] when it may be saved)."""
    if not text.strip():
        return CheckResult(["The policy document is empty."])
    syntax = _syntax_problem(text)
    max_size = None if managed or kind is not PolicyKind.IDENTITY else 1 << 30
    messages = validate_policy(text, kind, managed=managed, max_size=max_size)
    if syntax is not None and not messages:
        messages = ["Syntax errors in policy."]
    return CheckResult(messages, syntax)
