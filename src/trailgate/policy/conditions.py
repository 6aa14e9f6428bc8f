"""The Condition element: every operator family, compiled once into tests over the context.

A compiled test takes the request context (keys in lower case; a value is a `str` for a
single-valued key or a non-empty `tuple[str, ...]` for a multivalued one, see `request`) and
answers whether that one key/operator pair holds. Semantics (IAM User Guide, "Condition
operators", "Multivalued context keys"; choices where the pages are silent are in
docs/policy-semantics.md):

- several policy values for one key are OR-ed; a negated operator (StringNot*, NumericNotEquals,
  DateNotEquals, NotIpAddress, ArnNot*) is the complement of its positive form, so several
  values mean NOR;
- key missing: positive operators false, negated true, `...IfExists` true, `ForAllValues:` true,
  `ForAnyValue:` false; `Null` is true for "true" when the key is absent and for "false" when
  it is present;
- a multivalued key without a set qualifier: true when any request value matches any policy
  value (the complement of that for a negated operator);
- `ForAllValues:` every request value passes the single-value test, `ForAnyValue:` at least one;
- a request value that cannot be read as a number / date / IP address / base64 equals none of
  the policy values;
- policy variables are substituted in String, ARN and Bool values (Version 2012-10-17 only).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from trailgate.policy import variables, wildcard
from trailgate.policy.variables import Context, Template

Test = Callable[[Context], bool]
ValueTest = Callable[[str], bool]

PLAIN = 0
FOR_ALL_VALUES = 1
FOR_ANY_VALUE = 2

_STRING_EQ = "string_eq"
_STRING_EQ_CI = "string_eq_ci"
_STRING_LIKE = "string_like"
_NUMERIC = "numeric"
_DATE = "date"
_BOOL = "bool"
_BINARY = "binary"
_IP = "ip"
_ARN = "arn"

# lower-case base operator -> (family, comparison (request, policy) or None, negated)
_OPERATORS: dict[str, tuple[str, Callable[[Any, Any], bool] | None, bool]] = {
    "stringequals": (_STRING_EQ, None, False),
    "stringnotequals": (_STRING_EQ, None, True),
    "stringequalsignorecase": (_STRING_EQ_CI, None, False),
    "stringnotequalsignorecase": (_STRING_EQ_CI, None, True),
    "stringlike": (_STRING_LIKE, None, False),
    "stringnotlike": (_STRING_LIKE, None, True),
    "numericequals": (_NUMERIC, operator.eq, False),
    "numericnotequals": (_NUMERIC, operator.eq, True),
    "numericlessthan": (_NUMERIC, operator.lt, False),
    "numericlessthanequals": (_NUMERIC, operator.le, False),
    "numericgreaterthan": (_NUMERIC, operator.gt, False),
    "numericgreaterthanequals": (_NUMERIC, operator.ge, False),
    "dateequals": (_DATE, operator.eq, False),
    "datenotequals": (_DATE, operator.eq, True),
    "datelessthan": (_DATE, operator.lt, False),
    "datelessthanequals": (_DATE, operator.le, False),
    "dategreaterthan": (_DATE, operator.gt, False),
    "dategreaterthanequals": (_DATE, operator.ge, False),
    "bool": (_BOOL, None, False),
    "binaryequals": (_BINARY, None, False),
    "ipaddress": (_IP, None, False),
    "notipaddress": (_IP, None, True),
    "arnequals": (_ARN, None, False),
    "arnlike": (_ARN, None, False),
    "arnnotequals": (_ARN, None, True),
    "arnnotlike": (_ARN, None, True),
}
_SUBSTITUTING_FAMILIES = frozenset({_STRING_EQ, _STRING_EQ_CI, _STRING_LIKE, _BOOL, _ARN})


# -- reading values -------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_EPOCH = re.compile(r"-?\d+(?:\.\d+)?")
_ISO_DATE = re.compile(
    r"(-?\d{1,9})(?:-(\d{1,2})(?:-(\d{1,2}))?)?"
    r"(?:[Tt](\d{1,2})(?::(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,9}))?)?)?"
    r"([Zz]|[+-]\d{2}(?::?\d{2})?)?)?"
)
_MICROS = 1_000_000


def scalar_text(value: Any) -> str | None:
    """A policy or context scalar as IAM compares it (JSON true -> "true", 10 -> "10")."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def _policy_values(values: Any) -> list[str]:
    items = values if isinstance(values, list) else [values]
    return [text for text in (scalar_text(item) for item in items) if text is not None]


def parse_number(text: str) -> Decimal | None:
    if _NUMBER.fullmatch(text) is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        return None


def _days_from_civil(year: int, month: int, day: int) -> int:
    # Proleptic Gregorian calendar, any year (H. Hinnant's algorithm).
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_date(text: str) -> int | None:
    """Microseconds since the epoch for an ISO 8601 (W3C) date or epoch seconds, else None.
    A value of digits only is epoch seconds (as IAM's parser reads it); no zone means UTC."""
    if _EPOCH.fullmatch(text):
        return int(Decimal(text) * _MICROS)
    match = _ISO_DATE.fullmatch(text)
    if match is None or ("-" not in text[1:] and "t" not in text.lower()):
        return None
    year_s, month_s, day_s, hour_s, minute_s, second_s, fraction, zone = match.groups()
    month = int(month_s) if month_s else 1
    day = int(day_s) if day_s else 1
    hour = int(hour_s) if hour_s else 0
    minute = int(minute_s) if minute_s else 0
    second = int(second_s) if second_s else 0
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59
            and second <= 59):
        return None
    micros = int((fraction or "0").ljust(6, "0")[:6])
    offset = 0
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:4] or "0")) * 60
    days = _days_from_civil(int(year_s), month, day)
    seconds = ((days * 24 + hour) * 60 + minute) * 60 + second - offset
    return seconds * _MICROS + micros


def parse_binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


_address_cache: dict[str, tuple[int, int] | None] = {}


def parse_address(text: str) -> tuple[int, int] | None:
    """(IP version, address as an integer) for an IPv4 or IPv6 address, else None."""
    cached = _address_cache.get(text, False)
    if cached is not False:
        return cached  # type: ignore[return-value]
    try:
        address = ipaddress.ip_address(text)
        result: tuple[int, int] | None = (address.version, int(address))
    except ValueError:
        result = None
    if len(_address_cache) >= 8192:
        _address_cache.clear()
    _address_cache[text] = result
    return result


def parse_network(text: str) -> tuple[int, int, int] | None:
    """(IP version, network, mask) for a CIDR block or a bare address (/32, /128), else None."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
    return network.version, int(network.network_address), int(network.netmask)


# -- per-family value tests ---------------------------------------------------------------------

def _contains(values: set[str] | frozenset[str]) -> ValueTest:
    return frozenset(values).__contains__


def _contains_folded(values: Sequence[str]) -> ValueTest:
    folded = frozenset(value.lower() for value in values)
    return lambda value: value.lower() in folded


def _compare_all(parse: Callable[[str], Any], compare: Callable[[Any, Any], bool],
                 policy_values: Sequence[str]) -> ValueTest:
    parsed = [p for p in (parse(value) for value in policy_values) if p is not None]
    if compare is operator.eq:
        wanted = frozenset(parsed)

        def equals(value: str) -> bool:
            number = parse(value)
            return number is not None and number in wanted

        return equals

    def test(value: str) -> bool:
        number = parse(value)
        if number is None:
            return False
        return any(compare(number, p) for p in parsed)

    return test


def _binary_test(policy_values: Sequence[str]) -> ValueTest:
    wanted = frozenset(b for b in (parse_binary(value) for value in policy_values) if b is not None)

    def test(value: str) -> bool:
        data = parse_binary(value)
        return data is not None and data in wanted

    return test


def _ip_test(policy_values: Sequence[str]) -> ValueTest:
    networks = [n for n in (parse_network(value) for value in policy_values) if n is not None]

    def test(value: str) -> bool:
        address = parse_address(value)
        if address is None:
            return False
        version, number = address
        for net_version, network, mask in networks:
            if net_version == version and number & mask == network:
                return True
        return False

    return test


def _static_value_test(family: str, compare: Callable[[Any, Any], bool] | None,
                       values: Sequence[str],
                       templates: Sequence[Template | None]) -> ValueTest:
    if family in _SUBSTITUTING_FAMILIES:
        chunk_lists = [
            wildcard.plain(value) if template is None else template.chunks({})
            for value, template in zip(values, templates, strict=True)
        ]
        texts = ["".join(text for text, _ in chunks) for chunks in chunk_lists]
        if family == _STRING_EQ:
            return _contains(set(texts))
        if family in (_STRING_EQ_CI, _BOOL):
            return _contains_folded(texts)
        return wildcard.compile_chunk_patterns(chunk_lists, arn=family == _ARN)
    if family == _NUMERIC:
        assert compare is not None
        return _compare_all(parse_number, compare, values)
    if family == _DATE:
        assert compare is not None
        return _compare_all(parse_date, compare, values)
    if family == _BINARY:
        return _binary_test(values)
    return _ip_test(values)


def _dynamic_value_test(family: str, values: Sequence[str],
                        templates: Sequence[Template | None]
                        ) -> Callable[[Context], ValueTest]:
    """A factory building the value test for one request (values hold policy variables)."""
    pairs = list(zip(values, templates, strict=True))
    if family == _STRING_EQ:
        return lambda context: frozenset(
            value if template is None else template.text(context) for value, template in pairs
        ).__contains__
    if family in (_STRING_EQ_CI, _BOOL):
        return lambda context: _contains_folded(
            [value if template is None else template.text(context) for value, template in pairs]
        )
    arn = family == _ARN
    return lambda context: wildcard.compile_chunk_patterns(
        [wildcard.plain(value) if template is None else template.chunks(context)
         for value, template in pairs],
        arn=arn,
    )


# -- the test for one key under one operator ------------------------------------------------------

def _any_value(values: tuple[str, ...], test: ValueTest) -> bool:
    for value in values:  # noqa: SIM110 - a plain loop is faster than any() on the hot path
        if test(value):
            return True
    return False


def _make_test(key: str, value_test: ValueTest, negated: bool, qualifier: int,
               missing: bool) -> Test:
    if qualifier == PLAIN:
        def plain(context: Context) -> bool:
            value = context.get(key)
            if value is None:
                return missing
            if type(value) is str:
                return value_test(value) is not negated
            return _any_value(value, value_test) is not negated  # type: ignore[arg-type]
        return plain
    if qualifier == FOR_ALL_VALUES:
        def for_all(context: Context) -> bool:
            value = context.get(key)
            if value is None:
                return missing
            if type(value) is str:
                return value_test(value) is not negated
            return all(value_test(item) is not negated for item in value)
        return for_all

    def for_any(context: Context) -> bool:
        value = context.get(key)
        if value is None:
            return missing
        if type(value) is str:
            return value_test(value) is not negated
        return any(value_test(item) is not negated for item in value)
    return for_any


def _make_dynamic_test(key: str, factory: Callable[[Context], ValueTest], negated: bool,
                       qualifier: int, missing: bool) -> Test:
    def test(context: Context) -> bool:
        value = context.get(key)
        if value is None:
            return missing
        value_test = factory(context)
        if type(value) is str:
            return value_test(value) is not negated
        if qualifier == PLAIN:
            return _any_value(value, value_test) is not negated  # type: ignore[arg-type]
        if qualifier == FOR_ALL_VALUES:
            return all(value_test(item) is not negated for item in value)
        return any(value_test(item) is not negated for item in value)
    return test


def _null_test(key: str, values: Sequence[str]) -> Test:
    folded = {value.lower() for value in values}
    when_absent = "true" in folded
    when_present = "false" in folded
    return lambda context: when_present if key in context else when_absent


def _never(_: Context) -> bool:
    return False


def split_operator(name: str) -> tuple[int, str, bool]:
    """(set qualifier, lower-case base operator, IfExists) for an operator as written."""
    lowered = name.lower()
    qualifier = PLAIN
    if lowered.startswith("forallvalues:"):
        qualifier, lowered = FOR_ALL_VALUES, lowered[len("forallvalues:"):]
    elif lowered.startswith("foranyvalue:"):
        qualifier, lowered = FOR_ANY_VALUE, lowered[len("foranyvalue:"):]
    if_exists = lowered.endswith("ifexists") and lowered != "ifexists" and lowered != "null"
    if if_exists:
        lowered = lowered[: -len("ifexists")]
    return qualifier, lowered, if_exists


def compile_test(operator_name: str, key: str, values: Any, version: str | None
                 ) -> tuple[Test, frozenset[str]]:
    """The test for one `"Operator": {"key": values}` entry and the variable keys (without a
    default) it needs resolved."""
    qualifier, base, if_exists = split_operator(operator_name)
    key = key.lower()
    policy_values = _policy_values(values)
    if base == "null":
        return _null_test(key, policy_values), frozenset()
    spec = _OPERATORS.get(base)
    if spec is None:
        return _never, frozenset()  # an operator IAM does not know never holds
    family, compare, negated = spec
    if if_exists or qualifier == FOR_ALL_VALUES:
        missing = True
    elif qualifier == FOR_ANY_VALUE:
        missing = False
    else:
        missing = negated
    templates: list[Template | None] = [None] * len(policy_values)
    if family in _SUBSTITUTING_FAMILIES:
        templates = [variables.parse(value, version) for value in policy_values]
    required: set[str] = set()
    dynamic = False
    for template in templates:
        if template is not None and not template.is_static:
            dynamic = True
            required |= template.required
    if dynamic:
        factory = _dynamic_value_test(family, policy_values, templates)
        return _make_dynamic_test(key, factory, negated, qualifier, missing), frozenset(required)
    value_test = _static_value_test(family, compare, policy_values, templates)
    return _make_test(key, value_test, negated, qualifier, missing), frozenset()


def compile_block(block: Any, version: str | None) -> tuple[tuple[Test, ...], frozenset[str]]:
    """All tests of a Condition element (AND-ed) and the variable keys they need."""
    tests: list[Test] = []
    required: set[str] = set()
    if not isinstance(block, Mapping):
        return (), frozenset()
    for operator_name, entries in block.items():
        if not isinstance(entries, Mapping):
            continue
        for key, values in entries.items():
            test, needs = compile_test(str(operator_name), str(key), values, version)
            tests.append(test)
            required |= needs
    return tuple(tests), frozenset(required)
