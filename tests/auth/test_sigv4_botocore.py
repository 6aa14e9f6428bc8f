"""SigV4 header signatures produced by botocore's own signers and by boto3 clients."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from auth_support import (
    INACTIVE_KEY,
    ROOT_KEY,
    ROOT_SECRET,
    SESSION_KEY,
    SESSION_SECRET,
    SESSION_TOKEN,
    USER_KEY,
    USER_SECRET,
    botocore_request,
    capture,
    credentials,
    from_botocore,
    make_records,
    now,
    resolver,
)
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.config import Config

from trailgate.auth import AuthError, AuthErrorKind, PayloadMode, SigningKeyCache, authenticate
from trailgate.http import Headers, HttpRequest

S3_KEYS = [
    "plain.txt",
    "with space.txt",
    "plus+sign",
    "percent%25literal%",
    "unicodé/ключ/日本",
    "tilde~and-dash_dot.",
    "a//double//slashes",
    "/leading-slash",
    "trailing/",
    "dot/./segments/../kept",
    "sym!$&'()*,;=:@",
    'quote"and<angle>',
]


def _sign_iam(body: bytes = b"Action=ListUsers&Version=2010-05-08", **kwargs: object):
    request = botocore_request(
        "POST",
        "http://127.0.0.1:9000/",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        data=body,
    )
    SigV4Auth(credentials(**kwargs), "iam", "us-east-1").add_auth(request)  # type: ignore[arg-type]
    return request


def test_iam_post_verifies_and_identifies_the_user() -> None:
    result = authenticate(from_botocore(_sign_iam()), resolver(), now=now(), service_hint="iam")
    assert result.record is not None and result.record.access_key_id == USER_KEY
    assert result.principal.user_name == "alice"
    assert (result.signature_version, result.presigned) == ("v4", False)
    assert (result.region, result.service) == ("us-east-1", "iam")
    assert result.payload_mode is PayloadMode.SIGNED


def test_empty_region_scope_as_some_iam_clients_send_it() -> None:
    request = botocore_request("POST", "http://127.0.0.1:9000/", data=b"Action=GetUser")
    SigV4Auth(credentials(), "iam", "").add_auth(request)
    assert "//iam/aws4_request" in request.headers["Authorization"]
    result = authenticate(from_botocore(request), resolver(), now=now(), service_hint="iam")
    assert result.region == ""


@pytest.mark.parametrize(
    "tamper",
    ["body", "path", "query", "header", "method", "host"],
)
def test_tampering_any_signed_part_fails(tamper: str) -> None:
    request = botocore_request(
        "POST",
        "http://127.0.0.1:9000/p?Action=ListUsers",
        headers={"X-Amz-Meta-Note": "original"},
        data=b"Action=ListUsers&Version=2010-05-08",
    )
    SigV4Auth(credentials(), "iam", "us-east-1").add_auth(request)
    received = from_botocore(request)
    items = received.headers.items()
    if tamper == "body":
        received.body = b"Action=DeleteUser&Version=2010-05-08"
    elif tamper == "path":
        received.raw_path = "/q"
    elif tamper == "query":
        received.query_string = "Action=ListRoles"
    elif tamper == "header":
        received.headers = Headers(
            [(k, "changed" if k.lower() == "x-amz-meta-note" else v) for k, v in items]
        )
    elif tamper == "method":
        received.method = "PUT"
    elif tamper == "host":
        received.headers = Headers(
            [(k, "evil.example:9000" if k.lower() == "host" else v) for k, v in items]
        )
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="iam")
    error = caught.value
    assert error.kind is AuthErrorKind.SIGNATURE_MISMATCH
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)
    assert error.message.startswith("The request signature we calculated does not match")
    assert "Check your AWS Secret Access Key and signing method." in error.message


def test_wrong_secret_fails() -> None:
    request = _sign_iam(key=USER_KEY, secret="not-the-secret")
    with pytest.raises(AuthError) as caught:
        authenticate(from_botocore(request), resolver(), now=now(), service_hint="sts")
    assert caught.value.code == "SignatureDoesNotMatch"


def test_unknown_and_inactive_keys() -> None:
    for key in ("AKIADOESNOTEXIST0000", INACTIVE_KEY):
        request = _sign_iam(key=key, secret=USER_SECRET)
        with pytest.raises(AuthError) as caught:
            authenticate(from_botocore(request), resolver(), now=now(), service_hint="iam")
        assert (caught.value.code, caught.value.status) == ("InvalidClientTokenId", 403)
        assert caught.value.message == "The security token included in the request is invalid."


def test_json_service_dialect() -> None:
    request = _sign_iam(key="AKIADOESNOTEXIST0000", secret=USER_SECRET)
    with pytest.raises(AuthError) as caught:
        authenticate(from_botocore(request), resolver(), now=now(), service_hint="cloudtrail")
    assert (caught.value.code, caught.value.status) == ("UnrecognizedClientException", 400)


@pytest.mark.parametrize("minutes", [16, -16])
def test_clock_skew_beyond_15_minutes(minutes: int) -> None:
    request = _sign_iam()
    with pytest.raises(AuthError) as caught:
        authenticate(
            from_botocore(request),
            resolver(),
            now=now() + timedelta(minutes=minutes),
            service_hint="sts",
        )
    error = caught.value
    assert error.kind is AuthErrorKind.TIME_SKEWED
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)
    if minutes > 0:
        assert error.message.startswith("Signature expired: ")
        assert error.message.endswith(" - 15 min.)")
    else:
        assert error.message.startswith("Signature not yet current: ")


def test_skew_within_15_minutes_is_accepted() -> None:
    request = _sign_iam()
    authenticate(
        from_botocore(request), resolver(), now=now() + timedelta(minutes=14), service_hint="iam"
    )


def test_s3_skew_error_carries_times() -> None:
    sent = capture("s3", lambda c: c.list_buckets())
    with pytest.raises(AuthError) as caught:
        authenticate(sent[0], resolver(), now=now() + timedelta(hours=1), service_hint="s3")
    error = caught.value
    assert (error.code, error.status) == ("RequestTimeTooSkewed", 403)
    assert error.message == (
        "The difference between the request time and the current time is too large."
    )
    assert error.extra["MaxAllowedSkewMilliseconds"] == "900000"
    assert set(error.extra) >= {"RequestTime", "ServerTime"}


STS_BODY = b"Action=GetCallerIdentity"


class TestSessions:
    def _request(self, token: str | None):
        request = botocore_request("POST", "http://127.0.0.1:9000/", data=STS_BODY)
        SigV4Auth(credentials(SESSION_KEY, SESSION_SECRET, token), "sts", "us-east-1").add_auth(
            request
        )
        return from_botocore(request)

    def test_session_with_its_token(self) -> None:
        received = self._request(SESSION_TOKEN)
        result = authenticate(received, resolver(), now=now(), service_hint="sts")
        assert result.principal.kind == "AssumedRole"
        assert result.principal.arn == "arn:aws:sts::123456789012:assumed-role/reader/sess-1"

    def test_temporary_key_without_token(self) -> None:
        with pytest.raises(AuthError) as caught:
            authenticate(self._request(None), resolver(), now=now(), service_hint="sts")
        assert caught.value.kind is AuthErrorKind.MISSING_TOKEN
        assert caught.value.code == "InvalidClientTokenId"

    def test_token_mismatch(self) -> None:
        with pytest.raises(AuthError) as caught:
            authenticate(self._request("other-token"), resolver(), now=now(), service_hint="sts")
        assert caught.value.kind is AuthErrorKind.INVALID_TOKEN
        assert caught.value.code == "InvalidClientTokenId"

    def test_long_term_key_with_a_token(self) -> None:
        request = botocore_request("POST", "http://127.0.0.1:9000/", data=STS_BODY)
        SigV4Auth(credentials(USER_KEY, USER_SECRET, "stray"), "sts", "us-east-1").add_auth(request)
        with pytest.raises(AuthError) as caught:
            authenticate(from_botocore(request), resolver(), now=now(), service_hint="sts")
        assert caught.value.kind is AuthErrorKind.INVALID_TOKEN

    def test_expired_session(self) -> None:
        records = make_records(session_expires=now() - timedelta(seconds=1))
        with pytest.raises(AuthError) as caught:
            received = self._request(SESSION_TOKEN)
            authenticate(received, resolver(records), now=now(), service_hint="sts")
        error = caught.value
        assert (error.code, error.message) == (
            "ExpiredToken",
            "The security token included in the request is expired",
        )

    def test_expired_session_on_s3(self) -> None:
        records = make_records(session_expires=now() - timedelta(seconds=1))
        sent = capture(
            "s3",
            lambda c: c.list_buckets(),
            key=SESSION_KEY,
            secret=SESSION_SECRET,
            token=SESSION_TOKEN,
        )
        with pytest.raises(AuthError) as caught:
            authenticate(sent[0], resolver(records), now=now(), service_hint="s3")
        assert (caught.value.code, caught.value.status) == ("ExpiredToken", 400)
        assert caught.value.message == "The provided token has expired."

    def test_s3_session_errors(self) -> None:
        missing = capture("s3", lambda c: c.list_buckets(), key=SESSION_KEY, secret=SESSION_SECRET)
        with pytest.raises(AuthError) as caught:
            authenticate(missing[0], resolver(), now=now(), service_hint="s3")
        assert caught.value.code == "InvalidAccessKeyId"
        wrong = capture(
            "s3", lambda c: c.list_buckets(), key=SESSION_KEY, secret=SESSION_SECRET, token="x"
        )
        with pytest.raises(AuthError) as caught:
            authenticate(wrong[0], resolver(), now=now(), service_hint="s3")
        assert (caught.value.code, caught.value.status) == ("InvalidToken", 400)


def _s3_put(key: str, body: bytes = b"hello", endpoint: str = "http://127.0.0.1:9000"):
    return capture(
        "s3",
        lambda c: c.put_object(Bucket="bucket", Key=key, Body=body),
        endpoint=endpoint,
        config=Config(s3={"addressing_style": "path"}),
    )[0]


@pytest.mark.parametrize("key", S3_KEYS)
def test_s3_object_keys_exactly_as_the_sdk_sends_them(key: str) -> None:
    received = _s3_put(key)
    result = authenticate(received, resolver(), now=now(), service_hint="s3")
    assert result.payload_mode is PayloadMode.SIGNED
    assert result.service == "s3"


@pytest.mark.parametrize("key", ["with space", "a//b", "ü"])
def test_s3_get_and_head_with_special_keys(key: str) -> None:
    sent = capture(
        "s3",
        lambda c: (c.get_object(Bucket="b", Key=key), c.head_object(Bucket="b", Key=key)),
        config=Config(s3={"addressing_style": "path"}),
    )
    assert sent
    for received in sent:
        authenticate(received, resolver(), now=now(), service_hint="s3")


def test_s3_virtual_hosted_request() -> None:
    sent = capture(
        "s3",
        lambda c: c.get_object(Bucket="bucket", Key="dir/file name"),
        endpoint="http://s3.localhost.localstack.cloud:9000",
        config=Config(s3={"addressing_style": "virtual"}),
    )
    assert sent[0].headers.get("host", "").startswith("bucket.")
    authenticate(sent[0], resolver(), now=now(), service_hint="s3")


def test_s3_query_parameters_with_special_characters() -> None:
    prefixes = ["a b", "x+y", "100%", "é/ü", "~tilde", "a&b=c", "semi;colon", "*"]
    for prefix in prefixes:
        sent = capture(
            "s3",
            lambda c, p=prefix: c.list_objects_v2(
                Bucket="bucket", Prefix=p, Delimiter="/", StartAfter=p + "!", MaxKeys=7
            ),
            config=Config(s3={"addressing_style": "path"}),
        )
        authenticate(sent[0], resolver(), now=now(), service_hint="s3")


def test_s3_tampered_body_is_a_content_hash_mismatch() -> None:
    received = _s3_put("k", b"original")
    received.body = b"tampered"
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="s3")
    error = caught.value
    assert (error.code, error.status) == ("XAmzContentSHA256Mismatch", 400)
    assert error.extra["S3ComputedContentSHA256"] == hashlib.sha256(b"tampered").hexdigest()


def test_s3_signature_mismatch_reports_what_was_signed() -> None:
    received = _s3_put("k")
    received.raw_path = "/bucket/other"
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="s3")
    error = caught.value
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)
    assert error.message == (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )
    assert "/bucket/other" in error.extra["CanonicalRequest"]
    assert error.extra["AWSAccessKeyId"] == USER_KEY


def test_s3_unknown_key() -> None:
    sent = capture("s3", lambda c: c.list_buckets(), key="AKIANOTFOUND00000000")
    with pytest.raises(AuthError) as caught:
        authenticate(sent[0], resolver(), now=now(), service_hint="s3")
    error = caught.value
    assert (error.code, error.status) == ("InvalidAccessKeyId", 403)
    assert error.message == "The AWS Access Key Id you provided does not exist in our records."
    assert error.extra == {"AWSAccessKeyId": "AKIANOTFOUND00000000"}


def test_s3_requires_x_amz_content_sha256() -> None:
    request = botocore_request("GET", "http://127.0.0.1:9000/bucket/key")
    SigV4Auth(credentials(), "s3", "us-east-1").add_auth(request)
    with pytest.raises(AuthError) as caught:
        authenticate(from_botocore(request), resolver(), now=now(), service_hint="s3")
    assert (caught.value.code, caught.value.message) == (
        "InvalidRequest",
        "Missing required header for this request: x-amz-content-sha256",
    )


def test_s3_unsigned_x_amz_header_is_rejected() -> None:
    received = _s3_put("k")
    received.headers = Headers([*received.headers.items(), ("x-amz-acl", "public-read")])
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="s3")
    assert caught.value.code == "AccessDenied"
    assert caught.value.extra["HeadersNotSigned"] == "x-amz-acl"


def test_s3_unsigned_payload_and_deferred_hash() -> None:
    # botocore skips payload signing for streaming input over TLS when a checksum is present.
    request = botocore_request(
        "PUT",
        "https://127.0.0.1:9000/bucket/k",
        headers={"Content-MD5": "jXd/OF09/siBXSD3SWAm3A=="},
        data=b"data",
    )
    request.context["has_streaming_input"] = True
    S3SigV4Auth(credentials(), "s3", "us-east-1").add_auth(request)
    received = from_botocore(request)
    assert received.headers.get("x-amz-content-sha256") == "UNSIGNED-PAYLOAD"
    assert authenticate(received, resolver(), now=now()).payload_mode is PayloadMode.UNSIGNED

    signed = from_botocore(_signed_s3_put(b"streamed body"))
    signed.body = None  # the body is still on the wire
    result = authenticate(signed, resolver(), now=now(), service_hint="s3")
    assert result.payload_mode is PayloadMode.SHA256_DEFERRED
    verifier = result.payload_verifier()
    verifier.feed(b"streamed ")
    verifier.feed(b"body")
    verifier.finish()
    wrong = result.payload_verifier()
    wrong.feed(b"other body")
    with pytest.raises(AuthError) as caught:
        wrong.finish()
    assert caught.value.code == "XAmzContentSHA256Mismatch"


def _signed_s3_put(data: bytes):
    request = botocore_request("PUT", "http://127.0.0.1:9000/bucket/k", data=data)
    S3SigV4Auth(credentials(), "s3", "us-east-1").add_auth(request)
    return request


def test_host_must_be_signed() -> None:
    request = botocore_request("POST", "http://127.0.0.1:9000/", data=b"Action=ListUsers")
    SigV4Auth(credentials(), "iam", "us-east-1").add_auth(request)
    header = request.headers["Authorization"].replace("SignedHeaders=host;", "SignedHeaders=")
    received = from_botocore(request)
    received.headers = Headers(
        [(k, header if k.lower() == "authorization" else v) for k, v in received.headers.items()]
    )
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="iam")
    assert caught.value.kind is AuthErrorKind.SIGNATURE_MISMATCH


def test_boto3_clients_end_to_end() -> None:
    calls = {
        "iam": lambda c: c.create_user(
            UserName="bob", Path="/division/", Tags=[{"Key": "k", "Value": "v w"}]
        ),
        "sts": lambda c: c.get_caller_identity(),
        "cloudtrail": lambda c: c.describe_trails(trailNameList=["a trail"]),
        "organizations": lambda c: c.describe_organization(),
    }
    for service, call in calls.items():
        sent = capture(service, call)
        assert sent, service
        for received in sent:
            result = authenticate(received, resolver(), now=now(), service_hint=service)
            assert result.principal.user_name == "alice"


def test_root_and_session_via_boto3() -> None:
    sent = capture("sts", lambda c: c.get_caller_identity(), key=ROOT_KEY, secret=ROOT_SECRET)
    assert authenticate(sent[0], resolver(), now=now(), service_hint="sts").principal.kind == "Root"
    sent = capture(
        "s3",
        lambda c: c.list_buckets(),
        key=SESSION_KEY,
        secret=SESSION_SECRET,
        token=SESSION_TOKEN,
    )
    result = authenticate(sent[0], resolver(), now=now(), service_hint="s3")
    assert result.principal.session_name == "sess-1"


def test_signing_keys_are_cached_by_secret_hash() -> None:
    cache = SigningKeyCache(max_entries=2)
    received = from_botocore(_sign_iam())
    authenticate(received, resolver(), now=now(), service_hint="iam", signing_keys=cache)
    authenticate(received, resolver(), now=now(), service_hint="iam", signing_keys=cache)
    assert len(cache) == 1
    assert all(USER_SECRET not in repr(key) for key in cache._entries)
    for region in ("a", "b", "c"):
        cache.get(USER_SECRET, "20240101", region, "iam")
    assert len(cache) == 2


def test_anonymous_requests() -> None:
    received = HttpRequest("GET", "/bucket/key", "", Headers([("Host", "127.0.0.1:9000")]))
    result = authenticate(received, resolver(), now=now(), service_hint="s3")
    assert result.record is None and result.principal.kind == "Anonymous"
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="sts", require_auth=True)
    assert (caught.value.code, caught.value.status) == ("MissingAuthenticationToken", 403)
    assert caught.value.message == "Request is missing Authentication Token"


def test_unsupported_and_malformed_authorization() -> None:
    received = HttpRequest(
        "GET", "/b", "", Headers([("Host", "h"), ("Authorization", "Bearer abc")])
    )
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="s3")
    assert (caught.value.code, caught.value.message) == (
        "InvalidArgument",
        "Unsupported Authorization Type",
    )
    received = HttpRequest(
        "GET",
        "/b",
        "",
        Headers([("Host", "h"), ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIA/x")]),
    )
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="s3")
    assert caught.value.code == "AuthorizationHeaderMalformed"
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="iam")
    assert caught.value.code == "IncompleteSignature"
    assert "Authorization header requires 'SignedHeaders' parameter." in caught.value.message


def test_missing_date() -> None:
    request = _sign_iam()
    received = from_botocore(request)
    received.headers = Headers(
        [(k, v) for k, v in received.headers.items() if k.lower() != "x-amz-date"]
    )
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="iam")
    assert caught.value.kind is AuthErrorKind.MISSING_DATE


def test_date_header_instead_of_x_amz_date() -> None:
    request = botocore_request(
        "POST", "http://127.0.0.1:9000/", headers={"Date": "x"}, data=b"Action=ListUsers"
    )
    SigV4Auth(credentials(), "iam", "us-east-1").add_auth(request)
    assert "X-Amz-Date" not in request.headers
    authenticate(from_botocore(request), resolver(), now=now(), service_hint="iam")
