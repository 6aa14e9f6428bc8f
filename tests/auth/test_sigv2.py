"""SigV2 as botocore produces it: S3 HMAC-SHA1 (header and query) and query-protocol version 2."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl

import boto3
import pytest
from auth_support import (
    SESSION_KEY,
    SESSION_SECRET,
    SESSION_TOKEN,
    USER_KEY,
    USER_SECRET,
    capture,
    credentials,
    from_botocore,
    from_url,
    now,
    resolver,
)
from botocore.auth import SigV2Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config

from trailgate.auth import AuthError, authenticate
from trailgate.http import Headers

V2 = Config(signature_version="s3", s3={"addressing_style": "path"})
V2_VIRTUAL = Config(signature_version="s3", s3={"addressing_style": "virtual"})


@pytest.mark.parametrize("key", ["plain", "sp ace", "a+b", "ü/日本", "a//b", "~x", "%25"])
def test_s3_sigv2_header_from_boto3(key: str) -> None:
    sent = capture(
        "s3",
        lambda c: c.put_object(
            Bucket="bucket",
            Key=key,
            Body=b"data",
            ContentType="text/plain; charset=utf-8",
            Metadata={"Name": "Value  with  spaces"},
            ACL="private",
        ),
        config=V2,
    )
    assert sent[0].headers.get("authorization", "").startswith("AWS ")
    result = authenticate(sent[0], resolver(), now=now(), service_hint="s3")
    assert result.signature_version == "v2" and result.principal.user_name == "alice"


def test_s3_sigv2_subresources_and_listing() -> None:
    calls = [
        lambda c: c.get_object_acl(Bucket="b", Key="k", VersionId="v+1"),
        lambda c: c.create_multipart_upload(Bucket="b", Key="k"),
        lambda c: c.upload_part(Bucket="b", Key="k", UploadId="u/1=", PartNumber=2, Body=b"x"),
        lambda c: c.list_objects(Bucket="b", Prefix="a b/", Delimiter="/"),
        lambda c: c.get_object(Bucket="b", Key="k", ResponseContentType="text/plain"),
        lambda c: c.get_bucket_versioning(Bucket="b"),
        lambda c: c.put_object_tagging(
            Bucket="b", Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}
        ),
    ]
    for call in calls:
        sent = capture("s3", call, config=V2)
        assert sent
        authenticate(sent[0], resolver(), now=now(), service_hint="s3")


def test_s3_sigv2_virtual_hosted_needs_the_bucket() -> None:
    for call in (
        lambda c: c.get_object(Bucket="bucket", Key="a key"),
        lambda c: c.list_objects(Bucket="bucket"),
    ):
        sent = capture(
            "s3", call, endpoint="http://s3.localhost.localstack.cloud:9000", config=V2_VIRTUAL
        )
        received = sent[0]
        assert received.headers.get("host", "").startswith("bucket.")
        authenticate(
            received, resolver(), now=now(), service_hint="s3", virtual_host_bucket="bucket"
        )
        with pytest.raises(AuthError):
            authenticate(received, resolver(), now=now(), service_hint="s3")
        with pytest.raises(AuthError):
            authenticate(
                received, resolver(), now=now(), service_hint="s3", virtual_host_bucket="other"
            )


def test_s3_sigv2_header_failures() -> None:
    sent = capture("s3", lambda c: c.get_object(Bucket="b", Key="k"), config=V2)
    received = sent[0]
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now() + timedelta(minutes=16), service_hint="s3")
    assert caught.value.code == "RequestTimeTooSkewed"
    tampered = from_botocore_copy(received, raw_path="/b/k2")
    with pytest.raises(AuthError) as caught:
        authenticate(tampered, resolver(), now=now(), service_hint="s3")
    assert (caught.value.code, caught.value.status) == ("SignatureDoesNotMatch", 403)
    unknown = capture(
        "s3", lambda c: c.get_object(Bucket="b", Key="k"), config=V2, key="AKIAUNKNOWN000000000"
    )
    with pytest.raises(AuthError) as caught:
        authenticate(unknown[0], resolver(), now=now(), service_hint="s3")
    assert caught.value.code == "InvalidAccessKeyId"
    extra_header = from_botocore_copy(received)
    extra_header.headers = Headers([*received.headers.items(), ("x-amz-meta-new", "1")])
    with pytest.raises(AuthError):
        authenticate(extra_header, resolver(), now=now(), service_hint="s3")


def from_botocore_copy(received, **changes):
    from dataclasses import replace

    return replace(received, **changes)


def test_s3_sigv2_session_token_header() -> None:
    sent = capture(
        "s3",
        lambda c: c.get_object(Bucket="b", Key="k"),
        config=V2,
        key=SESSION_KEY,
        secret=SESSION_SECRET,
        token=SESSION_TOKEN,
    )
    assert sent[0].headers.get("x-amz-security-token") == SESSION_TOKEN
    assert authenticate(sent[0], resolver(), now=now()).principal.kind == "AssumedRole"
    missing = capture(
        "s3", lambda c: c.get_object(Bucket="b", Key="k"), config=V2, key=SESSION_KEY,
        secret=SESSION_SECRET,
    )  # fmt: skip
    with pytest.raises(AuthError) as caught:
        authenticate(missing[0], resolver(), now=now(), service_hint="s3")
    assert caught.value.code == "InvalidAccessKeyId"


def _v2_client(key: str = USER_KEY, secret: str = USER_SECRET, token: str | None = None):
    session = boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
        region_name="us-east-1",
    )  # fmt: skip
    return session.client("s3", endpoint_url="http://127.0.0.1:9000", config=V2)


def test_s3_sigv2_query_string_auth() -> None:
    url = _v2_client().generate_presigned_url(
        "get_object",
        Params={"Bucket": "b", "Key": "some key/ü", "ResponseContentType": "a/b"},
        ExpiresIn=120,
    )
    assert "AWSAccessKeyId=" in url and "Expires=" in url
    result = authenticate(from_url("GET", url), resolver(), now=now(), service_hint="s3")
    assert result.presigned and result.signature_version == "v2"
    with pytest.raises(AuthError) as caught:
        authenticate(from_url("GET", url), resolver(), now=now() + timedelta(minutes=3))
    assert (caught.value.code, caught.value.message) == ("AccessDenied", "Request has expired")
    with pytest.raises(AuthError):
        authenticate(from_url("GET", url.replace("some%20key", "other")), resolver(), now=now())


def test_s3_sigv2_query_with_session_token_in_the_query() -> None:
    client = _v2_client(SESSION_KEY, SESSION_SECRET, SESSION_TOKEN)
    url = client.generate_presigned_url("put_object", Params={"Bucket": "b", "Key": "k"})
    names = dict(parse_qsl(url.split("?", 1)[1]))
    assert names["x-amz-security-token"] == SESSION_TOKEN
    result = authenticate(from_url("PUT", url), resolver(), now=now(), service_hint="s3")
    assert result.principal.kind == "AssumedRole"


def _query_v2(body: dict[str, str], *, method: str = "POST", token: str | None = None):
    if method == "POST":
        request = AWSRequest(method="POST", url="http://127.0.0.1:9000/", data=dict(body))
    else:
        request = AWSRequest(method="GET", url="http://127.0.0.1:9000/", params=dict(body))
    SigV2Auth(credentials(token=token) if token else credentials()).add_auth(request)
    prepared = request.prepare()
    received = from_botocore(prepared)  # type: ignore[arg-type]
    if method == "POST":
        received.headers = Headers(
            [*received.headers.items(), ("Content-Type", "application/x-www-form-urlencoded")]
        )
    return received


def test_query_protocol_signature_version_2() -> None:
    params = {"Action": "ListUsers", "Version": "2010-05-08", "PathPrefix": "/a b+c/~"}
    for method in ("POST", "GET"):
        received = _query_v2(params, method=method)
        result = authenticate(received, resolver(), now=now(), service_hint="iam")
        assert result.signature_version == "v2" and result.principal.user_name == "alice"
    received = _query_v2(params)
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now() + timedelta(minutes=20), service_hint="iam")
    assert caught.value.message.startswith("Signature expired")
    received.body = (received.body or b"").replace(b"ListUsers", b"ListRoles")
    with pytest.raises(AuthError) as caught:
        authenticate(received, resolver(), now=now(), service_hint="iam")
    assert caught.value.code == "SignatureDoesNotMatch"
