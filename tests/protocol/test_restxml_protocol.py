"""S3's rest-xml protocol round-tripped through boto3, in path and virtual-hosted addressing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from boto_roundtrip import (
    REQUEST_ID,
    RoundTrip,
    drain,
    manual_request,
    stream_of,
    without_metadata,
)
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailgate.errors import AwsError
from trailgate.protocol import Route, codec_for, route
from trailgate.protocol.restxml import host_id

WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
OWNER = {
    "DisplayName": "logs-owner",
    "ID": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
}
BUCKET = "shared-logs"

# Members botocore adds on its own (checksums, lengths, ListObjects' encoding-type=url).
CLIENT_ADDED = frozenset({"ChecksumAlgorithm", "ContentMD5", "ContentLength", "EncodingType"})

STYLES = {
    "path-localhost": {"addressing_style": "path"},
    "virtual-localhost": {"addressing_style": "virtual"},
    "virtual-aws": {"endpoint_url": None, "addressing_style": "virtual"},
    "virtual-aws-regional": {"endpoint_url": None, "region": "eu-west-1"},
    "path-aws": {"endpoint_url": None, "addressing_style": "path"},
}


@pytest.fixture(scope="module", params=sorted(STYLES))
def s3(request: pytest.FixtureRequest) -> RoundTrip:
    return RoundTrip("s3", **STYLES[request.param])


def parsed_input(trip: RoundTrip) -> dict[str, Any]:
    assert trip.last is not None
    assert trip.last.failure is None, trip.last.failure
    assert trip.last.parsed is not None
    return trip.last.parsed


def assert_input(trip: RoundTrip, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parsed input equals what the caller passed, apart from members botocore adds."""
    parsed = dict(parsed_input(trip))
    added = {k for k in parsed if k not in params}
    assert added <= CLIENT_ADDED, added
    assert {k: v for k, v in parsed.items() if k in params} == dict(params)
    return parsed


def assert_route(trip: RoundTrip, operation: str, bucket: str | None, key: str | None) -> None:
    assert trip.last is not None and trip.last.route is not None
    found = trip.last.route
    assert (found.service, found.operation, found.bucket, found.key) == (
        "s3",
        operation,
        bucket,
        key,
    )


# --- buckets -------------------------------------------------------------------------------------


def test_create_bucket(s3: RoundTrip) -> None:
    params = {
        "Bucket": BUCKET,
        "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"},
        "ObjectOwnership": "BucketOwnerEnforced",
    }
    result = s3.call("create_bucket", params, {"Location": "/shared-logs"})
    assert_route(s3, "CreateBucket", BUCKET, None)
    assert_input(s3, params)
    assert without_metadata(result) == {"Location": "/shared-logs"}


def test_head_bucket_has_no_body(s3: RoundTrip) -> None:
    output = {"BucketRegion": "eu-west-1", "AccessPointAlias": False}
    result = s3.call("head_bucket", {"Bucket": BUCKET}, output)
    assert without_metadata(result) == output
    assert s3.last is not None and s3.last.response is not None
    assert s3.last.response.body == b""


def test_head_bucket_error_is_status_only(s3: RoundTrip) -> None:
    error = AwsError("NoSuchBucket", "The specified bucket does not exist", status=404)
    with pytest.raises(ClientError) as caught:
        s3.call("head_bucket", {"Bucket": "missing"}, error=error)
    assert caught.value.response["Error"] == {"Code": "404", "Message": "Not Found"}
    assert s3.last.response.body == b""  # type: ignore[union-attr]


def test_delete_bucket_is_204(s3: RoundTrip) -> None:
    result = s3.call("delete_bucket", {"Bucket": BUCKET}, None)
    assert_route(s3, "DeleteBucket", BUCKET, None)
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_list_buckets(s3: RoundTrip) -> None:
    output = {
        "Buckets": [
            {"Name": BUCKET, "CreationDate": WHEN, "BucketRegion": "eu-west-1"},
            {"Name": "other.bucket", "CreationDate": datetime(2020, 1, 1, tzinfo=UTC)},
        ],
        "Owner": OWNER,
    }
    result = s3.call("list_buckets", {}, output)
    assert_route(s3, "ListBuckets", None, None)
    assert without_metadata(result) == output
    assert s3.last.response.body.startswith(  # type: ignore[union-attr]
        b'<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult '
        b'xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    )


@pytest.mark.parametrize("region", ["eu-west-1", None])
def test_get_bucket_location(s3: RoundTrip, region: str | None) -> None:
    result = s3.call("get_bucket_location", {"Bucket": BUCKET}, {"LocationConstraint": region})
    assert_route(s3, "GetBucketLocation", BUCKET, None)
    assert result["LocationConstraint"] == region


def test_bucket_policy_put_get_delete(s3: RoundTrip) -> None:
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{BUCKET}/AWSLogs/*",
                    "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                }
            ],
        }
    )
    s3.call("put_bucket_policy", {"Bucket": BUCKET, "Policy": policy}, None)
    assert_route(s3, "PutBucketPolicy", BUCKET, None)
    assert_input(s3, {"Bucket": BUCKET, "Policy": policy})
    result = s3.call("get_bucket_policy", {"Bucket": BUCKET}, {"Policy": policy})
    assert result["Policy"] == policy
    result = s3.call("delete_bucket_policy", {"Bucket": BUCKET}, None)
    assert_route(s3, "DeleteBucketPolicy", BUCKET, None)
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 204


ACL = {
    "Grants": [
        {
            "Grantee": {"Type": "CanonicalUser", "ID": OWNER["ID"], "DisplayName": "logs-owner"},
            "Permission": "FULL_CONTROL",
        },
        {
            "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"},
            "Permission": "WRITE",
        },
        {
            "Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "a@example.com"},
            "Permission": "READ_ACP",
        },
    ],
    "Owner": OWNER,
}


def test_bucket_acl_with_xsi_type_grantees(s3: RoundTrip) -> None:
    s3.call("put_bucket_acl", {"Bucket": BUCKET, "AccessControlPolicy": ACL}, None)
    assert_route(s3, "PutBucketAcl", BUCKET, None)
    assert_input(s3, {"Bucket": BUCKET, "AccessControlPolicy": ACL})
    result = s3.call("get_bucket_acl", {"Bucket": BUCKET}, ACL)
    assert without_metadata(result) == ACL
    body = s3.last.response.body  # type: ignore[union-attr]
    assert (
        b'<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">' in body
    )
    assert b"<AccessControlList><Grant>" in body


def test_canned_acl_header(s3: RoundTrip) -> None:
    s3.call("put_bucket_acl", {"Bucket": BUCKET, "ACL": "log-delivery-write"}, None)
    assert_input(s3, {"Bucket": BUCKET, "ACL": "log-delivery-write"})


def test_ownership_controls(s3: RoundTrip) -> None:
    controls = {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    s3.call(
        "put_bucket_ownership_controls", {"Bucket": BUCKET, "OwnershipControls": controls}, None
    )
    assert_route(s3, "PutBucketOwnershipControls", BUCKET, None)
    assert_input(s3, {"Bucket": BUCKET, "OwnershipControls": controls})
    result = s3.call(
        "get_bucket_ownership_controls", {"Bucket": BUCKET}, {"OwnershipControls": controls}
    )
    assert without_metadata(result) == {"OwnershipControls": controls}
    assert b"<OwnershipControls xmlns=" in s3.last.response.body  # type: ignore[union-attr]
    result = s3.call("delete_bucket_ownership_controls", {"Bucket": BUCKET}, None)
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_versioning(s3: RoundTrip) -> None:
    config = {"Status": "Enabled", "MFADelete": "Disabled"}
    s3.call("put_bucket_versioning", {"Bucket": BUCKET, "VersioningConfiguration": config}, None)
    assert_route(s3, "PutBucketVersioning", BUCKET, None)
    assert_input(s3, {"Bucket": BUCKET, "VersioningConfiguration": config})
    result = s3.call("get_bucket_versioning", {"Bucket": BUCKET}, config)
    assert without_metadata(result) == config


def test_list_object_versions(s3: RoundTrip) -> None:
    params = {
        "Bucket": BUCKET,
        "Prefix": "AWSLogs/",
        "Delimiter": "/",
        "KeyMarker": "a b",
        "VersionIdMarker": "v+1",
        "MaxKeys": 3,
    }
    output = {
        "IsTruncated": True,
        "KeyMarker": "a b",
        "VersionIdMarker": "v+1",
        "NextKeyMarker": "k2",
        "NextVersionIdMarker": "v2",
        "Versions": [
            {
                "ETag": '"etag1"',
                "Size": 10,
                "StorageClass": "STANDARD",
                "Key": "AWSLogs/k1",
                "VersionId": "v1",
                "IsLatest": True,
                "LastModified": WHEN,
                "Owner": OWNER,
            }
        ],
        "DeleteMarkers": [
            {
                "Owner": OWNER,
                "Key": "AWSLogs/k0",
                "VersionId": "dm1",
                "IsLatest": False,
                "LastModified": WHEN,
            }
        ],
        "Name": BUCKET,
        "Prefix": "AWSLogs/",
        "Delimiter": "/",
        "MaxKeys": 3,
        "CommonPrefixes": [{"Prefix": "AWSLogs/123456789012/"}],
    }
    result = s3.call("list_object_versions", params, output)
    assert_route(s3, "ListObjectVersions", BUCKET, None)
    assert_input(s3, params)
    assert without_metadata(result) == output


def test_delete_objects(s3: RoundTrip) -> None:
    params = {
        "Bucket": BUCKET,
        "Delete": {
            "Objects": [{"Key": "a & b <c>"}, {"Key": "ü/v", "VersionId": "v1"}],
            "Quiet": False,
        },
    }
    output = {
        "Deleted": [
            {"Key": "a & b <c>"},
            {"Key": "ü/v", "VersionId": "v1", "DeleteMarker": True, "DeleteMarkerVersionId": "d"},
        ],
        "Errors": [{"Key": "x", "Code": "AccessDenied", "Message": "Access Denied"}],
    }
    result = s3.call("delete_objects", params, output)
    assert_route(s3, "DeleteObjects", BUCKET, None)
    assert_input(s3, params)
    assert without_metadata(result) == output


def test_bucket_tagging(s3: RoundTrip) -> None:
    tagging = {"TagSet": [{"Key": "team", "Value": "security"}, {"Key": "cost", "Value": ""}]}
    s3.call("put_bucket_tagging", {"Bucket": BUCKET, "Tagging": tagging}, None)
    assert_route(s3, "PutBucketTagging", BUCKET, None)
    assert_input(s3, {"Bucket": BUCKET, "Tagging": tagging})
    result = s3.call("get_bucket_tagging", {"Bucket": BUCKET}, tagging)
    assert without_metadata(result) == tagging
    assert b"<Tagging xmlns=" in s3.last.response.body  # type: ignore[union-attr]
    result = s3.call("delete_bucket_tagging", {"Bucket": BUCKET}, None)
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_object_tagging(s3: RoundTrip) -> None:
    tagging = {"TagSet": [{"Key": "classification", "Value": "logs"}]}
    params = {"Bucket": BUCKET, "Key": "dir/obj", "VersionId": "v1", "Tagging": tagging}
    result = s3.call("put_object_tagging", params, {"VersionId": "v1"})
    assert_route(s3, "PutObjectTagging", BUCKET, "dir/obj")
    assert_input(s3, params)
    assert without_metadata(result) == {"VersionId": "v1"}
    result = s3.call(
        "get_object_tagging", {"Bucket": BUCKET, "Key": "dir/obj"}, {"VersionId": "v1", **tagging}
    )
    assert without_metadata(result) == {"VersionId": "v1", **tagging}
    result = s3.call("delete_object_tagging", {"Bucket": BUCKET, "Key": "dir/obj"}, {})
    assert_route(s3, "DeleteObjectTagging", BUCKET, "dir/obj")
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 204


# --- objects -------------------------------------------------------------------------------------


def test_put_object_leaves_the_body_as_a_stream(s3: RoundTrip) -> None:
    params = {
        "Bucket": BUCKET,
        "Key": "AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/06/file.json.gz",
        "Body": b"\x1f\x8b compressed bytes",
        "ContentType": "application/json",
        "ContentEncoding": "gzip",
        "CacheControl": "no-cache",
        "ACL": "bucket-owner-full-control",
        "StorageClass": "STANDARD_IA",
        "Tagging": "a=b&c=d",
        "Expires": datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
        "Metadata": {"Origin": "trail", "digest": "sha256=abc"},
        "ServerSideEncryption": "AES256",
    }
    output = {
        "ETag": '"9b2cf535f27731c974343645a3985328"',
        "VersionId": "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
    }
    result = s3.call("put_object", params, output)
    assert_route(s3, "PutObject", BUCKET, params["Key"])
    parsed = dict(parsed_input(s3))
    assert codec_for("s3").body_is_streamed(s3.last.route)  # type: ignore[union-attr, arg-type]
    body = parsed.pop("Body")
    assert not isinstance(body, bytes | bytearray)
    assert drain(body) == params["Body"]
    assert parsed.pop("ContentLength") == len(params["Body"])  # type: ignore[arg-type]
    # S3 metadata names are case-insensitive and come back lower-cased.
    assert parsed.pop("Metadata") == {"origin": "trail", "digest": "sha256=abc"}
    expected = {k: v for k, v in params.items() if k not in ("Body", "Metadata")}
    assert parsed == expected
    assert without_metadata(result) == output


def test_get_object_range_and_response_overrides(s3: RoundTrip) -> None:
    params = {
        "Bucket": BUCKET,
        "Key": "reports/Q1 2024.csv",
        "Range": "bytes=0-4",
        "IfModifiedSince": datetime(2024, 1, 1, tzinfo=UTC),
        "IfNoneMatch": '"old"',
        "VersionId": "v7",
        "ResponseContentType": "text/csv",
        "ResponseContentDisposition": 'attachment; filename="Q1 2024.csv"',
        "ResponseCacheControl": "max-age=60",
        "ResponseExpires": datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC),
    }
    output = {
        "Body": stream_of(b"hello"),
        "ContentLength": 5,
        "ContentRange": "bytes 0-4/11",
        "ContentType": "text/csv",
        "ContentDisposition": 'attachment; filename="Q1 2024.csv"',
        "CacheControl": "max-age=60",
        "ETag": '"abc"',
        "LastModified": WHEN,
        "AcceptRanges": "bytes",
        "VersionId": "v7",
        "Metadata": {"origin": "trail"},
        "TagCount": 2,
    }
    result = s3.call("get_object", params, output)
    assert_route(s3, "GetObject", BUCKET, "reports/Q1 2024.csv")
    assert_input(s3, params)
    assert s3.last.response.status == 206  # type: ignore[union-attr]
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert result["Body"].read() == b"hello"
    expected = {k: v for k, v in output.items() if k != "Body"}
    assert {k: v for k, v in without_metadata(result).items() if k != "Body"} == expected


def test_get_object_whole_body_is_200(s3: RoundTrip) -> None:
    result = s3.call(
        "get_object",
        {"Bucket": BUCKET, "Key": "k"},
        {"Body": b"0123456789", "ContentLength": 10, "ContentType": "application/octet-stream"},
    )
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert result["Body"].read() == b"0123456789"


def test_head_object(s3: RoundTrip) -> None:
    output = {
        "ContentLength": 1234,
        "ETag": '"abc"',
        "LastModified": WHEN,
        "ContentType": "application/json",
        "Metadata": {"origin": "trail"},
        "VersionId": "v1",
        "ObjectLockRetainUntilDate": datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC),
        "ObjectLockMode": "GOVERNANCE",
        "StorageClass": "STANDARD_IA",
    }
    result = s3.call("head_object", {"Bucket": BUCKET, "Key": "a/b c"}, output)
    assert_route(s3, "HeadObject", BUCKET, "a/b c")
    assert without_metadata(result) == output
    response = s3.last.response  # type: ignore[union-attr]
    assert response.body == b""
    assert response.header("Content-Length") == "1234"
    # An explicit timestampFormat (iso8601) overrides the header default (rfc822).
    assert response.header("x-amz-object-lock-retain-until-date") == "2030-01-01T12:00:00.000Z"
    assert response.header("Last-Modified") == "Mon, 06 May 2024 07:08:09 GMT"


def test_copy_object(s3: RoundTrip) -> None:
    params = {
        "Bucket": BUCKET,
        "Key": "dest/ü key",
        "CopySource": {"Bucket": "src-bucket", "Key": "a b+c%d", "VersionId": "v1"},
        "MetadataDirective": "REPLACE",
        "Metadata": {"x": "y"},
        "CopySourceIfMatch": '"e1"',
        "TaggingDirective": "COPY",
    }
    output = {
        "CopyObjectResult": {"ETag": '"e2"', "LastModified": WHEN},
        "VersionId": "v2",
        "CopySourceVersionId": "v1",
    }
    result = s3.call("copy_object", params, output)
    assert_route(s3, "CopyObject", BUCKET, "dest/ü key")
    parsed = parsed_input(s3)
    # The header stays as sent (percent-encoded); the S3 service decodes it.
    assert parsed["CopySource"] == "src-bucket/a%20b%2Bc%25d?versionId=v1"
    assert {k: parsed[k] for k in ("MetadataDirective", "Metadata", "CopySourceIfMatch")} == {
        "MetadataDirective": "REPLACE",
        "Metadata": {"x": "y"},
        "CopySourceIfMatch": '"e1"',
    }
    assert without_metadata(result) == output
    assert b"<CopyObjectResult xmlns=" in s3.last.response.body  # type: ignore[union-attr]


def test_delete_object(s3: RoundTrip) -> None:
    output = {"DeleteMarker": True, "VersionId": "dm-1"}
    result = s3.call("delete_object", {"Bucket": BUCKET, "Key": "k", "VersionId": "v1"}, output)
    assert_route(s3, "DeleteObject", BUCKET, "k")
    assert_input(s3, {"Bucket": BUCKET, "Key": "k", "VersionId": "v1"})
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert without_metadata(result) == output


CONTENTS = [
    {
        "Key": "AWSLogs/a b+c%d/ü.json.gz",
        "LastModified": WHEN,
        "ETag": '"e1"',
        "Size": 42,
        "StorageClass": "STANDARD",
        "Owner": OWNER,
    },
    {
        "Key": "AWSLogs/<xml> & 'quotes'",
        "LastModified": WHEN,
        "ETag": '"e2"',
        "Size": 0,
        "StorageClass": "STANDARD",
    },
]


def test_list_objects_v1(s3: RoundTrip) -> None:
    params = {
        "Bucket": BUCKET,
        "Prefix": "AWSLogs/",
        "Delimiter": "/",
        "Marker": "AWSLogs/a",
        "MaxKeys": 2,
    }
    output = {
        "IsTruncated": True,
        "Marker": "AWSLogs/a",
        "NextMarker": "AWSLogs/z",
        "Contents": CONTENTS,
        "Name": BUCKET,
        "Prefix": "AWSLogs/",
        "Delimiter": "/",
        "MaxKeys": 2,
        "CommonPrefixes": [{"Prefix": "AWSLogs/123/"}, {"Prefix": "AWSLogs/456/"}],
    }
    result = s3.call("list_objects", params, output)
    assert_route(s3, "ListObjects", BUCKET, None)
    assert assert_input(s3, params).get("EncodingType") == "url"
    assert without_metadata(result) == output


def test_list_objects_v2_with_url_encoded_keys(s3: RoundTrip) -> None:
    params = {
        "Bucket": BUCKET,
        "Prefix": "AWSLogs/",
        "ContinuationToken": "tok+/=",
        "StartAfter": "AWSLogs/0",
        "FetchOwner": True,
        "MaxKeys": 1000,
    }
    # The S3 service url-encodes keys when asked (botocore always asks); botocore decodes them.
    encoded = [{**c, "Key": quote(str(c["Key"]), safe="/")} for c in CONTENTS]
    output = {
        "IsTruncated": False,
        "Contents": encoded,
        "Name": BUCKET,
        "Prefix": "AWSLogs/",
        "MaxKeys": 1000,
        "EncodingType": "url",
        "KeyCount": 2,
        "ContinuationToken": "tok+/=",
        "StartAfter": "AWSLogs/0",
    }
    result = s3.call("list_objects_v2", params, output)
    assert_route(s3, "ListObjectsV2", BUCKET, None)
    assert assert_input(s3, params)["EncodingType"] == "url"
    assert result["Contents"] == CONTENTS


# --- multipart -----------------------------------------------------------------------------------


def test_multipart_upload_lifecycle(s3: RoundTrip) -> None:
    key = "big/object name+1"
    result = s3.call(
        "create_multipart_upload",
        {"Bucket": BUCKET, "Key": key, "ContentType": "text/plain", "Metadata": {"m": "1"}},
        {"Bucket": BUCKET, "Key": key, "UploadId": "up/load+id=="},
    )
    assert_route(s3, "CreateMultipartUpload", BUCKET, key)
    assert_input(
        s3, {"Bucket": BUCKET, "Key": key, "ContentType": "text/plain", "Metadata": {"m": "1"}}
    )
    assert without_metadata(result) == {"Bucket": BUCKET, "Key": key, "UploadId": "up/load+id=="}
    assert b"<InitiateMultipartUploadResult xmlns=" in s3.last.response.body  # type: ignore[union-attr]

    upload = {"Bucket": BUCKET, "Key": key, "UploadId": "up/load+id=="}
    result = s3.call(
        "upload_part", {**upload, "PartNumber": 1, "Body": b"part one"}, {"ETag": '"p1"'}
    )
    assert_route(s3, "UploadPart", BUCKET, key)
    parsed = dict(parsed_input(s3))
    assert drain(parsed.pop("Body")) == b"part one"
    assert parsed == {**upload, "PartNumber": 1, "ContentLength": 8}
    assert without_metadata(result) == {"ETag": '"p1"'}

    copy = {
        **upload,
        "PartNumber": 2,
        "CopySource": {"Bucket": "src", "Key": "k 1"},
        "CopySourceRange": "bytes=0-5242879",
    }
    result = s3.call(
        "upload_part_copy", copy, {"CopyPartResult": {"ETag": '"p2"', "LastModified": WHEN}}
    )
    assert_route(s3, "UploadPartCopy", BUCKET, key)
    parsed = parsed_input(s3)
    assert parsed["CopySource"] == "src/k%201"
    assert parsed["CopySourceRange"] == "bytes=0-5242879"
    assert parsed["PartNumber"] == 2
    assert result["CopyPartResult"] == {"ETag": '"p2"', "LastModified": WHEN}

    parts = {"Parts": [{"ETag": '"p1"', "PartNumber": 1}, {"ETag": '"p2"', "PartNumber": 2}]}
    output = {
        "Location": f"http://localhost/{BUCKET}/big/object%20name%2B1",
        "Bucket": BUCKET,
        "Key": key,
        "ETag": '"abc-2"',
        "VersionId": "v9",
    }
    result = s3.call("complete_multipart_upload", {**upload, "MultipartUpload": parts}, output)
    assert_route(s3, "CompleteMultipartUpload", BUCKET, key)
    assert_input(s3, {**upload, "MultipartUpload": parts})
    assert without_metadata(result) == output

    result = s3.call("abort_multipart_upload", upload, {})
    assert_route(s3, "AbortMultipartUpload", BUCKET, key)
    assert result["ResponseMetadata"]["HTTPStatusCode"] == 204

    output = {
        "Bucket": BUCKET,
        "Key": key,
        "UploadId": "up/load+id==",
        "PartNumberMarker": 0,
        "NextPartNumberMarker": 2,
        "MaxParts": 2,
        "IsTruncated": True,
        "Parts": [
            {"PartNumber": 1, "LastModified": WHEN, "ETag": '"p1"', "Size": 8},
            {"PartNumber": 2, "LastModified": WHEN, "ETag": '"p2"', "Size": 5242880},
        ],
        "Initiator": {"ID": OWNER["ID"], "DisplayName": "logs-owner"},
        "Owner": OWNER,
        "StorageClass": "STANDARD",
    }
    result = s3.call("list_parts", {**upload, "MaxParts": 2, "PartNumberMarker": 0}, output)
    assert_route(s3, "ListParts", BUCKET, key)
    assert_input(s3, {**upload, "MaxParts": 2, "PartNumberMarker": 0})
    assert without_metadata(result) == output

    output = {
        "Bucket": BUCKET,
        "KeyMarker": "",
        "UploadIdMarker": "",
        "NextKeyMarker": key,
        "NextUploadIdMarker": "up/load+id==",
        "Prefix": "big/",
        "MaxUploads": 1,
        "IsTruncated": True,
        "Uploads": [
            {
                "UploadId": "up/load+id==",
                "Key": key,
                "Initiated": WHEN,
                "StorageClass": "STANDARD",
                "Owner": OWNER,
                "Initiator": {"ID": OWNER["ID"], "DisplayName": "logs-owner"},
            }
        ],
    }
    result = s3.call(
        "list_multipart_uploads", {"Bucket": BUCKET, "Prefix": "big/", "MaxUploads": 1}, output
    )
    assert_route(s3, "ListMultipartUploads", BUCKET, None)
    assert without_metadata(result) == output


# --- keys ----------------------------------------------------------------------------------------

KEYS = [
    "a b/c+d%e/ü.txt",
    "日本語/キー",
    "plus+and space",
    "100%",
    "~tilde!*'()$,;=:@",
    "a/b/../c",
    "q?x=1&y#frag",
    "/leading",
    "trailing/",
    "tab\tand\nnewline",
]


@pytest.mark.parametrize("key", KEYS)
def test_keys_survive_routing_and_parsing(s3: RoundTrip, key: str) -> None:
    s3.call("put_object", {"Bucket": BUCKET, "Key": key, "Body": b"x"}, {"ETag": '"e"'})
    assert_route(s3, "PutObject", BUCKET, key)
    s3.call("get_object", {"Bucket": BUCKET, "Key": key}, {"Body": b"x", "ContentLength": 1})
    assert_route(s3, "GetObject", BUCKET, key)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40))
def test_any_key_round_trips(s3: RoundTrip, key: str) -> None:
    s3.call("head_object", {"Bucket": BUCKET, "Key": key}, {"ContentLength": 0})
    assert_route(s3, "HeadObject", BUCKET, key)


_XML_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters=[chr(c) for c in range(32) if chr(c) not in "\t\n\r"]
        + ["\ufffe", "\uffff"],
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(keys=st.lists(_XML_TEXT, max_size=5), prefixes=st.lists(_XML_TEXT, max_size=3))
def test_any_listing_round_trips(s3: RoundTrip, keys: list[str], prefixes: list[str]) -> None:
    output = {
        "IsTruncated": False,
        "Contents": [{"Key": k, "Size": len(k), "LastModified": WHEN} for k in keys],
        "CommonPrefixes": [{"Prefix": p} for p in prefixes],
        "Name": BUCKET,
        "KeyCount": len(keys),
    }
    result = s3.call("list_objects_v2", {"Bucket": BUCKET}, output)
    expected = {k: v for k, v in output.items() if v != []}
    assert without_metadata(result) == expected


# --- errors --------------------------------------------------------------------------------------


def test_s3_error_body_with_extra_members(s3: RoundTrip) -> None:
    error = AwsError(
        "NoSuchKey",
        "The specified key does not exist.",
        status=404,
        extra={"Key": "missing <key>", "BucketName": BUCKET},
    )
    with pytest.raises(s3.client.exceptions.NoSuchKey) as caught:
        s3.call("get_object", {"Bucket": BUCKET, "Key": "missing <key>"}, error=error)
    response = caught.value.response
    assert response["Error"] == {
        "Code": "NoSuchKey",
        "Message": "The specified key does not exist.",
        "Key": "missing <key>",
        "BucketName": BUCKET,
    }
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["ResponseMetadata"]["RequestId"] == REQUEST_ID
    assert response["ResponseMetadata"]["HostId"] == host_id(REQUEST_ID)
    body = s3.last.response.body  # type: ignore[union-attr]
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>')
    assert body.endswith(
        f"<RequestId>{REQUEST_ID}</RequestId><HostId>{host_id(REQUEST_ID)}</HostId></Error>".encode()
    )


def test_head_object_not_found(s3: RoundTrip) -> None:
    error = AwsError("NoSuchKey", "The specified key does not exist.", status=404)
    with pytest.raises(ClientError) as caught:
        s3.call("head_object", {"Bucket": BUCKET, "Key": "k"}, error=error)
    assert caught.value.response["Error"]["Code"] == "404"
    assert s3.last.response.body == b""  # type: ignore[union-attr]


def test_not_modified_has_no_body(s3: RoundTrip) -> None:
    error = AwsError("NotModified", "Not Modified", status=304)
    with pytest.raises(ClientError) as caught:
        s3.call("get_object", {"Bucket": BUCKET, "Key": "k", "IfNoneMatch": '"e"'}, error=error)
    assert caught.value.response["Error"]["Code"] == "304"
    assert s3.last.response.body == b""  # type: ignore[union-attr]


def test_success_responses_carry_request_ids(s3: RoundTrip) -> None:
    result = s3.call("list_buckets", {}, {"Buckets": []})
    assert result["ResponseMetadata"]["RequestId"] == REQUEST_ID
    assert result["ResponseMetadata"]["HostId"] == host_id(REQUEST_ID)
    response = s3.last.response  # type: ignore[union-attr]
    assert response.header("Content-Length") == str(len(response.body))
    assert response.header("Content-Type") == "application/xml"


# --- malformed requests built by hand ------------------------------------------------------------


def _parse(request: Any) -> dict[str, Any]:
    return codec_for("s3").parse(request, route(request))


def _parse_error(request: Any) -> AwsError:
    with pytest.raises(AwsError) as caught:
        _parse(request)
    return caught.value


def test_malformed_xml_body() -> None:
    error = _parse_error(manual_request("PUT", "/b", query="tagging", body=b"<Tagging><TagSet>"))
    assert (error.code, error.status) == ("MalformedXML", 400)


def test_dtd_is_refused() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>'
        b"<VersioningConfiguration><Status>&e;</Status></VersioningConfiguration>"
    )
    assert _parse_error(manual_request("PUT", "/b", query="versioning", body=body)).code == (
        "MalformedXML"
    )


def test_wrong_type_inside_xml_is_malformed_xml() -> None:
    body = (
        b"<CompleteMultipartUpload><Part><ETag>e</ETag><PartNumber>one</PartNumber></Part>"
        b"</CompleteMultipartUpload>"
    )
    request = manual_request("POST", "/b/k", query="uploadId=u", body=body)
    assert _parse_error(request).code == "MalformedXML"


def test_missing_required_payload_is_missing_request_body() -> None:
    error = _parse_error(manual_request("PUT", "/b", query="versioning", body=b""))
    assert (error.code, error.message) == ("MissingRequestBodyError", "Request Body is empty")


def test_missing_required_member_inside_xml_is_malformed_xml() -> None:
    body = b"<Delete><Object><VersionId>v</VersionId></Object></Delete>"
    assert _parse_error(manual_request("POST", "/b", query="delete", body=body)).code == (
        "MalformedXML"
    )


def test_xml_without_namespace_is_accepted() -> None:
    body = b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"
    parsed = _parse(manual_request("PUT", "/b", query="tagging", body=body))
    assert parsed == {"Bucket": "b", "Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}


def test_bad_integer_query_parameter_is_invalid_argument() -> None:
    error = _parse_error(manual_request("GET", "/b", query="list-type=2&max-keys=lots"))
    assert error.code == "InvalidArgument"
    assert error.message == "Provided max-keys not an integer or within integer range"
    assert error.extra == {"ArgumentName": "max-keys", "ArgumentValue": "lots"}


def test_unparseable_conditional_date_is_ignored() -> None:
    request = manual_request("GET", "/b/k", headers=[("If-Modified-Since", "yesterday")])
    assert _parse(request) == {"Bucket": "b", "Key": "k"}


def test_streamed_body_stays_unread() -> None:
    async def chunks() -> Any:
        raise AssertionError("the protocol layer must not read the object body")
        yield b""  # pragma: no cover

    stream = chunks()
    request = manual_request("PUT", "/b/k", body=None)
    request.stream = stream
    found = route(request)
    assert found == Route("s3", "PutObject", bucket="b", key="k", addressing_style="path")
    assert codec_for("s3").body_is_streamed(found)
    assert _parse(request)["Body"] is stream


def test_body_is_streamed_only_for_streaming_payloads() -> None:
    codec = codec_for("s3")
    assert codec.body_is_streamed(Route("s3", "UploadPart"))
    assert not codec.body_is_streamed(Route("s3", "PutBucketPolicy"))
    assert not codec.body_is_streamed(Route("s3", "CompleteMultipartUpload"))
    assert not codec_for("iam").body_is_streamed(Route("iam", "CreateUser"))


def test_method_not_allowed_error_body() -> None:
    from trailgate.protocol import RoutingError, error_response

    with pytest.raises(RoutingError) as caught:
        route(manual_request("POST", "/b"))
    response = error_response(caught.value, REQUEST_ID)
    assert response.status == 405
    assert b"<Code>MethodNotAllowed</Code>" in response.body
    assert b"<Method>POST</Method><ResourceType>BUCKET</ResourceType>" in response.body


def test_aws_chunked_upload_reports_the_decoded_length() -> None:
    # botocore's default checksum mode frames uploads over https as aws-chunked with a trailer.
    trip = RoundTrip("s3", endpoint_url=None, checksums="when_supported")
    params = {"Bucket": BUCKET, "Key": "k", "Body": b"hello world", "ContentEncoding": "gzip"}
    trip.call("put_object", params, {"ETag": '"e"'})
    assert trip.last is not None
    assert "aws-chunked" in (trip.last.request.headers.get("content-encoding") or "")
    parsed = dict(parsed_input(trip))
    framed = drain(parsed.pop("Body"))
    # The body is still framed: decoding it is the auth layer's job, not the protocol's.
    assert framed.startswith(b"b\r\nhello world\r\n0\r\n")
    assert parsed["ContentLength"] == 11
    assert parsed["ContentEncoding"] == "gzip"
    assert parsed["ChecksumAlgorithm"] == "CRC32"


def test_aws_chunked_alone_leaves_no_content_encoding() -> None:
    request = manual_request(
        "PUT",
        "/b/k",
        headers=[
            ("Content-Encoding", "aws-chunked"),
            ("Content-Length", "40"),
            ("x-amz-decoded-content-length", "5"),
        ],
        body=None,
    )
    parsed = _parse(request)
    assert parsed["ContentLength"] == 5
    assert "ContentEncoding" not in parsed


# --- traits no S3 operation uses today, checked against a small synthetic model ------------------


def _synthetic_route() -> Route:
    from botocore.model import OperationModel, ServiceModel

    model = ServiceModel(
        {
            "metadata": {"protocol": "rest-xml", "apiVersion": "2020-01-01", "endpointPrefix": "x"},
            "operations": {
                "Probe": {
                    "name": "Probe",
                    "http": {"method": "POST", "requestUri": "/{Bucket}?probe"},
                    "input": {"shape": "ProbeInput"},
                    "output": {"shape": "ProbeOutput"},
                }
            },
            "shapes": {
                "ProbeInput": {
                    "type": "structure",
                    "members": {
                        "Bucket": {"shape": "S", "location": "uri", "locationName": "Bucket"},
                        "Doc": {"shape": "J", "location": "header", "locationName": "x-doc"},
                        "Ids": {"shape": "L", "location": "querystring", "locationName": "id"},
                    },
                },
                "ProbeOutput": {
                    "type": "structure",
                    "members": {
                        "Status": {"shape": "I", "location": "statusCode"},
                        "Doc": {"shape": "J", "location": "header", "locationName": "x-doc"},
                        "Names": {"shape": "L", "location": "header", "locationName": "x-names"},
                    },
                },
                "S": {"type": "string"},
                "I": {"type": "integer"},
                "J": {"type": "string", "jsonvalue": True},
                "L": {"type": "list", "member": {"shape": "S"}},
            },
        },
        service_name="s3",
    )

    class SyntheticRoute(Route):
        @property
        def operation_model(self) -> OperationModel:
            return model.operation_model("Probe")

    return SyntheticRoute("s3", "Probe", bucket="b")


def test_status_code_member_json_value_header_and_list_members() -> None:
    import base64

    probe = _synthetic_route()
    doc = {"a": [1, 2], "b": "c"}
    encoded = base64.b64encode(json.dumps(doc).encode()).decode()
    request = manual_request(
        "POST", "/b", query="probe&id=1&id=2", headers=[("x-doc", encoded)], body=b""
    )
    assert codec_for("s3").parse(request, probe) == {"Bucket": "b", "Doc": doc, "Ids": ["1", "2"]}
    response = codec_for("s3").serialize(
        probe, {"Status": 202, "Doc": doc, "Names": ["x", "y"]}, "rid"
    )
    assert response.status == 202
    assert json.loads(base64.b64decode(response.header("x-doc") or "")) == doc
    assert response.header("x-names") == "x,y"
