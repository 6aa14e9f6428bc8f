"""Compiling a validated policy document into matchers that every evaluation reuses.

`compile_policy` validates the document (`validate.parse_policy`), then turns each statement
into a `CompiledStatement`: an action test (literal set / prefix / one regular expression, on
the lower-cased action), a Principal / NotPrincipal spec, and one `check(resource, context)`
closure holding the resource matcher and the condition tests. Nothing is parsed or compiled
again per request; the statements that can match an action are remembered per policy.

Compiled bodies are cached by the document's text (a str document) or canonical JSON (a mapping)
together with the kind, so a document that recurs is validated and compiled once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trailgate.policy import conditions, variables, wildcard
from trailgate.policy.kinds import PolicyKind
from trailgate.policy.principal import PrincipalSpec
from trailgate.policy.validate import MalformedPolicyDocument, parse_policy
from trailgate.policy.variables import Context, Template

Check = Callable[[str, Context], bool]

_ACTION_CACHE_MAX = 2048
_POLICY_CACHE_MAX = 20_000


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _always(_resource: str, _context: Context) -> bool:
    return True


def _never_action(_action: str) -> bool:
    return False


class CompiledStatement:
    """One statement, ready to be matched. `index` counts from 0 in document order."""

    __slots__ = (
        "action_test", "check", "deny", "effect", "index", "not_principal", "principal",
        "sid",
    )

    def __init__(self, index: int, statement: Mapping[str, Any], version: str | None) -> None:
        self.index = index
        sid = statement.get("Sid")
        self.sid: str | None = sid if isinstance(sid, str) and sid else None
        self.effect: str = "Deny" if statement.get("Effect") == "Deny" else "Allow"
        self.deny = self.effect == "Deny"
        self.action_test = self._action_test(statement)
        self.principal = (
            PrincipalSpec(statement["Principal"]) if "Principal" in statement else None
        )
        self.not_principal = (
            PrincipalSpec(statement["NotPrincipal"]) if "NotPrincipal" in statement else None
        )
        self.check = self._check(statement, version)

    @property
    def label(self) -> str:
        """The Sid, or the statement's position ("#0") when it has none."""
        return self.sid if self.sid is not None else f"#{self.index}"

    @staticmethod
    def _action_test(statement: Mapping[str, Any]) -> Callable[[str], bool]:
        if "Action" in statement:
            return wildcard.compile_patterns(_strings(statement["Action"]), arn=False,
                                             fold_case=True)
        if "NotAction" in statement:
            listed = wildcard.compile_patterns(_strings(statement["NotAction"]), arn=False,
                                               fold_case=True)
            return lambda action: not listed(action)
        return _never_action

    @staticmethod
    def _check(statement: Mapping[str, Any], version: str | None) -> Check:
        negated = "Resource" not in statement and "NotResource" in statement
        has_resource = "Resource" in statement or negated
        patterns = _strings(statement["NotResource" if negated else "Resource"]) \
            if has_resource else []
        static: list[list[wildcard.Chunk]] = []
        dynamic: list[Template] = []
        required: set[str] = set()
        for pattern in patterns:
            template = variables.parse(pattern, version)
            if template is None:
                static.append(wildcard.plain(pattern))
            elif template.is_static:
                static.append(template.chunks({}))
            else:
                dynamic.append(template)
                required |= template.required
        tests, condition_vars = conditions.compile_block(statement.get("Condition"), version)
        required |= condition_vars
        return _make_check(
            has_resource, negated, wildcard.compile_chunk_patterns(static, arn=True),
            tuple(dynamic), frozenset(required), tests,
        )


def _make_check(has_resource: bool, negated: bool, static: Callable[[str], bool],
                dynamic: tuple[Template, ...], required: frozenset[str],
                tests: tuple[conditions.Test, ...]) -> Check:
    if not required and not tests and not dynamic:
        if not has_resource:
            return _always
        if negated:
            return lambda resource, _context: not static(resource)
        return lambda resource, _context: static(resource)

    def check(resource: str, context: Context) -> bool:
        for key in required:
            if type(context.get(key)) is not str:
                return False  # an unresolvable policy variable: the statement does not apply
        if has_resource:
            matched = static(resource)
            if not matched and dynamic:
                matched = any(
                    wildcard.match_one(template.chunks(context), resource, arn=True)
                    for template in dynamic
                )
            if matched is negated:
                return False
        for test in tests:  # noqa: SIM110 - a plain loop is faster than all() on the hot path
            if not test(context):
                return False
        return True

    return check


class PolicyBody:
    """The compiled statements of one document, shared by every CompiledPolicy made from it."""

    __slots__ = ("by_action", "statements", "version")

    def __init__(self, document: Mapping[str, Any]) -> None:
        version = document.get("Version")
        self.version: str | None = version if isinstance(version, str) else None
        raw = document.get("Statement", [])
        statements = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
        self.statements = tuple(
            CompiledStatement(index, statement, self.version)
            for index, statement in enumerate(statements)
            if isinstance(statement, Mapping)
        )
        # action (lower case) -> the statements whose Action / NotAction matches it
        self.by_action: dict[str, tuple[CompiledStatement, ...]] = {}

    def candidates(self, action_lower: str) -> tuple[CompiledStatement, ...]:
        """The statements whose Action / NotAction matches the (lower-cased) action."""
        found = self.by_action.get(action_lower)
        if found is None:
            found = tuple(s for s in self.statements if s.action_test(action_lower))
            if len(self.by_action) >= _ACTION_CACHE_MAX:
                self.by_action.clear()
            self.by_action[action_lower] = found
        return found


class CompiledPolicy:
    """A validated, compiled policy with the name and kind it is attached as."""

    __slots__ = ("body", "kind", "name")

    def __init__(self, name: str, kind: PolicyKind, body: PolicyBody) -> None:
        self.name = name
        self.kind = kind
        self.body = body

    @property
    def statements(self) -> tuple[CompiledStatement, ...]:
        return self.body.statements

    @property
    def version(self) -> str | None:
        return self.body.version

    def renamed(self, name: str) -> CompiledPolicy:
        return CompiledPolicy(name, self.kind, self.body)

    def __repr__(self) -> str:
        return f"CompiledPolicy(name={self.name!r}, kind={self.kind.value!r})"


def canonical_json(document: Any) -> str:
    """The text two equal documents share, whatever their key order or spacing."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


_cache: dict[tuple[PolicyKind, Any], PolicyBody | MalformedPolicyDocument] = {}
_bodies: dict[str, PolicyBody] = {}


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _POLICY_CACHE_MAX:
        cache.clear()
    cache[key] = value


def compile_policy(document: str | bytes | Mapping[str, Any], kind: PolicyKind | str,
                   name: str = "") -> CompiledPolicy:
    """Validate `document` as a policy of `kind` and compile it; raises MalformedPolicyDocument.

    Repeated documents (same text, or same canonical JSON for a mapping) are validated and
    compiled once."""
    kind = PolicyKind(kind)
    key: tuple[PolicyKind, Any] = (
        (kind, document) if isinstance(document, str | bytes) else
        (kind, canonical_json(document))
    )
    cached = _cache.get(key)
    if cached is None:
        try:
            parsed = parse_policy(document, kind)
        except MalformedPolicyDocument as exc:
            _remember(_cache, key, exc)
            raise
        canonical = canonical_json(parsed)
        body = _bodies.get(canonical)
        if body is None:
            body = PolicyBody(parsed)
            _remember(_bodies, canonical, body)
        _remember(_cache, key, body)
        cached = body
    if isinstance(cached, MalformedPolicyDocument):
        raise cached.with_traceback(None)
    return CompiledPolicy(name, kind, cached)


def compile_policies(documents: Sequence[str | Mapping[str, Any]], kind: PolicyKind,
                     prefix: str) -> list[CompiledPolicy]:
    """Compile several documents of one kind, named `prefix-0`, `prefix-1`, ..."""
    return [compile_policy(doc, kind, f"{prefix}-{i}") for i, doc in enumerate(documents)]
