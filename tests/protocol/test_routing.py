"""Routing: which service and operation a request is, from target header, Action, scope, host
and S3 path/sub-resources/headers."""

from __future__ import annotations

import pytest
from boto_roundtrip import manual_request

from trailgate.http import Headers, HttpRequest
from trailgate.protocol import Route, Router, RoutingError, needs_body_for_routing, route
from trailgate.protocol.routing import bucket_from_host, credential_scope_service

FORM = ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")


def _sigv4(service: str) -> tuple[str, str]:
    return (
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc",
    )


def _form_post(body: str, *, host: str = "localhost:4566", scope: str | None = None) -> HttpRequest:
    headers = [FORM]
    if scope is not None:
        headers.append(_sigv4(scope))
    return manual_request("POST", "/", headers=headers, body=body.encode(), host=host)


# --- json protocols ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "service", "operation"),
    [
        (
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.CreateTrail",
            "cloudtrail",
            "CreateTrail",
        ),
        ("CloudTrail_20131101.LookupEvents", "cloudtrail", "LookupEvents"),
        ("AWSOrganizationsV20161128.CreateAccount", "organizations", "CreateAccount"),
    ],
)
def test_x_amz_target_routes_json_services(target: str, service: str, operation: str) -> None:
    request = manual_request("POST", "/", headers=[("X-Amz-Target", target)], body=b"{}")
    assert route(request) == Route(service, operation)


def test_unknown_json_operation_is_unknown_operation_exception() -> None:
    request = manual_request(
        "POST", "/", headers=[("X-Amz-Target", "CloudTrail_20131101.MakeCoffee")], body=b"{}"
    )
    with pytest.raises(RoutingError) as caught:
        route(request)
    assert caught.value.code == "UnknownOperationException"
    assert caught.value.service == "cloudtrail"


def test_unknown_target_prefix_uses_the_signed_json_service_for_the_error() -> None:
    request = manual_request(
        "POST",
        "/",
        headers=[("X-Amz-Target", "Nope_2020.Thing"), _sigv4("organizations")],
        body=b"{}",
    )
    with pytest.raises(RoutingError) as caught:
        route(request)
    assert caught.value.code == "UnknownOperationException"
    assert caught.value.service == "organizations"


# --- query protocol ------------------------------------------------------------------------------


def test_action_in_form_body_with_iam_scope() -> None:
    request = _form_post("Action=ListUsers&Version=2010-05-08", scope="iam")
    assert route(request) == Route("iam", "ListUsers")
    assert needs_body_for_routing(request)


def test_action_in_query_string_presigned_sts() -> None:
    request = manual_request(
        "GET",
        "/",
        query="Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fsts%2Faws4_request",
    )
    assert credential_scope_service(request) == "sts"
    assert route(request) == Route("sts", "GetCallerIdentity")
    assert not needs_body_for_routing(request)


def test_scope_decides_even_when_the_other_service_has_the_action() -> None:
    request = _form_post("Action=AssumeRole&Version=2010-05-08", scope="iam")
    with pytest.raises(RoutingError) as caught:
        route(request)
    assert caught.value.code == "InvalidAction"
    assert caught.value.message == "Could not find operation AssumeRole for version 2010-05-08"
    assert caught.value.service == "iam"


@pytest.mark.parametrize(
    ("host", "service"),
    [
        ("iam.amazonaws.com", "iam"),
        ("sts.amazonaws.com", "sts"),
        ("sts.eu-west-1.amazonaws.com", "sts"),
        ("iam.amazonaws.com.cn", "iam"),
    ],
)
def test_host_decides_without_sigv4_scope(host: str, service: str) -> None:
    # SigV2 (or an unknown scope) leaves the Host to decide; GetUser exists only in IAM, so an STS
    # host must answer InvalidAction rather than borrow IAM's operation.
    request = _form_post("Action=GetUser&Version=2010-05-08", host=host)
    if service == "iam":
        assert route(request) == Route("iam", "GetUser")
    else:
        with pytest.raises(RoutingError) as caught:
            route(request)
        assert (caught.value.code, caught.value.service) == ("InvalidAction", "sts")


def test_boto2_scope_derived_from_ip_host_falls_back_to_the_action_name() -> None:
    # boto 2 signs with a scope taken from the host: service "127" for 127.0.0.1.
    for action, service, version in [
        ("AssumeRole", "sts", "2011-06-15"),
        ("CreateUser", "iam", "2010-05-08"),
    ]:
        request = _form_post(
            f"Action={action}&Version={version}", host="127.0.0.1:4566", scope="127"
        )
        assert credential_scope_service(request) == "127"
        assert route(request) == Route(service, action)


def test_unknown_action_anywhere_is_invalid_action() -> None:
    request = _form_post("Action=DoMagic&Version=2010-05-08")
    with pytest.raises(RoutingError) as caught:
        route(request)
    assert caught.value.code == "InvalidAction"
    assert caught.value.message == "Could not find operation DoMagic for version 2010-05-08"
    assert caught.value.status == 400


def test_wrong_version_is_invalid_action() -> None:
    request = _form_post("Action=ListUsers&Version=2099-01-01", scope="iam")
    with pytest.raises(RoutingError) as caught:
        route(request)
    assert caught.value.message == "Could not find operation ListUsers for version 2099-01-01"


def test_missing_action_for_a_request_signed_for_iam() -> None:
    request = _form_post("Version=2010-05-08", scope="iam")
    with pytest.raises(RoutingError) as caught:
        route(request)
    assert (caught.value.code, caught.value.service) == ("MissingAction", "iam")


def test_form_body_on_a_put_is_not_a_query_action() -> None:
    # An S3 object uploaded with a form content type must stay an S3 request.
    request = manual_request(
        "PUT", "/bucket/key", headers=[FORM], body=b"Action=CreateUser&UserName=x"
    )
    assert route(request).operation == "PutObject"


# --- S3 ------------------------------------------------------------------------------------------

S3_CASES = [
    # method, path, query, headers, operation
    ("GET", "/", "", [], "ListBuckets"),
    ("PUT", "/b", "", [], "CreateBucket"),
    ("HEAD", "/b", "", [], "HeadBucket"),
    ("DELETE", "/b", "", [], "DeleteBucket"),
    ("GET", "/b", "", [], "ListObjects"),
    ("GET", "/b", "list-type=2&prefix=a", [], "ListObjectsV2"),
    ("GET", "/b", "list-type=1", [], "ListObjects"),
    ("GET", "/b", "location", [], "GetBucketLocation"),
    ("GET", "/b", "policy", [], "GetBucketPolicy"),
    ("PUT", "/b", "policy", [], "PutBucketPolicy"),
    ("DELETE", "/b", "policy", [], "DeleteBucketPolicy"),
    ("GET", "/b", "acl", [], "GetBucketAcl"),
    ("PUT", "/b", "acl", [], "PutBucketAcl"),
    ("GET", "/b", "ownershipControls", [], "GetBucketOwnershipControls"),
    ("PUT", "/b", "ownershipControls", [], "PutBucketOwnershipControls"),
    ("DELETE", "/b", "ownershipControls", [], "DeleteBucketOwnershipControls"),
    ("GET", "/b", "versioning", [], "GetBucketVersioning"),
    ("PUT", "/b", "versioning", [], "PutBucketVersioning"),
    ("GET", "/b", "versions&prefix=x", [], "ListObjectVersions"),
    ("POST", "/b", "delete", [], "DeleteObjects"),
    ("GET", "/b", "tagging", [], "GetBucketTagging"),
    ("PUT", "/b", "tagging", [], "PutBucketTagging"),
    ("DELETE", "/b", "tagging", [], "DeleteBucketTagging"),
    ("GET", "/b", "uploads", [], "ListMultipartUploads"),
    ("GET", "/b", "lifecycle", [], "GetBucketLifecycleConfiguration"),
    ("PUT", "/b/k", "", [], "PutObject"),
    ("PUT", "/b/k", "", [("x-amz-copy-source", "src/k")], "CopyObject"),
    ("PUT", "/b/k", "partNumber=1&uploadId=u", [], "UploadPart"),
    ("PUT", "/b/k", "partNumber=1&uploadId=u", [("x-amz-copy-source", "s/k")], "UploadPartCopy"),
    ("PUT", "/b/k", "uploadId=u", [], "PutObject"),
    ("GET", "/b/k", "", [], "GetObject"),
    ("GET", "/b/k", "versionId=v&response-content-type=a", [], "GetObject"),
    ("GET", "/b/k", "uploadId=u", [], "ListParts"),
    ("HEAD", "/b/k", "", [], "HeadObject"),
    ("DELETE", "/b/k", "", [], "DeleteObject"),
    ("DELETE", "/b/k", "uploadId=u", [], "AbortMultipartUpload"),
    ("POST", "/b/k", "uploads", [], "CreateMultipartUpload"),
    ("POST", "/b/k", "uploadId=u", [], "CompleteMultipartUpload"),
    ("GET", "/b/k", "tagging", [], "GetObjectTagging"),
    ("PUT", "/b/k", "tagging", [], "PutObjectTagging"),
    ("DELETE", "/b/k", "tagging", [], "DeleteObjectTagging"),
    ("GET", "/b/k", "acl", [], "GetObjectAcl"),
]


@pytest.mark.parametrize(("method", "path", "query", "headers", "operation"), S3_CASES)
def test_s3_operations_path_style(
    method: str, path: str, query: str, headers: list[tuple[str, str]], operation: str
) -> None:
    result = route(manual_request(method, path, query=query, headers=headers))
    assert result.service == "s3"
    assert result.operation == operation
    assert result.addressing_style == "path"
    parts = path[1:].split("/", 1)
    assert result.bucket == (parts[0] or None)
    assert result.key == (parts[1] if len(parts) > 1 else None)


@pytest.mark.parametrize(("method", "path", "query", "headers", "operation"), S3_CASES[1:])
def test_s3_operations_virtual_hosted_style(
    method: str, path: str, query: str, headers: list[tuple[str, str]], operation: str
) -> None:
    bucket, _, key = path[1:].partition("/")
    request = manual_request(
        method, "/" + key, query=query, headers=headers, host=f"{bucket}.localhost:4566"
    )
    result = route(request)
    assert (result.operation, result.bucket, result.key) == (operation, bucket, key or None)
    assert result.addressing_style == "virtual"


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("my-bucket.localhost:4566", "my-bucket"),
        ("my-bucket.s3.amazonaws.com", "my-bucket"),
        ("my.dotted.bucket.s3.amazonaws.com", "my.dotted.bucket"),
        ("my-bucket.s3.us-east-1.amazonaws.com", "my-bucket"),
        ("my-bucket.s3-eu-west-1.amazonaws.com", "my-bucket"),
        ("my-bucket.s3.example.internal:9000", "my-bucket"),
        ("logs.s3.localhost", "logs"),
        ("s3.amazonaws.com", None),
        ("s3.us-east-1.amazonaws.com", None),
        ("localhost:4566", None),
        ("127.0.0.1:4566", None),
        ("[::1]:4566", None),
        ("MY-BUCKET.LOCALHOST", "my-bucket"),
    ],
)
def test_bucket_from_host_with_default_suffixes(host: str, bucket: str | None) -> None:
    assert Router().s3_bucket_from_host(host) == bucket


def test_s3_base_hosts_are_configurable() -> None:
    router = Router(s3_base_hosts=["storage.example.com"])
    request = manual_request("GET", "/report.csv", host="logs.storage.example.com")
    assert router.route(request) == Route(
        "s3", "GetObject", bucket="logs", key="report.csv", addressing_style="virtual"
    )
    # localhost is no longer a base host, so this is path style with bucket "x".
    assert router.route(manual_request("GET", "/x", host="b.localhost")).bucket == "x"
    assert route(manual_request("GET", "/x", host="b.localhost"), s3_base_hosts=[]).bucket == "x"
    assert bucket_from_host("a.b.c", ["c"]) == "a.b"


@pytest.mark.parametrize(
    ("raw_path", "key"),
    [
        ("/b/a%20b/c%2Bd%25e/%C3%BC.txt", "a b/c+d%e/ü.txt"),
        ("/b/plus+sign", "plus+sign"),
        ("/b//leading-slash", "/leading-slash"),
        ("/b/trailing/", "trailing/"),
        ("/b/%E6%97%A5%E6%9C%AC%E8%AA%9E", "日本語"),
        ("/b/a%3Fq%23f", "a?q#f"),
    ],
)
def test_s3_keys_are_decoded_from_the_raw_path(raw_path: str, key: str) -> None:
    result = route(manual_request("GET", raw_path))
    assert (result.bucket, result.key) == ("b", key)


def test_proxy_absolute_form_routes_by_absolute_host() -> None:
    request = HttpRequest(
        method="GET",
        raw_path="/k",
        query_string="",
        headers=Headers([("Host", "proxy.internal:3128")]),
        absolute_host="bucket.s3.amazonaws.com",
    )
    assert route(request) == Route(
        "s3", "GetObject", bucket="bucket", key="k", addressing_style="virtual"
    )


@pytest.mark.parametrize(
    ("method", "path", "resource_type"),
    [("POST", "/b", "BUCKET"), ("PATCH", "/b/k", "OBJECT"), ("DELETE", "/", "SERVICE")],
)
def test_unknown_s3_route_is_method_not_allowed(method: str, path: str, resource_type: str) -> None:
    with pytest.raises(RoutingError) as caught:
        route(manual_request(method, path))
    error = caught.value
    assert (error.code, error.status, error.service) == ("MethodNotAllowed", 405, "s3")
    assert error.extra == {"Method": method, "ResourceType": resource_type}
