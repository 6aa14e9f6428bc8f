"""Size quotas: per-kind defaults, how whitespace counts, and the quota texts."""

from __future__ import annotations

import json

import pytest

from trailgate.policy import limits
from trailgate.policy.kinds import PolicyKind
from trailgate.policy.validate import (
    MalformedPolicyDocument,
    PolicySizeExceeded,
    parse_policy,
    validate_policy,
)


def policy_text(padding: int, indent: int | None = None, kind: PolicyKind = PolicyKind.IDENTITY,
                ) -> str:
    """A valid document whose Sid has `padding` characters."""
    statement: dict[str, object] = {
        "Sid": "S" + "x" * padding,
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::bucket/*",
    }
    if kind is PolicyKind.TRUST:
        statement = {
            "Sid": statement["Sid"],
            "Effect": "Allow",
            "Principal": {"AWS": "222222222222"},
            "Action": "sts:AssumeRole",
        }
    if kind is PolicyKind.RESOURCE:
        statement["Principal"] = "*"
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=indent)


def sized(kind: PolicyKind, size: int, indent: int | None = None) -> str:
    """A valid document of exactly `size` measured characters."""
    base = policy_text(0, indent, kind)
    text = policy_text(size - limits.measured_size(base, kind), indent, kind)
    assert limits.measured_size(text, kind) == size
    return text


def test_default_quotas() -> None:
    assert limits.DEFAULT_MAX_SIZE == {
        PolicyKind.IDENTITY: 10_240,
        PolicyKind.BOUNDARY: 6_144,
        PolicyKind.TRUST: 2_048,
        PolicyKind.SESSION: 2_048,
        PolicyKind.SCP: 5_120,
        PolicyKind.RESOURCE: 20_480,
    }
    assert limits.TRUST_POLICY_RAISED_MAX == 4_096
    assert limits.MANAGED_POLICY_MAX == 6_144
    assert limits.max_size_for(PolicyKind.IDENTITY, managed=True) == 6_144
    assert limits.max_size_for(PolicyKind.IDENTITY) == 10_240
    assert limits.max_size_for(PolicyKind.IDENTITY, 2_048, managed=True) == 2_048
    assert (limits.INLINE_USER_AGGREGATE_MAX, limits.INLINE_GROUP_AGGREGATE_MAX,
            limits.INLINE_ROLE_AGGREGATE_MAX) == (2_048, 5_120, 10_240)


def test_iam_ignores_whitespace_between_tokens_but_not_inside_strings() -> None:
    compact = '{"Version":"2012-10-17"}'
    spaced = '{\n  "Version" :\t"2012-10-17"\r\n}'
    assert limits.measured_size(spaced, PolicyKind.IDENTITY) == len(compact)
    with_space_in_value = '{"Sid": "a b"}'
    assert limits.measured_size(with_space_in_value, PolicyKind.IDENTITY) == len('{"Sid":"a b"}')
    escaped_quote = '{"Sid": "a\\" b" }'
    assert limits.measured_size(escaped_quote, PolicyKind.TRUST) == len('{"Sid":"a\\" b"}')


@pytest.mark.parametrize("kind", [PolicyKind.SCP, PolicyKind.SESSION])
def test_scp_and_session_count_every_character(kind: PolicyKind) -> None:
    text = '{\n  "Version": "2012-10-17"\n}'
    assert limits.measured_size(text, kind) == len(text)
    assert limits.counts_whitespace(kind)


def test_bucket_policies_count_utf8_bytes() -> None:
    assert limits.measured_size('{"Sid": "é"}', PolicyKind.RESOURCE) == len('{"Sid":"é"}') + 1


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        (PolicyKind.IDENTITY, "Cannot exceed the quota for PolicySize: 10240."),
        (PolicyKind.BOUNDARY, "Cannot exceed the quota for PolicySize: 6144."),
        (PolicyKind.TRUST, "Cannot exceed the quota for ACLSizePerRole: 2048."),
        (PolicyKind.SCP, "You have exceeded the maximum policy size."),
        (PolicyKind.SESSION, "Session policy exceeds the maximum size of 2048 characters."),
        (PolicyKind.RESOURCE, "Policy exceeds the maximum allowed document size."),
    ],
)
def test_exactly_at_the_quota_passes_and_one_more_fails(kind: PolicyKind, message: str) -> None:
    limit = limits.DEFAULT_MAX_SIZE[kind]
    assert validate_policy(sized(kind, limit), kind) == []
    over = sized(kind, limit + 1)
    assert validate_policy(over, kind) == [message]
    assert limits.is_size_message(message)
    with pytest.raises(PolicySizeExceeded) as raised:
        parse_policy(over, kind)
    assert raised.value.size == limit + 1
    assert raised.value.limit == limit
    assert raised.value.size_exceeded
    assert isinstance(raised.value, MalformedPolicyDocument)


def test_managed_policy_quota() -> None:
    at_quota = sized(PolicyKind.IDENTITY, 6_144)
    assert validate_policy(at_quota, PolicyKind.IDENTITY, managed=True) == []
    over = sized(PolicyKind.IDENTITY, 6_145)
    assert validate_policy(over, PolicyKind.IDENTITY, managed=True) == [
        "Cannot exceed the quota for PolicySize: 6144."
    ]
    # Not managed: a role's inline policy of this size is valid, and compiles later.
    assert validate_policy(over, PolicyKind.IDENTITY) == []


def test_indented_managed_policy_fits_when_its_compact_form_does() -> None:
    text = sized(PolicyKind.IDENTITY, 6_144, indent=8)
    assert len(text) > 6_144
    assert validate_policy(text, PolicyKind.IDENTITY, managed=True) == []


def test_indented_scp_counts_its_whitespace() -> None:
    text = sized(PolicyKind.IDENTITY, 5_000, indent=8)
    assert len(text) > 5_120
    assert validate_policy(text, PolicyKind.SCP) == ["You have exceeded the maximum policy size."]


def test_max_size_override_for_inline_and_raised_trust_quotas() -> None:
    text = sized(PolicyKind.TRUST, 3_000)
    assert validate_policy(text, PolicyKind.TRUST) == [
        "Cannot exceed the quota for ACLSizePerRole: 2048."
    ]
    assert validate_policy(text, PolicyKind.TRUST, max_size=limits.TRUST_POLICY_RAISED_MAX) == []
    inline = sized(PolicyKind.IDENTITY, 2_049)
    assert validate_policy(inline, PolicyKind.IDENTITY, max_size=2_048) == [
        "Cannot exceed the quota for PolicySize: 2048."
    ]


def test_size_comes_first_and_other_problems_follow() -> None:
    text = sized(PolicyKind.IDENTITY, 7_000).replace('"Allow"', '"allow"')
    problems = validate_policy(text, PolicyKind.IDENTITY, managed=True)
    assert problems == ["Cannot exceed the quota for PolicySize: 6144.",
                        "The policy failed legacy parsing"]
    with pytest.raises(PolicySizeExceeded) as raised:
        parse_policy(text, PolicyKind.IDENTITY, managed=True)
    assert raised.value.messages == problems


def test_mappings_are_not_measured() -> None:
    document = json.loads(sized(PolicyKind.IDENTITY, 19_000))
    assert validate_policy(document, PolicyKind.IDENTITY) == []


def test_inline_policy_message() -> None:
    message = limits.inline_policy_size_message("group", "travis-ci", 5_120)
    assert message == "Maximum policy size of 5120 bytes exceeded for group travis-ci"
    assert limits.is_size_message(message)
    assert not limits.is_size_message("Syntax errors in policy.")
