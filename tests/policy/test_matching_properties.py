"""Property tests: wildcard, ARN and IP matching against simple independent references.

The references below are written from the rules, not from the engine's code: a dynamic-
programming glob matcher, ARN matching by splitting both sides into six fields, and the
standard `ipaddress` module for CIDR membership.
"""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from trailgate.policy import conditions, wildcard
from trailgate.policy.variables import parse as parse_template


def ref_glob(pattern: str, text: str) -> bool:
    """`*` any run, `?` one character, everything else literal (case-sensitive)."""
    rows, cols = len(pattern), len(text)
    table = [[False] * (cols + 1) for _ in range(rows + 1)]
    table[0][0] = True
    for i in range(1, rows + 1):
        if pattern[i - 1] == "*":
            table[i][0] = table[i - 1][0]
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            p = pattern[i - 1]
            if p == "*":
                table[i][j] = table[i - 1][j] or table[i][j - 1]
            elif p == "?" or p == text[j - 1]:
                table[i][j] = table[i - 1][j - 1]
    return table[rows][cols]


def ref_arn(pattern: str, value: str) -> bool:
    """ARN rule: "*" alone matches all; a six-field pattern is matched field by field, the
    sixth field (resource) taking the rest of the value, colons included."""
    if pattern == "*":
        return True
    pattern_fields = pattern.split(":", 5)
    if len(pattern_fields) < 6:
        return ref_glob(pattern, value)
    value_fields = value.split(":", 5)
    if len(value_fields) < 6:
        return False
    return all(ref_glob(p, v) for p, v in zip(pattern_fields, value_fields, strict=True))


# Small alphabets make collisions (and so matches) likely.
PATTERN_CHARS = st.sampled_from(list("ab:/*?-"))
TEXT_CHARS = st.sampled_from(list("ab:/-*?"))
patterns = st.text(PATTERN_CHARS, max_size=12)
texts = st.text(TEXT_CHARS, max_size=12)


@settings(max_examples=600, deadline=None)
@given(patterns, texts)
def test_glob_matches_reference(pattern: str, text: str) -> None:
    predicate = wildcard.compile_patterns([pattern], arn=False)
    assert predicate(text) == ref_glob(pattern, text)


@settings(max_examples=300, deadline=None)
@given(st.lists(patterns, min_size=1, max_size=4), texts)
def test_pattern_set_is_any_of_its_patterns(pattern_list: list[str], text: str) -> None:
    predicate = wildcard.compile_patterns(pattern_list, arn=False)
    assert predicate(text) == any(ref_glob(p, text) for p in pattern_list)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("aBcD:*?")), max_size=10),
       st.text(st.sampled_from(list("AbCd:")), max_size=10))
def test_action_matching_ignores_case(pattern: str, action: str) -> None:
    predicate = wildcard.compile_patterns([pattern], arn=False, fold_case=True)
    assert predicate(action.lower()) == ref_glob(pattern.lower(), action.lower())


def arn_like(parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(parts, min_size=4, max_size=8).map(":".join)


arn_patterns = st.one_of(arn_like(st.text(st.sampled_from(list("ab*?/")), max_size=4)),
                         patterns, st.just("*"))
arn_values = st.one_of(arn_like(st.text(st.sampled_from(list("ab/*")), max_size=4)), texts)


@settings(max_examples=800, deadline=None)
@given(arn_patterns, arn_values)
def test_arn_matching_matches_reference(pattern: str, value: str) -> None:
    predicate = wildcard.compile_patterns([pattern], arn=True)
    assert predicate(value) == ref_arn(pattern, value)


@settings(max_examples=300, deadline=None)
@given(st.lists(arn_patterns, min_size=1, max_size=4), arn_values)
def test_arn_pattern_set_is_any_of_its_patterns(pattern_list: list[str], value: str) -> None:
    predicate = wildcard.compile_patterns(pattern_list, arn=True)
    assert predicate(value) == any(ref_arn(p, value) for p in pattern_list)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("ab*?:/")), max_size=6),
       st.text(st.sampled_from(list("ab*?:/")), max_size=6),
       st.text(st.sampled_from(list("ab*?:/")), max_size=12))
def test_substituted_variable_is_literal(before: str, value: str, text: str) -> None:
    """A variable's value never acts as a wildcard: `${k}` behaves like the value with its
    `*` and `?` escaped."""
    template = parse_template(before + "${k}", "2012-10-17")
    assert template is not None
    chunks = template.chunks({"k": value})
    expected = ref_glob(before, text[: len(text) - len(value)]) and text.endswith(value) \
        if len(text) >= len(value) else False
    assert wildcard.match_one(chunks, text, arn=False) == expected


ipv4_networks = st.builds(
    lambda address, prefix: ipaddress.ip_network(f"{ipaddress.IPv4Address(address)}/{prefix}",
                                                 strict=False),
    st.integers(0, 2**32 - 1), st.integers(0, 32))
ipv6_networks = st.builds(
    lambda address, prefix: ipaddress.ip_network(f"{ipaddress.IPv6Address(address)}/{prefix}",
                                                 strict=False),
    st.integers(0, 2**128 - 1), st.integers(0, 128))
addresses = st.one_of(st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
                      st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(ipv4_networks, ipv6_networks), min_size=1, max_size=3), addresses,
       st.booleans())
def test_ip_address_condition_matches_ipaddress_module(networks: list, address: object,
                                                       negated: bool) -> None:
    operator = "NotIpAddress" if negated else "IpAddress"
    test, _ = conditions.compile_test(operator, "aws:SourceIp", [str(n) for n in networks],
                                      "2012-10-17")
    inside = any(address.version == n.version and address in n for n in networks)
    assert test({"aws:sourceip": str(address)}) == (inside != negated)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_bare_ipv4_address_means_slash_32(policy: int, request: int) -> None:
    test, _ = conditions.compile_test("IpAddress", "aws:SourceIp",
                                      str(ipaddress.IPv4Address(policy)), "2012-10-17")
    assert test({"aws:sourceip": str(ipaddress.IPv4Address(request))}) == (policy == request)
