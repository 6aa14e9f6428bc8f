"""Validation of policy documents per kind, with the messages AWS answers.

Owns `validate_policy`, `parse_policy` and `MalformedPolicyDocument` (docs: policy contract).

IAM reports only the first failing check, in a fixed order of stages; we report every problem
but keep that order, so the first message is the one IAM would give:
  1. grammar ("Syntax errors in policy.": JSON, element names, types, Effect spelling in any
     case, known condition operators),
  2. Version (managed policies and SCPs need "2012-10-17"),
  3. the legacy parser ("The policy failed legacy parsing": Effect case, Date condition values,
     ARNs with "::" but fewer than six fields),
  4. unique Sids, 5. actions present, 6. resources present, 7. Resource formats,
  8. action vendors, 9. what the kind allows (principals, Resource in trust policies).
Those answers were recorded from IAM's CreatePolicy. Bucket policies (`PolicyKind.RESOURCE`)
get S3's own texts ("Policy has invalid resource", "Invalid principal in policy", ...).

Per kind (IAM User Guide, Organizations User Guide, Nov 2026):
- identity / boundary / session: no Principal or NotPrincipal; Resource or NotResource needed.
  A missing Version means 2008-10-17, under which policy variables are literal text; the parsed
  document records it. CreatePolicy (`managed=True`) refuses anything but 2012-10-17.
- trust: Principal needed, NotPrincipal and Resource/NotResource prohibited, actions limited
  to the STS assume-role family.
- resource (S3 bucket policy): Principal or NotPrincipal needed; NotPrincipal only with Deny;
  resources must be this bucket's ARNs.
- scp: since September 2025 SCPs accept the full IAM language (Condition, NotAction and
  resource ARNs in Allow statements, NotResource, wildcards anywhere in actions: AWS Security
  Blog "AWS Organizations service control policy now supports full IAM language"). Principal
  and NotPrincipal stay unsupported, and every SCP must carry Version "2012-10-17".
  Organizations answers any of these with one text, `SCP_MALFORMED_MESSAGE`; the messages we
  return say what is wrong and the Organizations service maps them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from trailgate.policy.arns import (
    fails_legacy_resource_parse,
    iam_resource_problem,
    is_bucket_policy_resource,
    is_canonical_user_id,
    is_valid_aws_principal,
    is_valid_federated_principal,
    is_valid_service_principal,
)
from trailgate.policy.document import PolicyJsonError, load_policy_json
from trailgate.policy.kinds import PolicyKind
from trailgate.policy.limits import (
    is_size_message,
    max_size_for,
    measured_size,
    size_problem,
)

VERSION_2008 = "2008-10-17"
VERSION_2012 = "2012-10-17"
VALID_VERSIONS = frozenset({VERSION_2008, VERSION_2012})
DEFAULT_VERSION = VERSION_2008
"""What IAM assumes without a Version element: policy variables stay literal text."""

# IAM texts (recorded answers of IAM, see the module docstring).
SYNTAX_ERROR = "Syntax errors in policy."
VERSION_REQUIRED = "Policy document must be version 2012-10-17 or greater."
LEGACY_PARSE_FAILED = "The policy failed legacy parsing"
DUPLICATE_SID = "Statement IDs (SID) in a single policy must be unique."
SID_NOT_ALPHANUMERIC = (
    "Statement IDs (SID) must be alpha-numeric. "
    "Check that your input satisfies the regular expression [0-9A-Za-z]*"
)
MISSING_ACTIONS = "Policy statement must contain actions."
MISSING_RESOURCES = "Policy statement must contain resources."
NO_VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON = "Actions/Condition can contain only one colon."
PRINCIPAL_NOT_ALLOWED = "Policy document should not specify a principal."
MISSING_PRINCIPAL = "Missing required field Principal"
INVALID_PRINCIPAL = "Invalid principal in policy"
# Chosen by us where no recorded IAM answer was found.
TRUST_ACTIONS_ONLY = "AssumeRole policy may only specify STS AssumeRole actions."

# S3 texts for bucket policies (answers of PutBucketPolicy reported by users and S3 clones).
S3_INVALID_JSON = "This policy contains invalid Json"
S3_FIRST_BYTE = "Policies must be valid JSON and the first byte must be '{'"
S3_SYNTAX_ERROR = "Invalid policy syntax."
S3_INVALID_VERSION = "The policy must contain a valid version string"
S3_MISSING_STATEMENT = "Missing required field Statement"
S3_EMPTY_STATEMENT = "Could not parse the policy: Statement is empty!"
S3_MISSING_ELEMENT = "Statement is missing required element"
S3_MISSING_EFFECT = "Missing required field Effect"
S3_INVALID_ACTION = "Policy has invalid action"
S3_INVALID_RESOURCE = "Policy has invalid resource"

SCP_MALFORMED_MESSAGE = (
    "The provided policy document does not meet the requirements of the specified policy type."
)
"""Organizations' MalformedPolicyDocumentException text for any invalid SCP."""


def prohibited_field(name: str) -> str:
    """IAM's text for an element a trust policy may not have ("Has prohibited field Resource")."""
    return f"Has prohibited field {name}"


def invalid_principal_message(kind: PolicyKind, principal_type: str, value: str) -> str:
    """The text for a principal the policy names but AWS refuses (bad shape or no such entity).

    IAM names the principal, its type upper-cased ('Invalid principal in policy:
    "SERVICE":"amazonaws.com"'); S3 does not.
    """
    if kind is PolicyKind.RESOURCE:
        return INVALID_PRINCIPAL
    return f'{INVALID_PRINCIPAL}: "{principal_type.upper()}":"{value}"'


def s3_invalid_condition_type(operator: str) -> str:
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


class PolicySizeExceeded(MalformedPolicyDocument):
    """The document is over its size quota; `messages[0]` is the quota text."""

    def __init__(self, messages: Sequence[str], size: int, limit: int) -> None:
        super().__init__(messages)
        self.size = size
        self.limit = limit


# Stages, in the order IAM checks them (module docstring).
(
    _SIZE, _GRAMMAR, _VERSION, _LEGACY, _SID, _ACTIONS, _RESOURCES_PRESENT, _RESOURCES, _VENDORS,
    _KIND,
) = range(10)

_TOP_LEVEL_KEYS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal",
     "NotPrincipal", "Condition"}
)
_EFFECTS = frozenset({"Allow", "Deny"})
_PRINCIPAL_FREE_KINDS = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP}
)
_IAM_SID = re.compile(r"[0-9A-Za-z]*")
_INVALID_VENDOR_CHAR = re.compile(r"[^A-Za-z0-9.-]")
_PRINCIPAL_TYPES = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
_TRUST_ACTIONS = (
    "sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity",
    "sts:tagsession", "sts:setsourceidentity", "sts:setcontext",
)

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
_MAX_EPOCH = 2**63 - 1
# ISO 8601 as IAM's legacy parser reads it: a date with optional month and day, then optional
# time, fraction of at most nine digits, and a zone of Z or +hh[:mm]/-hh[:mm].
_ISO_DATE = re.compile(
    r"-?(\d{1,9})(?:-(\d{1,2})(?:-(\d{1,2}))?)?"
    r"(?:t(\d{1,2})(?::(\d{1,2})(?::(\d{1,2})(?:\.\d{1,9})?)?)?"
    r"(?:z|[+-]\d{2}(?::?\d{2})?)?)?",
    re.IGNORECASE,
)


def condition_base_operator(name: str) -> str | None:
    """The operator without set qualifier and IfExists ("Null" stays "Null"), or None if IAM
    does not know it."""
    for qualifier in _SET_QUALIFIERS:
        if name.startswith(qualifier):
            name = name[len(qualifier):]
            break
    if name == "Null":
        return name
    if name.endswith(_IF_EXISTS):
        name = name[: -len(_IF_EXISTS)]
    return name if name in _CONDITION_BASE_OPERATORS else None


def is_condition_operator(name: str) -> bool:
    """True for every operator IAM accepts, including IfExists and set-qualified forms."""
    return condition_base_operator(name) is not None


def _is_valid_date_value(value: Any) -> bool:
    """Whether IAM's legacy parser accepts `value` under a Date operator."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value <= _MAX_EPOCH
    if not isinstance(value, str):
        return False
    if "t" not in value.lower() and "-" not in value:
        return value.isdigit() and int(value) <= _MAX_EPOCH
    match = _ISO_DATE.fullmatch(value)
    if match is None:
        return False
    month, day, hour, minute, second = match.group(2, 3, 4, 5, 6)
    return (
        (month is None or 1 <= int(month) <= 12)
        and (day is None or 1 <= int(day) <= 31)
        and (hour is None or int(hour) <= 23)
        and (minute is None or int(minute) <= 59)
        and (second is None or int(second) <= 59)
    )


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float)  # bool is an int


class _Check:
    """One validation run: the document's kind, options and the problems found so far."""

    __slots__ = ("bucket", "kind", "managed", "problems", "s3")

    def __init__(self, kind: PolicyKind, managed: bool, bucket: str | None) -> None:
        self.kind = kind
        self.s3 = kind is PolicyKind.RESOURCE
        self.managed = managed
        self.bucket = bucket
        self.problems: list[tuple[int, str]] = []

    def add(self, stage: int, message: str) -> None:
        self.problems.append((stage, message))

    def syntax(self) -> None:
        self.add(_GRAMMAR, S3_SYNTAX_ERROR if self.s3 else SYNTAX_ERROR)

    def messages(self) -> list[str]:
        ordered = sorted(self.problems, key=lambda problem: problem[0])
        return list(dict.fromkeys(message for _, message in ordered))

    # -- top level ------------------------------------------------------------------------

    def document(self, parsed: Any) -> None:
        if not isinstance(parsed, Mapping):
            self.add(_GRAMMAR, S3_FIRST_BYTE if self.s3 else SYNTAX_ERROR)
            return
        if any(key not in _TOP_LEVEL_KEYS for key in parsed):
            self.syntax()
        self.version(parsed)
        policy_id = parsed.get("Id")
        if policy_id is not None and not isinstance(policy_id, str):
            self.syntax()
        for statement in self.statement_list(parsed):
            self.statement(statement)
        self.unique_sids(parsed)

    def version(self, parsed: Mapping[str, Any]) -> None:
        version = parsed.get("Version")
        if "Version" in parsed and not (isinstance(version, str) and version in VALID_VERSIONS):
            self.add(_GRAMMAR, S3_INVALID_VERSION if self.s3 else SYNTAX_ERROR)
        elif version != VERSION_2012 and (self.managed or self.kind is PolicyKind.SCP):
            self.add(_VERSION, VERSION_REQUIRED)

    def statement_list(self, parsed: Mapping[str, Any]) -> list[Any]:
        if "Statement" not in parsed:
            self.add(_GRAMMAR, S3_MISSING_STATEMENT if self.s3 else SYNTAX_ERROR)
            return []
        statements = parsed["Statement"]
        if isinstance(statements, Mapping):
            return [statements]
        if not isinstance(statements, list):
            self.syntax()
            return []
        if not statements:
            self.add(_GRAMMAR, S3_EMPTY_STATEMENT if self.s3 else SYNTAX_ERROR)
        return statements

    def unique_sids(self, parsed: Mapping[str, Any]) -> None:
        statements = parsed.get("Statement")
        if not isinstance(statements, list):
            return
        seen: set[str] = set()
        for statement in statements:
            if not isinstance(statement, Mapping):
                continue
            sid = statement.get("Sid")
            if isinstance(sid, str) and sid:
                if sid in seen:
                    self.add(_SID, DUPLICATE_SID)
                    return
                seen.add(sid)

    # -- one statement --------------------------------------------------------------------

    def statement(self, statement: Any) -> None:
        if not isinstance(statement, Mapping):
            self.syntax()
            return
        if any(key not in _STATEMENT_KEYS for key in statement):
            self.syntax()
        if "Sid" in statement:
            self.sid(statement["Sid"])
        effect = self.effect(statement)
        self.actions(statement)
        self.resources(statement)
        self.principals(statement, effect)
        if "Condition" in statement:
            self.condition(statement["Condition"])

    def sid(self, sid: Any) -> None:
        if not isinstance(sid, str):
            self.syntax()
        elif not self.s3 and _IAM_SID.fullmatch(sid) is None:
            # S3 and other resource policies allow any characters ("Grant read access").
            self.add(_SID, SID_NOT_ALPHANUMERIC)

    def effect(self, statement: Mapping[str, Any]) -> str | None:
        if "Effect" not in statement:
            self.add(_GRAMMAR, S3_MISSING_EFFECT if self.s3 else SYNTAX_ERROR)
            return None
        effect = statement["Effect"]
        if not isinstance(effect, str):
            self.syntax()
            return None
        if effect in _EFFECTS:
            return effect
        # IAM's grammar takes "allow" or "DENY"; its legacy parser then refuses them.
        if not self.s3 and effect.capitalize() in _EFFECTS:
            self.add(_LEGACY, LEGACY_PARSE_FAILED)
            return effect.capitalize()
        self.syntax()
        return None

    def element_strings(self, statement: Mapping[str, Any], name: str, alt: str) -> list[str]:
        """The strings of `name` or `alt` (at most one may be present)."""
        if name in statement and alt in statement:
            self.syntax()
            return []
        key = name if name in statement else alt
        value = statement.get(key)
        if value is None:
            if key in statement:
                self.syntax()
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        self.syntax()
        return []

    def actions(self, statement: Mapping[str, Any]) -> None:
        has_element = "Action" in statement or "NotAction" in statement
        actions = self.element_strings(statement, "Action", "NotAction")
        if not actions:
            if not has_element or statement.get("Action", statement.get("NotAction")) == []:
                self.add(_ACTIONS, S3_MISSING_ELEMENT if self.s3 else MISSING_ACTIONS)
            return
        for action in actions:
            self.action_vendor(action)
        if self.kind is PolicyKind.TRUST and "Action" in statement:
            for action in actions:
                lowered = action.lower()
                if not any(fnmatchcase(name, lowered) for name in _TRUST_ACTIONS):
                    self.add(_KIND, TRUST_ACTIONS_ONLY)
                    break

    def action_vendor(self, action: str) -> None:
        if action == "*":
            return
        vendor, colon, name = action.partition(":")
        if self.s3:
            if not colon or ":" in name or vendor.lower() not in ("s3", "*"):
                self.add(_VENDORS, S3_INVALID_ACTION)
            return
        if not colon or not vendor:
            self.add(_VENDORS, NO_VENDOR)
        elif ":" in name:
            self.add(_VENDORS, ONE_COLON)
        elif vendor != "*" and _INVALID_VENDOR_CHAR.search(vendor) is not None:
            self.add(_VENDORS, f"Vendor {vendor} is not valid")

    def resources(self, statement: Mapping[str, Any]) -> None:
        has_element = "Resource" in statement or "NotResource" in statement
        if self.kind is PolicyKind.TRUST:
            for name in ("Resource", "NotResource"):
                if name in statement:
                    self.add(_KIND, prohibited_field(name))
            return
        resources = self.element_strings(statement, "Resource", "NotResource")
        if not resources:
            empty = statement.get("Resource", statement.get("NotResource")) == []
            if not has_element or empty:
                self.add(_RESOURCES_PRESENT, S3_MISSING_ELEMENT if self.s3 else MISSING_RESOURCES)
            return
        for resource in resources:
            if self.s3:
                if not is_bucket_policy_resource(resource, self.bucket):
                    self.add(_RESOURCES, S3_INVALID_RESOURCE)
                continue
            problem = iam_resource_problem(resource)
            if problem is not None:
                self.add(_RESOURCES, problem)
            elif fails_legacy_resource_parse(resource):
                self.add(_LEGACY, LEGACY_PARSE_FAILED)

    def principals(self, statement: Mapping[str, Any], effect: str | None) -> None:
        has_principal = "Principal" in statement
        has_not_principal = "NotPrincipal" in statement
        if self.kind in _PRINCIPAL_FREE_KINDS:
            if has_principal or has_not_principal:
                self.add(_KIND, PRINCIPAL_NOT_ALLOWED)
            return
        if has_principal and has_not_principal:
            self.syntax()
            return
        if not has_principal and not has_not_principal:
            self.add(_KIND, MISSING_PRINCIPAL)
            return
        if has_not_principal:
            if self.kind is PolicyKind.TRUST:
                self.add(_KIND, prohibited_field("NotPrincipal"))
                return
            if effect == "Allow":
                # "Using it with "Effect":"Allow" is not supported" (IAM User Guide,
                # NotPrincipal); the answer's text is unrecorded, so a grammar error.
                self.syntax()
        self.principal(statement["NotPrincipal" if has_not_principal else "Principal"])

    def principal(self, value: Any) -> None:
        if value == "*":
            return
        if not isinstance(value, Mapping) or not value:
            self.syntax()
            return
        for principal_type, names in value.items():
            if principal_type not in _PRINCIPAL_TYPES:
                self.syntax()
                continue
            if isinstance(names, str):
                names = [names]
            elif not isinstance(names, list) or not names or not all(
                isinstance(name, str) for name in names
            ):
                self.syntax()
                continue
            for name in names:
                if not self.principal_name_ok(principal_type, name):
                    self.add(_KIND, invalid_principal_message(self.kind, principal_type, name))

    def principal_name_ok(self, principal_type: str, name: str) -> bool:
        if principal_type == "AWS":
            return is_valid_aws_principal(name)
        if principal_type == "Service":
            return is_valid_service_principal(name)
        if principal_type == "Federated":
            return is_valid_federated_principal(name)
        # CanonicalUser names an S3 account; only S3 resource policies know it.
        return self.s3 and is_canonical_user_id(name)

    def condition(self, condition: Any) -> None:
        if not isinstance(condition, Mapping):
            self.syntax()
            return
        for operator, block in condition.items():
            if not isinstance(operator, str) or not isinstance(block, Mapping):
                self.syntax()
                continue
            base = condition_base_operator(operator)
            if base is None:
                # IAM lets an unknown operator through only with nothing under it.
                if block:
                    if self.s3:
                        self.add(_GRAMMAR, s3_invalid_condition_type(operator))
                    else:
                        self.syntax()
                continue
            for values in block.values():
                value_list = values if isinstance(values, list) else [values]
                if not all(_is_scalar(item) for item in value_list):
                    self.syntax()
                elif (
                    base.startswith("Date")
                    and not self.s3
                    and not all(_is_valid_date_value(item) for item in value_list)
                ):
                    self.add(_LEGACY, LEGACY_PARSE_FAILED)


def _as_kind(kind: PolicyKind | str) -> PolicyKind:
    return kind if isinstance(kind, PolicyKind) else PolicyKind(kind)


def _run(
    document: str | bytes | Mapping[str, Any],
    kind: PolicyKind,
    max_size: int | None,
    managed: bool,
    bucket: str | None,
) -> tuple[_Check, Any, int | None]:
    check = _Check(kind, managed, bucket)
    size: int | None = None
    if isinstance(document, bytes | bytearray):
        try:
            document = bytes(document).decode("utf-8")
        except UnicodeDecodeError:
            check.add(_GRAMMAR, S3_INVALID_JSON if check.s3 else SYNTAX_ERROR)
            return check, None, None
    if isinstance(document, str):
        size_message = size_problem(document, kind, max_size, managed)
        if size_message is not None:
            size = measured_size(document, kind)
            check.add(_SIZE, size_message)
        try:
            parsed = load_policy_json(document)
        except PolicyJsonError:
            if check.s3 and not document.lstrip().startswith("{"):
                check.add(_GRAMMAR, S3_FIRST_BYTE)
            else:
                check.add(_GRAMMAR, S3_INVALID_JSON if check.s3 else SYNTAX_ERROR)
            return check, None, size
    else:
        parsed = document
    if check.s3 and bucket is None and _names_other_service(parsed):
        # A resource policy of another service (simulating an SQS or KMS policy) is not a
        # bucket policy: IAM's generic rules and wording apply. PutBucketPolicy passes `bucket`.
        check.s3 = False
    check.document(parsed)
    return check, parsed, size


def _names_other_service(document: Any) -> bool:
    statements = document.get("Statement") if isinstance(document, Mapping) else None
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        return False
    for statement in statements:
        if not isinstance(statement, Mapping):
            continue
        for name in ("Resource", "NotResource"):
            value = statement.get(name)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item.startswith("arn:") and not item.startswith(
                    ("arn:aws:s3:", "arn:aws-cn:s3:", "arn:aws-us-gov:s3:")
                ):
                    return True
    return False


def validate_policy(
    document: str | bytes | Mapping[str, Any],
    kind: PolicyKind,
    *,
    max_size: int | None = None,
    managed: bool = False,
    bucket: str | None = None,
) -> list[str]:
    """All problems found, AWS-style messages in the order AWS checks them; [] means valid.

    A str document is parsed as JSON and its size checked against the quota of `kind`
    (`limits.max_size_for`; `max_size` overrides it). `managed=True` applies CreatePolicy's
    rules: Version 2012-10-17 required, 6,144 characters. `bucket` restricts a bucket policy's
    resources to that bucket, as S3 does.
    """
    kind = _as_kind(kind)
    return _run(document, kind, max_size, managed, bucket)[0].messages()


def parse_policy(
    document: str | bytes | Mapping[str, Any],
    kind: PolicyKind,
    *,
    max_size: int | None = None,
    managed: bool = False,
    bucket: str | None = None,
) -> dict[str, Any]:
    """Validate and return the parsed document, with "Version" filled in when it was absent.

    Raises PolicySizeExceeded (a MalformedPolicyDocument) when the document is over its quota,
    else MalformedPolicyDocument for any other problem.
    """
    kind = _as_kind(kind)
    check, parsed, size = _run(document, kind, max_size, managed, bucket)
    messages = check.messages()
    if size is not None:
        limit = max_size_for(kind, max_size, managed)
        raise PolicySizeExceeded(messages, size, limit)
    if messages:
        raise MalformedPolicyDocument(messages)
    result = dict(parsed)
    result.setdefault("Version", DEFAULT_VERSION)
    return result
