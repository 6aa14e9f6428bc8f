"""Condition operators: each family, the missing-key rules, IfExists, set qualifiers, Null.

Rules from the IAM User Guide pages "IAM JSON policy elements: Condition operators"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)
and "Single-valued vs. multivalued context keys"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
"""

from __future__ import annotations

from typing import Any

import pytest

from trailgate.policy import conditions
from trailgate.policy.request import normalize_context


def holds(operator: str, key: str, values: Any, context: dict[str, Any],
          version: str = "2012-10-17") -> bool:
    test, required = conditions.compile_test(operator, key, values, version)
    assert not required, "these cases use no policy variables"
    return test(normalize_context(context))


@pytest.mark.parametrize(
    ("operator", "values", "request_value", "expected"),
    [
        ("StringEquals", "abc", "abc", True),
        ("StringEquals", "abc", "ABC", False),
        ("StringEquals", ["x", "abc"], "abc", True),
        ("StringEquals", "a*", "abc", False),  # no wildcards in Equals
        ("StringEquals", "a*", "a*", True),
        ("StringNotEquals", "abc", "abc", False),
        ("StringNotEquals", ["x", "y"], "abc", True),
        ("StringNotEquals", ["x", "abc"], "abc", False),  # NOR over the values
        ("StringEqualsIgnoreCase", "AbC", "aBc", True),
        ("StringNotEqualsIgnoreCase", "AbC", "aBc", False),
        ("StringLike", "a*c", "abbbc", True),
        ("StringLike", "a?c", "abc", True),
        ("StringLike", "a?c", "abbc", False),
        ("StringLike", "A*", "abc", False),  # case-sensitive
        ("StringLike", "", "", True),
        ("StringNotLike", ["x*", "a*"], "abc", False),
        ("StringNotLike", ["x*", "y*"], "abc", True),
        ("NumericEquals", "10", "10.0", True),
        ("NumericEquals", 10, "10", True),
        ("NumericNotEquals", "10", "11", True),
        ("NumericLessThan", "10", "9.5", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericGreaterThan", "10", "10.01", True),
        ("NumericGreaterThanEquals", "10", "9", False),
        ("NumericEquals", "10", "ten", False),
        ("NumericNotEquals", "10", "ten", True),  # unreadable: equal to no policy value
        ("DateEquals", "2020-01-01T00:00:00Z", "1577836800", True),
        ("DateEquals", "2020-01-01", "2020-01-01T00:00:00Z", True),
        ("DateEquals", "2020-01-01T01:00:00+01:00", "2020-01-01T00:00:00Z", True),
        ("DateNotEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", True),
        ("DateLessThan", "2020-01-01T00:00:00Z", "2019-12-31T23:59:59Z", True),
        ("DateLessThan", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", False),
        ("DateLessThanEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", True),
        ("DateGreaterThan", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00.5Z", True),
        ("DateGreaterThanEquals", 1577836800, "2019-06-01T00:00:00Z", False),
        ("DateLessThan", "2020-01-01T00:00:00Z", "not a date", False),
        ("Bool", "true", "true", True),
        ("Bool", "true", True, True),
        ("Bool", "false", False, True),
        ("Bool", "true", "false", False),
        ("Bool", "TRUE", "true", True),
        ("BinaryEquals", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", True),
        ("BinaryEquals", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", "QmluYXJ5", False),
        ("IpAddress", "203.0.113.0/24", "203.0.113.7", True),
        ("IpAddress", "203.0.113.0/24", "203.0.114.7", False),
        ("IpAddress", "203.0.113.7", "203.0.113.7", True),
        ("IpAddress", "2001:DB8:1234:5678::/64", "2001:db8:1234:5678::1", True),
        ("IpAddress", ["203.0.113.0/24", "2001:DB8:1234:5678::/64"], "2001:db8::1", False),
        ("IpAddress", "0.0.0.0/0", "::1", False),  # IPv4 ranges hold no IPv6 address
        ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
        ("NotIpAddress", ["198.51.100.0/24", "203.0.113.0/24"], "203.0.113.1", False),
        ("ArnEquals", "arn:aws:sns:us-east-1:123456789012:topic", "arn:aws:sns:us-east-1:123456789012:topic", True),  # noqa: E501
        ("ArnLike", "arn:aws:sns:*:123456789012:*", "arn:aws:sns:eu-west-1:123456789012:t", True),
        ("ArnEquals", "arn:aws:sns:*:123456789012:*", "arn:aws:sns:eu-west-1:123456789012:t", True),
        ("ArnNotLike", "arn:aws:sns:*:123456789012:*", "arn:aws:sns:eu-west-1:123456789012:t", False),  # noqa: E501
        ("ArnNotEquals", "arn:aws:sns:*:123456789012:*", "arn:aws:sqs:eu-west-1:123456789012:t", True),  # noqa: E501
        ("ArnLike", "arn:aws:sns:*:123456789012:*", "not-an-arn", False),
    ],
)
def test_operator_on_a_single_value(operator: str, values: Any, request_value: Any,
                                    expected: bool) -> None:
    assert holds(operator, "k:key", values, {"k:key": request_value}) is expected


def test_arn_like_wildcard_does_not_cross_colons_but_string_like_does() -> None:
    # The example of the condition operators page: StringLike matches, ArnLike does not.
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert holds("StringLike", "aws:SourceArn", pattern, {"aws:SourceArn": value})
    assert not holds("ArnLike", "aws:SourceArn", pattern, {"aws:SourceArn": value})


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False), ("StringNotEquals", True), ("StringLike", False),
        ("StringNotLike", True), ("StringEqualsIgnoreCase", False),
        ("StringNotEqualsIgnoreCase", True), ("NumericEquals", False),
        ("NumericNotEquals", True), ("NumericLessThan", False), ("DateEquals", False),
        ("DateNotEquals", True), ("DateGreaterThan", False), ("Bool", False),
        ("BinaryEquals", False), ("IpAddress", False), ("NotIpAddress", True),
        ("ArnEquals", False), ("ArnLike", False), ("ArnNotEquals", True), ("ArnNotLike", True),
        ("StringEqualsIfExists", True), ("StringNotEqualsIfExists", True),
        ("NumericLessThanIfExists", True), ("BoolIfExists", True), ("IpAddressIfExists", True),
        ("ArnLikeIfExists", True), ("DateLessThanIfExists", True),
        ("ForAllValues:StringEquals", True), ("ForAllValues:StringNotLike", True),
        ("ForAnyValue:StringEquals", False), ("ForAnyValue:StringNotEquals", False),
        ("ForAnyValue:StringEqualsIfExists", True),
    ],
)
def test_missing_key(operator: str, expected: bool) -> None:
    value = {"Numeric": "1", "Date": "2020-01-01T00:00:00Z", "Bool": "true",
             "Binar": "QQ==", "IpAdd": "10.0.0.0/8", "NotIp": "10.0.0.0/8",
             "ArnEq": "arn:aws:s3:::b", "ArnLi": "arn:aws:s3:::b", "ArnNo": "arn:aws:s3:::b"}
    base = operator.split(":")[-1]
    policy_value = next((v for prefix, v in value.items() if base.startswith(prefix)), "x")
    assert holds(operator, "aws:Missing", policy_value, {"aws:Other": "x"}) is expected


def test_if_exists_evaluates_the_base_operator_when_the_key_is_present() -> None:
    assert holds("StringEqualsIfExists", "ec2:InstanceType", "t2.*", {"ec2:InstanceType": "t2.*"})
    assert not holds("StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*"],
                     {"ec2:InstanceType": "m5.large"})
    assert holds("StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*"],
                 {"ec2:InstanceType": "t2.micro"})
    # Deny + StringNotEqualsIfExists with the key present and different: the deny applies.
    assert holds("StringNotEqualsIfExists", "aws:RequestTag/team", "red",
                 {"aws:RequestTag/team": "blue"})


@pytest.mark.parametrize(
    ("values", "context", "expected"),
    [
        ("true", {}, True),
        ("true", {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}, False),
        ("false", {}, False),
        ("false", {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}, True),
        (True, {}, True),
        (["true", "false"], {}, True),
        ("true", {"aws:TokenIssueTime": []}, True),  # an empty list is an absent key
    ],
)
def test_null(values: Any, context: dict[str, Any], expected: bool) -> None:
    assert holds("Null", "aws:TokenIssueTime", values, context) is expected


@pytest.mark.parametrize(
    ("operator", "policy", "request_values", "expected"),
    [
        # ForAllValues: the request set is a subset of the policy values.
        ("ForAllValues:StringEquals", ["a", "b", "c"], ["a", "b"], True),
        ("ForAllValues:StringEquals", ["a", "b"], ["a", "x"], False),
        ("ForAllValues:StringLike", ["Created*"], ["CreatedBy", "CreatedAt"], True),
        ("ForAllValues:StringEquals", ["a"], [], True),  # empty set: as missing
        # ForAnyValue: at least one pair matches.
        ("ForAnyValue:StringEquals", ["a", "b"], ["x", "b"], True),
        ("ForAnyValue:StringEquals", ["a", "b"], ["x", "y"], False),
        ("ForAnyValue:StringEquals", ["a"], [], False),
        # Negated base operators: each request value against all policy values (NOR).
        ("ForAllValues:StringNotEquals", ["a", "b"], ["x", "y"], True),
        ("ForAllValues:StringNotEquals", ["a", "b"], ["x", "a"], False),
        ("ForAnyValue:StringNotEquals", ["a", "b"], ["a", "x"], True),
        ("ForAnyValue:StringNotEquals", ["a", "b"], ["a", "b"], False),
        ("ForAllValues:StringNotLike", ["secret*"], ["public", "shared"], True),
        ("ForAnyValue:StringNotLike", ["secret*"], ["secret1", "secret2"], False),
        # Without a qualifier: any request value matching any policy value; negated: none.
        ("StringEquals", ["a"], ["x", "a"], True),
        ("StringEquals", ["a"], ["x", "y"], False),
        ("StringNotEquals", ["a"], ["x", "a"], False),
        ("StringNotEquals", ["a"], ["x", "y"], True),
        ("ForAnyValue:IpAddress", ["10.0.0.0/8"], ["192.0.2.1", "10.1.1.1"], True),
        ("ForAllValues:IpAddress", ["10.0.0.0/8"], ["192.0.2.1", "10.1.1.1"], False),
        ("ForAllValues:NumericLessThan", ["5"], ["1", "4"], True),
        ("ForAnyValue:ArnLike", ["arn:aws:iam::*:role/a*"], ["arn:aws:iam::1:role/b",
                                                            "arn:aws:iam::1:role/ab"], True),
    ],
)
def test_multivalued_keys(operator: str, policy: list[str], request_values: list[str],
                          expected: bool) -> None:
    assert holds(operator, "aws:TagKeys", policy, {"aws:TagKeys": request_values}) is expected


def test_single_value_with_a_set_qualifier_is_a_set_of_one() -> None:
    assert holds("ForAllValues:StringEquals", "aws:RequestedRegion", ["us-east-1"],
                 {"aws:RequestedRegion": "us-east-1"})
    assert holds("ForAnyValue:StringEquals", "aws:RequestedRegion", ["us-east-1"],
                 {"aws:RequestedRegion": "us-east-1"})


def test_key_names_are_case_insensitive_including_the_tag_key() -> None:
    assert holds("StringEquals", "AWS:SourceIP", "x", {"aws:sourceip": "x"})
    assert holds("StringEquals", "aws:PrincipalTag/Team", "red", {"aws:principaltag/TEAM": "red"})
    # Values stay case-sensitive.
    assert not holds("StringEquals", "aws:PrincipalTag/Team", "red",
                     {"aws:PrincipalTag/Team": "Red"})


def test_unknown_operator_never_holds() -> None:
    assert not holds("StringSortOfEquals", "k", "x", {"k": "x"})


def test_epoch_and_iso_dates_compare_as_instants() -> None:
    assert conditions.parse_date("1970-01-01T00:00:00Z") == 0
    assert conditions.parse_date("0") == 0
    assert conditions.parse_date("1577836800.25") == 1577836800_250000
    assert conditions.parse_date("2020-02-30T00:00:00Z") is not None  # IAM does not check days
    assert conditions.parse_date("2020-13-01") is None
    assert conditions.parse_date("2020-01-01T10:00-02:00") == conditions.parse_date(
        "2020-01-01T12:00:00Z")
