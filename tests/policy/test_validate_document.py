"""JSON loading: strict JSON, as a policy parser must read it."""

from __future__ import annotations

import pytest

from trailgate.policy.document import PolicyJsonError, load_policy_json
from trailgate.policy.kinds import PolicyKind
from trailgate.policy.validate import (
    SYNTAX_ERROR,
    MalformedPolicyDocument,
    parse_policy,
    validate_policy,
)

VALID = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}'


def test_loads_an_object() -> None:
    assert load_policy_json(VALID)["Version"] == "2012-10-17"
    assert load_policy_json(VALID.encode()) == load_policy_json(VALID)
    assert load_policy_json("  \n" + VALID + "\n ") == load_policy_json(VALID)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        VALID + "{}",  # two documents
        VALID[:-1] + ",}",  # trailing comma
        "{'Version': '2012-10-17'}",
        '{"Version": NaN}',
        '{"Version": Infinity}',
        '{"Version": -Infinity}',
        '{"Version": "2012-10-17", "Version": "2008-10-17"}',  # a key given twice
        '{"Statement": {"Effect": "Allow", "Effect": "Deny"}}',
        "\ufeff" + VALID,
        b"\xff\xfe{}",
    ],
)
def test_refuses_what_is_not_strict_json(text: str | bytes) -> None:
    with pytest.raises(PolicyJsonError):
        load_policy_json(text)
    assert validate_policy(text, PolicyKind.IDENTITY) == [SYNTAX_ERROR]


def test_non_object_documents_are_syntax_errors() -> None:
    for text in ('"text"', "[]", "null", "42"):
        with pytest.raises(MalformedPolicyDocument) as raised:
            parse_policy(text, PolicyKind.IDENTITY)
        assert raised.value.messages == [SYNTAX_ERROR]


def test_string_kind_names_are_accepted() -> None:
    assert validate_policy(VALID, "identity") == []
    with pytest.raises(ValueError):
        validate_policy(VALID, "no-such-kind")


def test_exception_without_messages_still_has_one() -> None:
    assert MalformedPolicyDocument([]).messages == [SYNTAX_ERROR]


def test_deep_nesting_is_refused_without_crashing() -> None:
    text = "[" * 100_000 + "]" * 100_000
    with pytest.raises(PolicyJsonError):
        load_policy_json(text)
    assert validate_policy(text, PolicyKind.IDENTITY, max_size=10**6) == [SYNTAX_ERROR]
