"""Condition blocks: operator names, value types and the Date values IAM's parser accepts."""

from __future__ import annotations

from typing import Any

import pytest

from trailgate.policy.kinds import PolicyKind
from trailgate.policy.validate import (
    LEGACY_PARSE_FAILED,
    SYNTAX_ERROR,
    condition_base_operator,
    is_condition_operator,
    validate_policy,
)


def with_condition(condition: Any, kind: PolicyKind = PolicyKind.IDENTITY) -> list[str]:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                 "Condition": condition}
    return validate_policy({"Version": "2012-10-17", "Statement": [statement]}, kind)


@pytest.mark.parametrize(
    ("operator", "base"),
    [
        ("StringEquals", "StringEquals"),
        ("StringNotLikeIfExists", "StringNotLike"),
        ("ForAllValues:StringLike", "StringLike"),
        ("ForAnyValue:ArnNotEqualsIfExists", "ArnNotEquals"),
        ("Null", "Null"),
        ("ForAnyValue:Null", "Null"),
        ("BinaryEquals", "BinaryEquals"),
        ("NotIpAddress", "NotIpAddress"),
        ("DateGreaterThanEquals", "DateGreaterThanEquals"),
    ],
)
def test_known_operators(operator: str, base: str) -> None:
    assert condition_base_operator(operator) == base
    assert with_condition({operator: {"aws:key": "1"}}) in ([], [LEGACY_PARSE_FAILED])


@pytest.mark.parametrize(
    "operator",
    ["stringequals", "StringEqual", "NullIfExists", "ForAllValues:ForAnyValue:StringLike",
     "IfExists", "ForSomeValues:StringLike", "StringEqualsIfExistsIfExists"],
)
def test_unknown_operators(operator: str) -> None:
    assert not is_condition_operator(operator)
    assert with_condition({operator: {"aws:key": "1"}}) == [SYNTAX_ERROR]


@pytest.mark.parametrize(
    "value",
    [
        "2017-07-01T00:00:00Z",
        "2017-07-01t00:00:00.123456789+01:00",
        "2017-07-01T00:00:00-0500",
        "2017-07-01",
        "2017",
        "2017-07-01T23:59",
        "1499212800",
        1499212800,
        ["2017-07-01T00:00:00Z", "1499212800"],
    ],
)
def test_date_values_iam_accepts(value: Any) -> None:
    assert with_condition({"DateLessThan": {"aws:CurrentTime": value}}) == []


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2017-13-01", "2017-07-32", "2017-07-01T24:00:00Z", "2017-07-01T00:60",
     True, 2**63, -1, "2017-07-01T00:00:00+1", ["2017-07-01", "soon"]],
)
def test_date_values_iam_refuses(value: Any) -> None:
    assert with_condition({"DateLessThan": {"aws:CurrentTime": value}}) == [LEGACY_PARSE_FAILED]


def test_bucket_policies_do_not_use_the_legacy_date_parser() -> None:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                 "Resource": "arn:aws:s3:::b/*",
                 "Condition": {"DateLessThan": {"aws:CurrentTime": "soon"}}}
    assert validate_policy({"Statement": statement}, PolicyKind.RESOURCE) == []


@pytest.mark.parametrize("value", ["x", 1, 1.5, True, [], ["a", 2, False]])
def test_scalar_values_and_lists_of_them(value: Any) -> None:
    assert with_condition({"StringEquals": {"aws:key": value}}) == []


@pytest.mark.parametrize("value", [None, {}, {"a": "b"}, [None], [[]], [{"a": 1}]])
def test_other_values_are_syntax_errors(value: Any) -> None:
    assert with_condition({"StringEquals": {"aws:key": value}}) == [SYNTAX_ERROR]


def test_condition_keys_need_no_vendor() -> None:
    # IAM accepted {"DateGreaterThan": {"a": []}}: keys are not checked for a vendor.
    assert with_condition({"StringEquals": {"plainkey": "x"}}) == []
