"""Objects through boto3 against a real server: bodies, metadata, digests and checksums, ranges,
conditional requests, response overrides, copies, deletes and versions."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.s3.test_buckets import code_of, status_of

KEYS = ["plain.txt", "with space.txt", "plus+sign", "ünïcødé/ファイル.txt", "a/b/c", "q?x=1&y",
        "percent%20encoded", "tilde~", "semi;colon"]


@pytest.mark.parametrize("key", KEYS)
def test_put_get_round_trip_with_odd_keys(s3: Any, bucket: str, key: str) -> None:
    body = os.urandom(1000)
    put = s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == body
    assert got["ETag"] == put["ETag"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
    assert [o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]] == [key]


def test_metadata_and_content_headers(s3: Any, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket, Key="doc", Body=b"{}", ContentType="application/json",
        ContentEncoding="identity", CacheControl="max-age=60",
        ContentDisposition='attachment; filename="d.json"', ContentLanguage="en",
        Metadata={"Owner": "alice", "run-id": "42"},
    )
    head = s3.head_object(Bucket=bucket, Key="doc")
    assert head["ContentType"] == "application/json"
    assert head["ContentEncoding"] == "identity"
    assert head["CacheControl"] == "max-age=60"
    assert head["ContentDisposition"] == 'attachment; filename="d.json"'
    assert head["ContentLanguage"] == "en"
    assert head["Metadata"] == {"owner": "alice", "run-id": "42"}
    assert head["ContentLength"] == 2
    assert head["AcceptRanges"] == "bytes"
    s3.put_object(Bucket=bucket, Key="bare", Body=b"x")
    assert s3.head_object(Bucket=bucket, Key="bare")["ContentType"] == "binary/octet-stream"


def test_content_md5(s3: Any, bucket: str) -> None:
    body = b"hello world"
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket=bucket, Key="k", Body=body, ContentMD5=good)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=body, ContentMD5=wrong)
    assert code_of(exc) == "BadDigest"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=body, ContentMD5="not-base64!")
    assert code_of(exc) == "InvalidDigest"
    # The failed writes left the first body in place.
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256"])
def test_flexible_checksums(s3: Any, bucket: str, algorithm: str) -> None:
    body = os.urandom(5000)
    put = s3.put_object(Bucket=bucket, Key="k", Body=body, ChecksumAlgorithm=algorithm)
    value = put[f"Checksum{algorithm}"]
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got[f"Checksum{algorithm}"] == value


def test_wrong_checksum_header_is_bad_digest(s3: Any, bucket: str) -> None:
    body = b"payload"
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=body, ChecksumSHA256=wrong)
    assert code_of(exc) == "BadDigest"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="k")
    assert status_of(exc) == 404


def test_large_body_streams(s3: Any, bucket: str) -> None:
    body = os.urandom(3 * 1024 * 1024 + 17)
    s3.upload_fileobj(io.BytesIO(body), bucket, "big")
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["ContentLength"] == len(body)
    assert got["Body"].read() == body
    part = s3.get_object(Bucket=bucket, Key="big", Range="bytes=1048570-2097160")
    assert part["Body"].read() == body[1048570:2097161]
    assert part["ContentRange"] == f"bytes 1048570-2097160/{len(body)}"


def test_ranges(s3: Any, bucket: str) -> None:
    body = bytes(range(100))
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    cases = {"bytes=0-9": body[:10], "bytes=90-": body[90:], "bytes=-5": body[-5:],
             "bytes=95-200": body[95:]}
    for header, expected in cases.items():
        got = s3.get_object(Bucket=bucket, Key="r", Range=header)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["Body"].read() == expected
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=100-")
    assert code_of(exc) == "InvalidRange"
    assert status_of(exc) == 416
    whole = s3.get_object(Bucket=bucket, Key="r", Range="bytes=9-3")
    assert whole["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_conditional_reads(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="c", Body=b"x")
    etag = put["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="c")["LastModified"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"x"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert status_of(exc) == 412
    assert code_of(exc) == "PreconditionFailed"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert status_of(exc) == 304
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=modified + timedelta(seconds=5))
    assert status_of(exc) == 304
    assert s3.get_object(Bucket=bucket, Key="c",
                         IfModifiedSince=modified - timedelta(days=1))["Body"].read() == b"x"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=modified - timedelta(days=1))
    assert status_of(exc) == 412
    # If-Match true wins over a false If-Unmodified-Since.
    got = s3.get_object(Bucket=bucket, Key="c", IfMatch=etag,
                        IfUnmodifiedSince=modified - timedelta(days=1))
    assert got["Body"].read() == b"x"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert status_of(exc) == 304


def test_conditional_writes(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="once", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="once", Body=b"2", IfNoneMatch="*")
    assert status_of(exc) == 412
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"1"


def test_response_overrides(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", ContentType="text/plain")
    got = s3.get_object(
        Bucket=bucket, Key="o", ResponseContentType="application/x-custom",
        ResponseContentDisposition="inline", ResponseCacheControl="no-cache",
        ResponseContentEncoding="gzip", ResponseContentLanguage="fr",
        ResponseExpires=datetime(2030, 1, 1, tzinfo=UTC),
    )
    assert got["ContentType"] == "application/x-custom"
    assert got["ContentDisposition"] == "inline"
    assert got["CacheControl"] == "no-cache"
    assert got["ContentEncoding"] == "gzip"
    assert got["ContentLanguage"] == "fr"


def test_missing_key_is_404_for_the_owner(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="nope")
    assert code_of(exc) == "NoSuchKey"
    assert exc.value.response["Error"]["Key"] == "nope"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="nope")
    assert status_of(exc) == 404


def test_key_too_long(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert code_of(exc) == "KeyTooLongError"


def test_metadata_too_large(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="m", Body=b"x", Metadata={"big": "v" * 2100})
    assert code_of(exc) == "MetadataTooLarge"


def test_copy_object_copy_and_replace(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"data", ContentType="text/plain",
                  Metadata={"a": "1"})
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket,
                                                                  "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"data").hexdigest()}"'
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["Metadata"] == {"a": "1"}
    assert head["ContentType"] == "text/plain"
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src",
                   MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="x/y")
    head = s3.head_object(Bucket=bucket, Key="dst2")
    assert head["Metadata"] == {"b": "2"}
    assert head["ContentType"] == "x/y"
    assert s3.get_object(Bucket=bucket, Key="dst2")["Body"].read() == b"data"


def test_copy_onto_itself_needs_replace(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="self", Body=b"data", Metadata={"a": "1"})
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"})
    assert code_of(exc) == "InvalidRequest"
    assert exc.value.response["Error"]["Message"] == (
        "This copy request is illegal because it is trying to copy an object to itself without "
        "changing the object's metadata, storage class, website redirect location or "
        "encryption attributes."
    )
    s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"},
                   MetadataDirective="REPLACE", Metadata={"a": "2"})
    assert s3.head_object(Bucket=bucket, Key="self")["Metadata"] == {"a": "2"}


def test_copy_source_conditions(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="s", Body=b"d")["ETag"]
    source = {"Bucket": bucket, "Key": "s"}
    s3.copy_object(Bucket=bucket, Key="t", CopySource=source, CopySourceIfMatch=etag)
    for kwargs in ({"CopySourceIfMatch": '"nope"'}, {"CopySourceIfNoneMatch": etag},
                   {"CopySourceIfUnmodifiedSince": datetime(2000, 1, 1, tzinfo=UTC)},
                   {"CopySourceIfModifiedSince": datetime(2100, 1, 1, tzinfo=UTC)}):
        with pytest.raises(ClientError) as exc:
            s3.copy_object(Bucket=bucket, Key="t", CopySource=source, **kwargs)
        assert status_of(exc) == 412, kwargs


def test_copy_missing_source(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="t", CopySource={"Bucket": bucket, "Key": "none"})
    assert code_of(exc) == "NoSuchKey"


def test_delete_object_and_objects(s3: Any, bucket: str) -> None:
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.delete_object(Bucket=bucket, Key="a")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=bucket, Key="a")["ResponseMetadata"]["HTTPStatusCode"] == 204
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}, {"Key": "zz"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["b", "zz"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_object_tagging(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="team=a&kind=log")
    tags = s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "a", "kind": "log"}
    assert s3.head_object(Bucket=bucket, Key="t")["ResponseMetadata"]["HTTPHeaders"][
        "x-amz-tagging-count"] == "2"
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "x",
                                                                       "Value": "y"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "x", "Value": "y"}]
    s3.delete_object_tagging(Bucket=bucket, Key="t")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []


def test_unversioned_bucket_answers_null_versions(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    s3.put_object(Bucket=bucket, Key="k", Body=b"2")
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in versions] == [("k", "null", True)]
    result = s3.delete_objects(Bucket=bucket,
                               Delete={"Objects": [{"Key": "k", "VersionId": "null"}]})
    assert result["Deleted"] == [{"Key": "k", "VersionId": "null"}]
    assert "Versions" not in s3.list_object_versions(Bucket=bucket)


def test_versioning_lifecycle(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"before")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and "null" not in (v1, v2)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"one"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"before"
    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k")
    assert code_of(exc) == "NoSuchKey"
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
    assert status_of(exc) == 405
    listing = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in listing["Versions"]] == [v2, v1, "null"]
    assert not any(v["IsLatest"] for v in listing["Versions"])
    assert [(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [
        (marker["VersionId"], True)]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    # Removing the marker brings v2 back.
    removed = s3.delete_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
    assert removed["DeleteMarker"] is True
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    # Removing the current version makes the previous one current.
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"one"
    page = s3.list_object_versions(Bucket=bucket, MaxKeys=1)
    assert page["IsTruncated"] is True
    rest = s3.list_object_versions(Bucket=bucket, KeyMarker=page["NextKeyMarker"],
                                   VersionIdMarker=page["NextVersionIdMarker"])
    assert [v["VersionId"] for v in page["Versions"] + rest["Versions"]] == [v1, "null"]


def test_suspended_versioning_replaces_null(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"kept")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"n1")
    s3.put_object(Bucket=bucket, Key="k", Body=b"n2")
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]]
    assert ids == ["null", kept]
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"n2"


def test_concurrent_writes_share_commits_but_not_failures(s3: Any, bucket: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def create_once(i: int) -> int:
        try:
            s3.put_object(Bucket=bucket, Key="race", Body=f"writer {i}".encode(), IfNoneMatch="*")
            return 200
        except ClientError as exc:
            return status_of_error(exc)

    def write_own(i: int) -> str:
        return s3.put_object(Bucket=bucket, Key=f"own/{i}", Body=f"body {i}".encode())["ETag"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create_once, range(8)))
        etags = list(pool.map(write_own, range(16)))
    assert sorted(statuses) == [200] + [412] * 7
    winner = s3.get_object(Bucket=bucket, Key="race")["Body"].read()
    assert winner.startswith(b"writer ")
    for i, etag in enumerate(etags):
        got = s3.get_object(Bucket=bucket, Key=f"own/{i}")
        assert got["Body"].read() == f"body {i}".encode()
        assert got["ETag"] == etag


def status_of_error(exc: ClientError) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])
