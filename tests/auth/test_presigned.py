"""Presigned SigV4 URLs from botocore's query signers and boto3's generate_presigned_url."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
import pytest
from auth_support import (
    SESSION_KEY,
    SESSION_SECRET,
    SESSION_TOKEN,
    USER_KEY,
    USER_SECRET,
    botocore_request,
    credentials,
    from_url,
    make_records,
    now,
    resolver,
)
from botocore.auth import S3SigV4QueryAuth, SigV4QueryAuth
from botocore.config import Config

from trailgate.auth import AuthError, AuthErrorKind, PayloadMode, authenticate
from trailgate.http import Headers


def _s3_client(key: str = USER_KEY, secret: str = USER_SECRET, token: str | None = None):
    session = boto3.session.Session(
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        region_name="eu-west-1",
    )
    return session.client(
        "s3",
        endpoint_url="http://127.0.0.1:9000",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def _replace_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    pairs = [(k, changes.pop(k) if k in changes else v) for k, v in parse_qsl(parts.query)]
    pairs.extend(changes.items())
    return urlunsplit(parts._replace(query=urlencode(pairs)))


@pytest.mark.parametrize("key", ["plain", "with space", "a+b", "ü/ключ", "a//b", "~t%25"])
def test_generate_presigned_get_url(key: str) -> None:
    url = _s3_client().generate_presigned_url(
        "get_object",
        Params={"Bucket": "bucket", "Key": key, "ResponseContentDisposition": 'inline; f="x y"'},
        ExpiresIn=300,
    )
    result = authenticate(from_url("GET", url), resolver(), now=now(), service_hint="s3")
    assert result.presigned and result.signature_version == "v4"
    assert result.payload_mode is PayloadMode.UNSIGNED
    assert result.region == "eu-west-1"


def test_presigned_put_carries_an_unsigned_body() -> None:
    url = _s3_client().generate_presigned_url(
        "put_object", Params={"Bucket": "bucket", "Key": "up load"}, ExpiresIn=60
    )
    received = from_url("PUT", url)
    received.body = b"anything at all"
    assert authenticate(received, resolver(), now=now()).payload_mode is PayloadMode.UNSIGNED


def test_presigned_with_session_token() -> None:
    client = _s3_client(SESSION_KEY, SESSION_SECRET, SESSION_TOKEN)
    url = client.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    assert "X-Amz-Security-Token" in url
    result = authenticate(from_url("GET", url), resolver(), now=now(), service_hint="s3")
    assert result.principal.kind == "AssumedRole"
    forged = _replace_query(url, **{"X-Amz-Security-Token": "forged"})
    with pytest.raises(AuthError) as caught:
        authenticate(from_url("GET", forged), resolver(), now=now(), service_hint="s3")
    assert caught.value.kind is AuthErrorKind.INVALID_TOKEN


def test_presigned_url_expiry() -> None:
    url = _s3_client().generate_presigned_url(
        "get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=120
    )
    authenticate(from_url("GET", url), resolver(), now=now() + timedelta(seconds=100))
    # Presigned URLs live by their own expiry, not by the 15-minute skew window.
    long_url = _s3_client().generate_presigned_url(
        "get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=7200
    )
    authenticate(from_url("GET", long_url), resolver(), now=now() + timedelta(hours=1))
    with pytest.raises(AuthError) as caught:
        authenticate(
            from_url("GET", url), resolver(), now=now() + timedelta(seconds=200), service_hint="s3"
        )
    error = caught.value
    assert (error.code, error.status, error.message) == ("AccessDenied", 403, "Request has expired")
    assert error.extra["X-Amz-Expires"] == "120"
    assert set(error.extra) == {"X-Amz-Expires", "Expires", "ServerTime"}


def test_presigned_url_not_yet_valid() -> None:
    url = _s3_client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    with pytest.raises(AuthError) as caught:
        authenticate(
            from_url("GET", url), resolver(), now=now() - timedelta(hours=1), service_hint="s3"
        )
    assert (caught.value.code, caught.value.message) == ("AccessDenied", "Request is not yet valid")


def test_expires_longer_than_a_week_is_refused() -> None:
    url = _s3_client().generate_presigned_url(
        "get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=604801
    )
    with pytest.raises(AuthError) as caught:
        authenticate(from_url("GET", url), resolver(), now=now(), service_hint="s3")
    assert caught.value.code == "AuthorizationQueryParametersError"
    assert "604800" in caught.value.message
    week = _s3_client().generate_presigned_url(
        "get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=604800
    )
    authenticate(from_url("GET", week), resolver(), now=now() + timedelta(days=6))


@pytest.mark.parametrize(
    "change",
    [
        {"X-Amz-Date": "20200101T000000Z"},
        {"response-content-type": "text/evil"},
        {"X-Amz-SignedHeaders": "host;x-amz-date"},
        {"X-Amz-Signature": "0" * 64},
    ],
)
def test_tampered_presigned_query(change: dict[str, str]) -> None:
    url = _s3_client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    with pytest.raises(AuthError):
        authenticate(from_url("GET", _replace_query(url, **change)), resolver(), now=now())


def test_tampered_presigned_path_and_secret() -> None:
    url = _s3_client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    with pytest.raises(AuthError) as caught:
        authenticate(from_url("GET", url.replace("/b/k?", "/b/other?")), resolver(), now=now())
    assert caught.value.code == "SignatureDoesNotMatch"
    bad = _s3_client(USER_KEY, "wrong secret").generate_presigned_url(
        "get_object", Params={"Bucket": "b", "Key": "k"}
    )
    with pytest.raises(AuthError) as caught:
        authenticate(from_url("GET", bad), resolver(), now=now())
    assert caught.value.code == "SignatureDoesNotMatch"


def test_presigned_unknown_key() -> None:
    url = _s3_client("AKIANOPE000000000000").generate_presigned_url(
        "get_object", Params={"Bucket": "b", "Key": "k"}
    )
    with pytest.raises(AuthError) as caught:
        authenticate(from_url("GET", url), resolver(), now=now(), service_hint="s3")
    assert caught.value.code == "InvalidAccessKeyId"


def test_presigned_expired_session() -> None:
    records = make_records(session_expires=now() - timedelta(minutes=1))
    client = _s3_client(SESSION_KEY, SESSION_SECRET, SESSION_TOKEN)
    url = client.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    with pytest.raises(AuthError) as caught:
        authenticate(from_url("GET", url), resolver(records), now=now(), service_hint="s3")
    assert caught.value.code == "ExpiredToken"


def test_botocore_query_signers_directly() -> None:
    request = botocore_request("GET", "http://127.0.0.1:9000/bucket/a%20key?versionId=v%2B1")
    S3SigV4QueryAuth(credentials(), "s3", "us-east-1", expires=900).add_auth(request)
    authenticate(from_url("GET", request.url), resolver(), now=now(), service_hint="s3")

    # An STS GetCallerIdentity presigned URL, the way EKS tokens are made.
    sts = botocore_request(
        "GET", "http://127.0.0.1:9000/?Action=GetCallerIdentity&Version=2011-06-15"
    )
    SigV4QueryAuth(credentials(), "sts", "us-east-1", expires=60).add_auth(sts)
    result = authenticate(from_url("GET", sts.url), resolver(), now=now(), service_hint="sts")
    assert result.presigned and result.payload_mode is PayloadMode.SIGNED
    with pytest.raises(AuthError) as caught:
        authenticate(
            from_url("GET", sts.url),
            resolver(),
            now=now() + timedelta(minutes=2),
            service_hint="sts",
        )
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.message.startswith("Signature expired: ")


def test_missing_presign_parameters() -> None:
    url = _s3_client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query) if k != "X-Amz-SignedHeaders"]
    stripped = urlunsplit(parts._replace(query=urlencode(pairs)))
    with pytest.raises(AuthError) as caught:
        authenticate(from_url("GET", stripped), resolver(), now=now(), service_hint="s3")
    assert caught.value.code == "AuthorizationQueryParametersError"


def test_only_one_auth_mechanism() -> None:
    url = _s3_client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    received = from_url("GET", url, {"Authorization": "AWS4-HMAC-SHA256 Credential=x"})
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="s3")
    assert caught.value.kind is AuthErrorKind.MULTIPLE_AUTH
    assert caught.value.code == "InvalidArgument"


def test_presigned_with_an_unsigned_x_amz_header() -> None:
    url = _s3_client().generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    received = from_url("GET", url)
    received.headers = Headers([*received.headers.items(), ("x-amz-meta-extra", "1")])
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="s3")
    assert caught.value.kind is AuthErrorKind.HEADERS_NOT_SIGNED
