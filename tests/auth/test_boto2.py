"""Requests signed by boto 2.49's own handlers (SigV4 for STS/IAM, SigV2 and SigV4 for S3)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import boto.iam
import boto.sts
import pytest
from auth_support import (
    SESSION_KEY,
    SESSION_SECRET,
    SESSION_TOKEN,
    USER_KEY,
    USER_SECRET,
    from_boto2,
    from_url,
    now,
    resolver,
)
from boto.auth import S3HmacAuthV4Handler
from boto.provider import Provider
from boto.regioninfo import RegionInfo
from boto.s3.connection import OrdinaryCallingFormat, S3Connection

from trailgate.auth import AuthError, authenticate

HOST, PORT = "127.0.0.1", 9000
HOST_HEADER = f"{HOST}:{PORT}"


def _sts(key: str = USER_KEY, secret: str = USER_SECRET, token: str | None = None):
    return boto.sts.STSConnection(
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        security_token=token,
        region=RegionInfo(name="local", endpoint=HOST),
        port=PORT,
        is_secure=False,
    )


def _signed_query_request(connection, params: dict[str, str]):
    request = connection.build_base_http_request("POST", "/", None, params=params)
    connection._auth_handler.add_auth(request)
    return from_boto2(request, HOST_HEADER)


def test_boto2_sts_scope_is_derived_from_the_host() -> None:
    received = _signed_query_request(
        _sts(), {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
    )
    authorization = received.headers.get("authorization") or ""
    # boto 2 takes service and region from the host name: 127.0.0.1 -> service "127", region "0".
    assert "/0/127/aws4_request" in authorization
    result = authenticate(received, resolver(), now=now(), service_hint="sts")
    assert (result.region, result.service) == ("0", "127")
    assert result.principal.user_name == "alice"


def test_boto2_sts_with_special_parameters_and_session_token() -> None:
    params = {
        "Action": "AssumeRole",
        "Version": "2011-06-15",
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "RoleSessionName": "a+b=c/d@e",
        "Policy": '{"Version": "2012-10-17", "Statement": []} ~*',
    }
    received = _signed_query_request(_sts(SESSION_KEY, SESSION_SECRET, SESSION_TOKEN), params)
    result = authenticate(received, resolver(), now=now(), service_hint="sts")
    assert result.principal.kind == "AssumedRole"
    received.body = received.body.replace(b"RoleSessionName=a", b"RoleSessionName=z")
    with pytest.raises(AuthError):
        authenticate(received, resolver(), now=now(), service_hint="sts")


def test_boto2_iam_get_request() -> None:
    iam = boto.iam.IAMConnection(
        aws_access_key_id=USER_KEY,
        aws_secret_access_key=USER_SECRET,
        host=HOST,
        port=PORT,
        is_secure=False,
    )
    request = iam.build_base_http_request(
        "GET",
        "/",
        None,
        params={"Action": "ListUsers", "PathPrefix": "/a b/", "Version": "2010-05-08"},
    )
    iam._auth_handler.add_auth(request)
    received = from_boto2(request, HOST_HEADER)
    assert received.query_string
    authenticate(received, resolver(), now=now(), service_hint="iam")
    with pytest.raises(AuthError):
        authenticate(received, resolver(), now=now() + timedelta(minutes=20), service_hint="iam")


def _s3(key: str = USER_KEY, secret: str = USER_SECRET, token: str | None = None):
    return S3Connection(
        key,
        secret,
        security_token=token,
        host=HOST,
        port=PORT,
        is_secure=False,
        calling_format=OrdinaryCallingFormat(),
    )


def _s3_request(
    connection,
    method: str,
    bucket: str,
    key: str,
    query: str = "",
    *,
    host: str | None = None,
    **kw,
):
    calling = connection.calling_format
    path = calling.build_path_base(bucket, key)
    auth_path = calling.build_auth_path(bucket, key)
    if query:
        path += "?" + query
        auth_path += "?" + query
    return connection.build_base_http_request(
        method,
        path,
        auth_path,
        {},
        kw.get("headers", {}),
        kw.get("data", b""),
        host or calling.build_host(connection.server_name(), bucket),
    )


S3_KEYS = ["plain", "with space", "a+b", "ünï/cödé", "a//b", "~tilde", "pct%25", "!$&'()*,;=:@"]


@pytest.mark.parametrize("key", S3_KEYS)
def test_boto2_s3_sigv2_by_default(key: str) -> None:
    connection = _s3()
    assert type(connection._auth_handler).__name__ == "HmacAuthV1Handler"
    request = _s3_request(
        connection,
        "PUT",
        "bucket",
        key,
        headers={
            "Content-Type": "text/plain",
            "Content-MD5": "XUFAKrxLKna5cZ2REBfFkg==",
            "x-amz-meta-Name": "  padded  value ",
            "x-amz-acl": "private",
        },
        data=b"hello",
    )
    connection._auth_handler.add_auth(request)
    received = from_boto2(request, HOST_HEADER)
    result = authenticate(received, resolver(), now=now(), service_hint="s3")
    assert result.signature_version == "v2"


@pytest.mark.parametrize("query", ["acl", "uploads", "versionId=3%2B4", "tagging", "location"])
def test_boto2_s3_sigv2_subresources(query: str) -> None:
    connection = _s3()
    request = _s3_request(connection, "GET", "bucket", "obj", query)
    connection._auth_handler.add_auth(request)
    authenticate(from_boto2(request, HOST_HEADER), resolver(), now=now(), service_hint="s3")


def test_boto2_s3_sigv2_failures() -> None:
    connection = _s3()
    request = _s3_request(connection, "GET", "bucket", "obj", headers={"x-amz-meta-a": "1"})
    connection._auth_handler.add_auth(request)
    received = from_boto2(request, HOST_HEADER)
    received.raw_path = "/bucket/other"
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="s3")
    assert caught.value.code == "SignatureDoesNotMatch"
    assert "/bucket/other" in caught.value.extra["StringToSign"]
    with pytest.raises(AuthError) as caught:
        authenticate(
            from_boto2(request, HOST_HEADER),
            resolver(),
            now=now() + timedelta(minutes=30),
            service_hint="s3",
        )
    assert caught.value.code == "RequestTimeTooSkewed"
    wrong = _s3(secret="nope")
    request = _s3_request(wrong, "GET", "bucket", "obj")
    wrong._auth_handler.add_auth(request)
    with pytest.raises(AuthError):
        authenticate(from_boto2(request, HOST_HEADER), resolver(), now=now(), service_hint="s3")


def test_boto2_s3_sigv2_with_session_token() -> None:
    connection = _s3(SESSION_KEY, SESSION_SECRET, SESSION_TOKEN)
    request = _s3_request(connection, "GET", "bucket", "obj")
    connection._auth_handler.add_auth(request)
    received = from_boto2(request, HOST_HEADER)
    assert received.headers.get("x-amz-security-token") == SESSION_TOKEN
    result = authenticate(received, resolver(), now=now(), service_hint="s3")
    assert result.principal.kind == "AssumedRole"


def test_boto2_s3_query_string_auth() -> None:
    url = _s3().generate_url(300, "GET", "bucket", "some key+x", query_auth=True)
    assert "Signature=" in url and "AWSAccessKeyId=" in url
    result = authenticate(from_url("GET", url), resolver(), now=now(), service_hint="s3")
    assert result.presigned and result.signature_version == "v2"
    with pytest.raises(AuthError) as caught:
        authenticate(
            from_url("GET", url), resolver(), now=now() + timedelta(minutes=6), service_hint="s3"
        )
    assert (caught.value.code, caught.value.message) == ("AccessDenied", "Request has expired")


def _v4_handler(key: str = USER_KEY, secret: str = USER_SECRET, token: str | None = None):
    provider = Provider("aws", key, secret, token)
    return S3HmacAuthV4Handler(HOST, boto.config, provider, region_name="us-east-1")


@pytest.mark.parametrize("key", S3_KEYS)
def test_boto2_s3_sigv4_handler(key: str) -> None:
    body = b"payload " + key.encode()
    # The SigV4 handler appends the port itself, so the request carries the bare host (with
    # S3Connection's host:port it would sign "host:port:port", a boto 2 bug on custom ports).
    request = _s3_request(
        _s3(), "PUT", "bucket", key, host=HOST, headers={"x-amz-meta-k": "v"}, data=body
    )
    handler = _v4_handler()
    handler.add_auth(request)
    received = from_boto2(request, HOST_HEADER)
    assert received.headers.get("x-amz-content-sha256") == hashlib.sha256(body).hexdigest()
    result = authenticate(received, resolver(), now=now(), service_hint="s3")
    assert result.service == "s3"


def test_boto2_s3_sigv4_presign() -> None:
    request = _s3_request(_s3(), "GET", "bucket", "a key", host=HOST)
    request.port = PORT
    url = _v4_handler().presign(request, 600)
    assert "X-Amz-Signature=" in url
    # presign() builds the URL from the bare host; the client connects to host:port.
    received = from_url("GET", url.replace(f"//{HOST}/", f"//{HOST_HEADER}/"))
    result = authenticate(received, resolver(), now=now(), service_hint="s3")
    assert result.presigned
