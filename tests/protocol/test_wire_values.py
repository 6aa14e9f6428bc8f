"""Timestamps, Java-regex patterns, model loading and defensive limits of the protocol layer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from boto_roundtrip import manual_request
from hypothesis import given
from hypothesis import strategies as st

from trailgate.errors import AwsError
from trailgate.protocol import Route, codec_for, route
from trailgate.protocol.models import SERVICE_NAMES, error_shape, service_model
from trailgate.protocol.patterns import matches, translate
from trailgate.protocol.timestamps import (
    format_epoch,
    format_iso8601,
    format_rfc822,
    parse_timestamp,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-06T07:08:09Z", datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)),
        ("2024-05-06T07:08:09.123Z", datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)),
        ("2024-05-06T07:08:09.123456789Z", datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)),
        ("2024-05-06T09:08:09+02:00", datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)),
        ("2024-05-06T07:08:09", datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)),
        ("Mon, 06 May 2024 07:08:09 GMT", datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)),
        ("1714979289", datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)),
        ("1714979289.5", datetime(2024, 5, 6, 7, 8, 9, 500000, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_accepts_every_wire_format(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01T00:00:00Z", "1e999"])
def test_parse_timestamp_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_timestamp_formats() -> None:
    moment = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    assert format_iso8601(moment) == "2024-05-06T07:08:09.123Z"
    assert format_iso8601(moment.replace(microsecond=0)) == "2024-05-06T07:08:09Z"
    assert format_iso8601(moment.replace(microsecond=0), always_millis=True) == (
        "2024-05-06T07:08:09.000Z"
    )
    assert format_rfc822(moment) == "Mon, 06 May 2024 07:08:09 GMT"
    assert format_epoch(moment) == 1714979289.123
    assert format_epoch(moment.replace(microsecond=0)) == 1714979289
    # Naive values are UTC; other zones are converted.
    assert format_iso8601(datetime(2024, 1, 1)) == "2024-01-01T00:00:00Z"
    plus2 = timezone(timedelta(hours=2))
    assert format_iso8601(datetime(2024, 1, 1, 2, tzinfo=plus2)) == "2024-01-01T00:00:00Z"


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)))
def test_iso8601_round_trip_to_milliseconds(moment: datetime) -> None:
    moment = moment.replace(tzinfo=UTC, microsecond=moment.microsecond // 1000 * 1000)
    assert parse_timestamp(format_iso8601(moment)) == moment


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)))
def test_http_dates_are_what_the_standard_library_writes(moment: datetime) -> None:
    # Formatted by hand for speed; email.utils is the reference (English names, GMT).
    aware = moment.replace(tzinfo=UTC)
    assert format_rfc822(aware) == format_datetime(aware.replace(microsecond=0), usegmt=True)
    assert parse_timestamp(format_rfc822(aware)) == aware.replace(microsecond=0)


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        (r"[\w+=,.@-]+", "user.name@x", True),
        # Java's \w is ASCII-only.
        (r"[\w+=,.@-]+", "üser", False),
        (r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", "Ünïcode ключ 名前 ٣", True),
        (r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", "a$b", False),
        (r"\p{Lu}+", "ÀB", True),
        (r"\P{N}+", "abc", True),
        (r"\P{N}+", "a1", False),
        # Surrogate pairs written as escapes mean supplementary characters.
        (r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*", "emoji 😀 ok", True),
        (r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*", "bell\x07", False),
        # Whole-string match, as Java's matches().
        (r"[0-9]+", "12a", False),
        (r"^([\p{L}]*)$", "abc", True),
    ],
)
def test_java_patterns(pattern: str, value: str, expected: bool) -> None:
    assert matches(pattern, value) is expected


def test_every_model_pattern_compiles() -> None:
    count = 0
    for service in SERVICE_NAMES:
        model = service_model(service)
        for name in model.shape_names:
            pattern = model.shape_for(name).metadata.get("pattern")
            if pattern:
                translate(pattern)
                matches(pattern, "x")
                count += 1
    assert count > 100


def test_models_are_loaded_once() -> None:
    assert service_model("iam") is service_model("iam")
    with pytest.raises(KeyError):
        service_model("ec2")
    shape = error_shape("iam", "NoSuchEntity")
    assert shape is not None and shape.metadata["error"]["httpStatusCode"] == 404


def test_codecs_per_service() -> None:
    assert type(codec_for("iam")).__name__ == "QueryCodec"
    assert type(codec_for("sts")).__name__ == "QueryCodec"
    assert type(codec_for("cloudtrail")).__name__ == "JsonCodec"
    assert type(codec_for("organizations")).__name__ == "JsonCodec"
    assert type(codec_for("s3")).__name__ == "RestXmlCodec"
    assert codec_for("s3") is codec_for("s3")
    with pytest.raises(KeyError):
        codec_for("dynamodb")


# --- defensive limits ----------------------------------------------------------------------------


def test_huge_list_index_is_not_an_index() -> None:
    request = manual_request(
        "GET",
        "/",
        query="Action=GetAccountAuthorizationDetails&Version=2010-05-08"
        f"&Filter.member.{'9' * 5000}=User&Filter.member.1=Role",
        host="iam.amazonaws.com",
    )
    assert codec_for("iam").parse(request, route(request)) == {"Filter": ["Role"]}


def test_deeply_nested_json_is_a_serialization_error() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    request = manual_request(
        "POST", "/", headers=[("X-Amz-Target", "CloudTrail_20131101.DescribeTrails")], body=body
    )
    with pytest.raises(AwsError) as caught:
        codec_for("cloudtrail").parse(request, route(request))
    assert caught.value.code == "SerializationException"


@pytest.mark.parametrize(
    "number",
    [b"9" * 5000, str(2**40).encode(), b"1e400"],
    ids=["digits", "int32-overflow", "float"],
)
def test_out_of_range_json_numbers_are_serialization_errors(number: bytes) -> None:
    body = b'{"MaxResults": ' + number + b"}"
    request = manual_request(
        "POST", "/", headers=[("X-Amz-Target", "CloudTrail_20131101.LookupEvents")], body=body
    )
    with pytest.raises(AwsError) as caught:
        codec_for("cloudtrail").parse(request, route(request))
    assert caught.value.code == "SerializationException"


def test_response_header_values_cannot_split_the_response() -> None:
    response = codec_for("s3").serialize(
        Route("s3", "GetObject", bucket="b", key="k"),
        {"Body": b"x", "ContentDisposition": "attachment\r\nSet-Cookie: a=b"},
        "rid",
    )
    assert response.header("Content-Disposition") == "attachment  Set-Cookie: a=b"
    assert all("\n" not in value and "\r" not in value for _, value in response.headers)


def test_no_content_length_on_204() -> None:
    response = codec_for("s3").serialize(Route("s3", "DeleteObject", bucket="b", key="k"), {}, "r")
    assert response.status == 204
    assert response.header("Content-Length") is None
    assert response.body == b""
