"""The console's pure pieces: the editor's checks, cookie signatures, the lockout schedule,
the redirect target after sign-in, breadcrumbs and the trusted-entity table."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from trailgate.console import sessions
from trailgate.console.iam_roles import trust_document, trusted_entities
from trailgate.console.policy_check import check_document
from trailgate.console.s3 import breadcrumbs
from trailgate.console.signin import _safe_next
from trailgate.policy import PolicyKind


def test_syntax_errors_carry_line_column_and_the_line() -> None:
    text = '{\n  "Version": "2012-10-17"\n  "Statement": []\n}'
    result = check_document(text, PolicyKind.IDENTITY)
    assert result.messages[0] == "Syntax errors in policy."
    assert result.syntax is not None
    assert (result.syntax.line, result.syntax.column) == (3, 3)
    assert result.syntax.excerpt == '  "Statement": []'
    assert result.syntax.caret == "  ^"


def test_duplicate_members_are_a_syntax_error_without_position() -> None:
    text = '{"Version": "2012-10-17", "Version": "2012-10-17", "Statement": []}'
    result = check_document(text, PolicyKind.IDENTITY)
    assert result.messages[0] == "Syntax errors in policy."
    assert result.syntax is not None and result.syntax.line == 0
    assert "duplicate" in result.syntax.detail


def test_engine_messages_per_kind() -> None:
    identity_with_principal = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]})
    assert check_document(identity_with_principal, PolicyKind.IDENTITY).messages[0] == (
        "Policy document should not specify a principal.")
    assert check_document(trust_document("123456789012", "x-1"), PolicyKind.TRUST).ok
    assert not check_document("   ", PolicyKind.IDENTITY).ok


def test_trust_document_and_its_trusted_entities() -> None:
    document = trust_document("123456789012", "ext-42")
    rows = trusted_entities(document)
    assert rows == [{
        "effect": "Allow", "type": "AWS", "principal": "arn:aws:iam::123456789012:root",
        "actions": ["sts:AssumeRole"],
        "condition": {"StringEquals": {"sts:ExternalId": "ext-42"}},
    }]
    assert "Condition" not in json.loads(trust_document("123456789012", None))["Statement"][0]
    many = json.dumps({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole",
                                     "Principal": {"Service": ["a.amazonaws.com",
                                                               "b.amazonaws.com"]}}})
    assert [r["principal"] for r in trusted_entities(many)] == [
        "a.amazonaws.com", "b.amazonaws.com"]
    assert trusted_entities("not json") == []


def test_cookie_signatures() -> None:
    signer = sessions.CookieSigner(b"k" * 32)
    signed = signer.sign("token", "tg_console")
    assert signer.unsign(signed, "tg_console") == "token"
    assert signer.unsign(signed, "other-purpose") is None
    assert signer.unsign(signed[:-1] + ("A" if signed[-1] != "A" else "B"), "tg_console") is None
    assert signer.unsign("token", "tg_console") is None
    assert sessions.CookieSigner(b"j" * 32).unsign(signed, "tg_console") is None


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(1, 0), (3, 0), (4, 10), (5, 20), (6, 40), (9, 320), (10, 640), (11, 900), (40, 900)],
)
def test_lockout_schedule(failures: int, seconds: int) -> None:
    assert sessions.delay_after(failures) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("wanted", "followed"),
    [
        ("/console/iam/users?tab=security", "/console/iam/users?tab=security"),
        ("https://evil.example/", "/console/home"),
        ("//evil.example/console/", "/console/home"),
        ("/console\\..\\evil", "/console/home"),
        ("/other", "/console/home"),
        ("/console/x\r\nSet-Cookie: a=b", "/console/home"),
        (None, "/console/home"),
    ],
)
def test_only_console_paths_are_followed_after_signin(wanted: str | None, followed: str) -> None:
    assert _safe_next(wanted) == followed


def test_breadcrumbs() -> None:
    assert breadcrumbs("") == []
    assert breadcrumbs("AWSLogs/111/") == [("AWSLogs", "AWSLogs/"), ("111", "AWSLogs/111/")]
    assert breadcrumbs("a//b/") == [("a", "a/"), ("/", "a//"), ("b", "a//b/")]
