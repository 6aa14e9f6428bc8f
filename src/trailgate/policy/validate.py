"""Validation of IAM policy documents, per policy kind, with the messages AWS returns.

Owns `validate_policy`, `parse_policy` and `MalformedPolicyDocument` (see docs: policy contract).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from trailgate.policy.arns import is_valid_aws_principal, resource_problem
from trailgate.policy.document import PolicyJsonError, load_policy_json
from trailgate.policy.kinds import PolicyKind
from trailgate.policy.limits import is_size_message, size_problem

VERSION_2008 = "2008-10-17"
VERSION_2012 = "2012-10-17"
VALID_VERSIONS = frozenset({VERSION_2008, VERSION_2012})
DEFAULT_VERSION = VERSION_2008
"""IAM treats a document without Version as 2008-10-17: policy variables stay literal text."""

SYNTAX_ERROR = "Syntax errors in policy."
PRINCIPAL_NOT_ALLOWED = "Policy document should not specify a principal."
MISSING_ACTIONS = "Policy statement must contain actions."
MISSING_RESOURCES = "Policy statement must contain resources."
MISSING_PRINCIPAL = "Missing required field Principal"
MISSING_EFFECT = "Missing required field Effect"
DUPLICATE_SID = "Statement IDs (SID) in a single policy must be unique."
SID_NOT_ALPHANUMERIC = (
    "Statement IDs (SID) must be alpha-numeric. "
    "Check that your input satisfies the regular expression [0-9A-Za-z]*"
)
NO_VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON = "Actions/Condition can contain only one colon."
INVALID_VERSION = "Policy document must be version 2012-10-17 or greater."
INVALID_PRINCIPAL = "Invalid principal in policy"
NOT_PRINCIPAL_WITH_ALLOW = "NotPrincipal can only be used with Deny"


def prohibited_field(name: str) -> str:
    return f"Has prohibited field {name}"


def invalid_condition_type(operator: str) -> str:
    return f"Invalid Condition type : {operator}"


class MalformedPolicyDocument(ValueError):
    """Raised with the first AWS-style message; `.messages` holds all of them."""

    messages: list[str]

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages) or [SYNTAX_ERROR]
        super().__init__(self.messages[0])

    @property
    def size_exceeded(self) -> bool:
        """True when the document is over its size quota (IAM answers LimitExceeded then)."""
        return any(is_size_message(m) for m in self.messages)


_TOP_LEVEL_KEYS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal",
     "NotPrincipal", "Condition"}
)
_EFFECTS = frozenset({"Allow", "Deny"})
_PRINCIPAL_FREE_KINDS = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP}
)
_PRINCIPAL_KINDS = frozenset({PolicyKind.RESOURCE, PolicyKind.TRUST})
_ALNUM_SID_KINDS = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.TRUST,
     PolicyKind.SCP}
)
_SID_ALNUM = re.compile(r"[0-9A-Za-z]*")
_VENDOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
_ACTION_NAME = re.compile(r"[A-Za-z0-9*?_-]*")
_CANONICAL_USER = re.compile(r"[0-9a-f]{64}")
_PRINCIPAL_TYPES = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})

_CONDITION_BASE_OPERATORS = frozenset(
    {
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
        "StringLike", "StringNotLike",
        "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
        "NumericGreaterThan", "NumericGreaterThanEquals",
        "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool", "BinaryEquals", "IpAddress", "NotIpAddress",
        "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
    }
)
_SET_QUALIFIERS = ("ForAllValues:", "ForAnyValue:")
_IF_EXISTS = "IfExists"


def is_condition_operator(name: str) -> bool:
    """True for every operator IAM accepts, including IfExists and set-qualified forms."""
    for qualifier in _SET_QUALIFIERS:
        if name.startswith(qualifier):
            name = name[len(qualifier):]
            break
    if name == "Null":
        return True
    if name.endswith(_IF_EXISTS):
        name = name[: -len(_IF_EXISTS)]
    return name in _CONDITION_BASE_OPERATORS


class _Problems:
    """Ordered, de-duplicated list of messages."""

    __slots__ = ("items", "seen")

    def __init__(self) -> None:
        self.items: list[str] = []
        self.seen: set[str] = set()

    def add(self, message: str) -> None:
        if message not in self.seen:
            self.seen.add(message)
            self.items.append(message)


def _as_string_list(value: Any) -> list[str] | None:
    """`value` as a list of strings (a lone string counts), or None if it has another shape."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def _check_actions(value: Any, problems: _Problems) -> None:
    actions = _as_string_list(value)
    if actions is None:
        problems.add(SYNTAX_ERROR)
        return
    if not actions:
        problems.add(MISSING_ACTIONS)
    for action in actions:
        if action == "*":
            continue
        vendor, colon, name = action.partition(":")
        if not colon:
            problems.add(NO_VENDOR)
        elif ":" in name:
            problems.add(ONE_COLON)
        elif _VENDOR.fullmatch(vendor) is None:
            problems.add(f"Vendor {vendor} is not valid")
        elif _ACTION_NAME.fullmatch(name) is None:
            problems.add(f"Action {action} is not valid")


def _check_resources(value: Any, problems: _Problems) -> None:
    resources = _as_string_list(value)
    if resources is None:
        problems.add(SYNTAX_ERROR)
        return
    if not resources:
        problems.add(MISSING_RESOURCES)
    for resource in resources:
        problem = resource_problem(resource)
        if problem is not None:
            problems.add(problem)


def _principal_value_ok(kind_key: str, value: str, policy_kind: PolicyKind) -> bool:
    if kind_key == "AWS":
        return is_valid_aws_principal(value)
    if kind_key == "CanonicalUser":
        return policy_kind is PolicyKind.RESOURCE and _CANONICAL_USER.fullmatch(value) is not None
    # Service and Federated names are free-form (service hosts, IdP ARNs, web IdP hosts).
    return bool(value) and not any(ch.isspace() for ch in value)


def _check_principal(value: Any, policy_kind: PolicyKind, problems: _Problems) -> None:
    if isinstance(value, str):
        if value != "*":
            problems.add(f"{INVALID_PRINCIPAL}: {value}")
        return
    if not isinstance(value, Mapping) or not value:
        problems.add(SYNTAX_ERROR)
        return
    for principal_type, entries in value.items():
        names = _as_string_list(entries)
        if principal_type not in _PRINCIPAL_TYPES:
            problems.add(f'{INVALID_PRINCIPAL}: "{principal_type}"')
            continue
        if names is None or not names:
            problems.add(SYNTAX_ERROR)
            continue
        for name in names:
            if not _principal_value_ok(principal_type, name, policy_kind):
                problems.add(f'{INVALID_PRINCIPAL}: "{principal_type}":"{name}"')


def _condition_value_ok(value: Any) -> bool:
    if isinstance(value, str | int | float):  # bool is an int
        return True
    if isinstance(value, list):
        return all(isinstance(item, str | int | float) for item in value)
    return False


def _check_condition(value: Any, problems: _Problems) -> None:
    if not isinstance(value, Mapping):
        problems.add(SYNTAX_ERROR)
        return
    for operator, block in value.items():
        if not is_condition_operator(operator):
            problems.add(invalid_condition_type(operator))
            continue
        if not isinstance(block, Mapping):
            problems.add(SYNTAX_ERROR)
            continue
        for key, key_values in block.items():
            vendor, colon, _ = key.partition(":")
            if not colon or not vendor:
                problems.add(NO_VENDOR)
            if not _condition_value_ok(key_values):
                problems.add(SYNTAX_ERROR)


def _check_statement(statement: Any, kind: PolicyKind, problems: _Problems) -> None:
    if not isinstance(statement, Mapping):
        problems.add(SYNTAX_ERROR)
        return
    for key in statement:
        if key not in _STATEMENT_KEYS:
            problems.add(SYNTAX_ERROR)

    sid = statement.get("Sid")
    if sid is not None:
        if not isinstance(sid, str):
            problems.add(SYNTAX_ERROR)
        elif kind in _ALNUM_SID_KINDS and _SID_ALNUM.fullmatch(sid) is None:
            problems.add(SID_NOT_ALPHANUMERIC)

    effect = statement.get("Effect")
    if effect is None:
        problems.add(MISSING_EFFECT)
    elif effect not in _EFFECTS:
        problems.add(SYNTAX_ERROR)

    has_action = "Action" in statement
    has_not_action = "NotAction" in statement
    if has_action and has_not_action:
        problems.add(SYNTAX_ERROR)
    elif not has_action and not has_not_action:
        problems.add(MISSING_ACTIONS)
    else:
        _check_actions(statement["Action" if has_action else "NotAction"], problems)

    has_resource = "Resource" in statement
    has_not_resource = "NotResource" in statement
    if kind is PolicyKind.TRUST:
        if has_resource:
            problems.add(prohibited_field("Resource"))
        if has_not_resource:
            problems.add(prohibited_field("NotResource"))
    elif has_resource and has_not_resource:
        problems.add(SYNTAX_ERROR)
    elif not has_resource and not has_not_resource:
        problems.add(MISSING_RESOURCES)
    else:
        _check_resources(statement["Resource" if has_resource else "NotResource"], problems)

    has_principal = "Principal" in statement
    has_not_principal = "NotPrincipal" in statement
    if kind in _PRINCIPAL_FREE_KINDS:
        if has_principal or has_not_principal:
            problems.add(PRINCIPAL_NOT_ALLOWED)
    elif has_principal and has_not_principal:
        problems.add(SYNTAX_ERROR)
    elif not has_principal and not has_not_principal:
        problems.add(MISSING_PRINCIPAL)
    elif has_principal:
        _check_principal(statement["Principal"], kind, problems)
    elif kind is PolicyKind.TRUST:
        problems.add(prohibited_field("NotPrincipal"))
    else:
        if effect == "Allow":
            problems.add(NOT_PRINCIPAL_WITH_ALLOW)
        _check_principal(statement["NotPrincipal"], kind, problems)

    if "Condition" in statement:
        _check_condition(statement["Condition"], problems)


def _check_document(
    document: str | Mapping[str, Any], kind: PolicyKind, max_size: int | None
) -> tuple[list[str], dict[str, Any] | None]:
    problems = _Problems()
    if isinstance(document, str):
        size_message = size_problem(document, kind, max_size)
        if size_message is not None:
            problems.add(size_message)
        try:
            parsed = load_policy_json(document)
        except PolicyJsonError:
            problems.add(SYNTAX_ERROR)
            return problems.items, None
    else:
        parsed = document

    if not isinstance(parsed, Mapping):
        problems.add(SYNTAX_ERROR)
        return problems.items, None

    for key in parsed:
        if key not in _TOP_LEVEL_KEYS:
            problems.add(SYNTAX_ERROR)

    version = parsed.get("Version", DEFAULT_VERSION)
    if version not in VALID_VERSIONS:
        problems.add(INVALID_VERSION)
    policy_id = parsed.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        problems.add(SYNTAX_ERROR)

    if "Statement" not in parsed:
        problems.add(SYNTAX_ERROR)
        statements: list[Any] = []
    else:
        raw = parsed["Statement"]
        statements = [raw] if isinstance(raw, Mapping) else raw
        if not isinstance(statements, list) or not statements:
            problems.add(SYNTAX_ERROR)
            statements = []

    sids: set[str] = set()
    for statement in statements:
        _check_statement(statement, kind, problems)
        if isinstance(statement, Mapping):
            sid = statement.get("Sid")
            if isinstance(sid, str) and sid:
                if sid in sids:
                    problems.add(DUPLICATE_SID)
                sids.add(sid)

    result = dict(parsed)
    result.setdefault("Version", DEFAULT_VERSION)
    return problems.items, result


def validate_policy(
    document: str | Mapping[str, Any], kind: PolicyKind, *, max_size: int | None = None
) -> list[str]:
    """All problems found, AWS-style messages; [] means valid.

    A str document is parsed as JSON and its size checked against the quota of `kind`
    (`max_size` overrides it, e.g. for inline policies).
    """
    return _check_document(document, kind, max_size)[0]


def parse_policy(
    document: str | Mapping[str, Any], kind: PolicyKind, *, max_size: int | None = None
) -> dict[str, Any]:
    """Validate and return the parsed document, Version filled in.

    Raises MalformedPolicyDocument.
    """
    problems, parsed = _check_document(document, kind, max_size)
    if problems or parsed is None:
        raise MalformedPolicyDocument(problems)
    return parsed
