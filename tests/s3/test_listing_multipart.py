"""ListObjects v1/v2 (prefix, delimiter, markers, continuation, url encoding) and multipart
uploads (parts, errors, listings), through boto3 against a real server."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.s3.test_buckets import code_of, status_of

MIB = 1024 * 1024


def _fill(s3: Any, bucket: str, keys: list[str]) -> None:
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")


def test_v2_pagination(s3: Any, bucket: str) -> None:
    keys = sorted(f"k{i:03d}" for i in range(25))
    _fill(s3, bucket, keys)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "MaxKeys": 7}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        pages += 1
        assert page["KeyCount"] == len(page.get("Contents", []))
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == keys
    assert pages == 4
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="k020")
    assert [o["Key"] for o in after["Contents"]] == keys[21:]
    assert after["StartAfter"] == "k020"


def test_v2_fetch_owner(s3: Any, bucket: str) -> None:
    _fill(s3, bucket, ["a"])
    assert "Owner" not in s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    owner = s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"][0]["Owner"]
    assert owner["ID"] == s3.list_buckets()["Owner"]["ID"]


def test_delimiter_and_prefix(s3: Any, bucket: str) -> None:
    _fill(s3, bucket, ["a.txt", "dir/one", "dir/two", "dir/sub/three", "dirt", "z/1", "z/2"])
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["a.txt", "dirt"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["dir/", "z/"]
    assert top["KeyCount"] == 4
    inner = s3.list_objects_v2(Bucket=bucket, Prefix="dir/", Delimiter="/")
    assert [o["Key"] for o in inner["Contents"]] == ["dir/one", "dir/two"]
    assert [p["Prefix"] for p in inner["CommonPrefixes"]] == ["dir/sub/"]
    # Common prefixes count against max-keys and paginate.
    first = s3.list_objects_v2(Bucket=bucket, Delimiter="/", MaxKeys=2)
    assert first["IsTruncated"] is True
    second = s3.list_objects_v2(Bucket=bucket, Delimiter="/", MaxKeys=2,
                                ContinuationToken=first["NextContinuationToken"])
    names = [o["Key"] for o in first.get("Contents", []) + second.get("Contents", [])]
    names += [p["Prefix"] for p in first.get("CommonPrefixes", [])
              + second.get("CommonPrefixes", [])]
    assert sorted(names) == ["a.txt", "dir/", "dirt", "z/"]


def test_v1_markers(s3: Any, bucket: str) -> None:
    _fill(s3, bucket, ["a", "b/1", "b/2", "c", "d"])
    page = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=2)
    assert page["IsTruncated"] is True
    assert page["NextMarker"] == "b/"
    rest = s3.list_objects(Bucket=bucket, Delimiter="/", Marker=page["NextMarker"])
    assert [o["Key"] for o in rest["Contents"]] == ["c", "d"]
    assert "CommonPrefixes" not in rest
    plain = s3.list_objects(Bucket=bucket, Marker="b/1")
    assert [o["Key"] for o in plain["Contents"]] == ["b/2", "c", "d"]


def test_url_encoding(s3: Any, bucket: str) -> None:
    keys = ["sp ace/x", "plus+/y", "ü/z"]
    _fill(s3, bucket, keys)
    # botocore asks for encoding-type=url and decodes it back.
    listed = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert listed["EncodingType"] == "url"
    assert sorted(p["Prefix"] for p in listed["CommonPrefixes"]) == sorted(
        ["sp ace/", "plus+/", "ü/"])
    raw = s3.list_objects(Bucket=bucket)
    assert sorted(o["Key"] for o in raw["Contents"]) == sorted(keys)


def test_listing_skips_large_common_prefix(s3: Any, bucket: str) -> None:
    _fill(s3, bucket, [f"big/{i:04d}" for i in range(300)] + ["after"])
    listed = s3.list_objects_v2(Bucket=bucket, Delimiter="/", MaxKeys=2)
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["big/"]
    assert [o["Key"] for o in listed["Contents"]] == ["after"]
    assert listed["IsTruncated"] is False


def test_max_keys_zero_and_invalid_encoding(s3: Any, bucket: str) -> None:
    _fill(s3, bucket, ["a"])
    assert s3.list_objects_v2(Bucket=bucket, MaxKeys=0)["KeyCount"] == 0
    with pytest.raises(ClientError) as exc:
        s3.list_objects(Bucket=bucket, EncodingType="base64")
    assert code_of(exc) == "InvalidArgument"


def _upload(s3: Any, bucket: str, key: str, sizes: list[int]) -> tuple[str, list[dict], bytes]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key,
                                           ContentType="text/csv")["UploadId"]
    parts = []
    data = b""
    for number, size in enumerate(sizes, start=1):
        body = os.urandom(size)
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number,
                              Body=body)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
        data += body
    return upload_id, parts, data


def test_multipart_round_trip(s3: Any, bucket: str) -> None:
    upload_id, parts, data = _upload(s3, bucket, "mp", [5 * MIB, 5 * MIB, 1000])
    listed = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id)
    assert [p["Size"] for p in listed["Parts"]] == [5 * MIB, 5 * MIB, 1000]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [u["UploadId"] for u in uploads] == [upload_id]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id,
                                        MultipartUpload={"Parts": parts})
    digests = b"".join(bytes.fromhex(p["ETag"].strip('"')) for p in parts)
    assert done["ETag"] == f'"{hashlib.md5(digests).hexdigest()}-3"'
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["ContentType"] == "text/csv"
    assert got["ETag"] == done["ETag"]
    assert got["Body"].read() == data
    across = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={5 * MIB - 3}-{5 * MIB + 2}")
    assert across["Body"].read() == data[5 * MIB - 3 : 5 * MIB + 3]
    second = s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert second["Body"].read() == data[5 * MIB : 10 * MIB]
    assert second["PartsCount"] == 3
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id)
    assert code_of(exc) == "NoSuchUpload"


def test_multipart_errors(s3: Any, bucket: str) -> None:
    upload_id, parts, _ = _upload(s3, bucket, "bad", [1000, 1000])
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="bad", UploadId=upload_id,
                                     MultipartUpload={"Parts": parts})
    assert code_of(exc) == "EntityTooSmall"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="bad", UploadId=upload_id,
                                     MultipartUpload={"Parts": list(reversed(parts))})
    assert code_of(exc) == "InvalidPartOrder"
    wrong = [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="bad", UploadId=upload_id,
                                     MultipartUpload={"Parts": wrong})
    assert code_of(exc) == "InvalidPart"
    # A single small part is a valid (last) part.
    s3.complete_multipart_upload(Bucket=bucket, Key="bad", UploadId=upload_id,
                                 MultipartUpload={"Parts": parts[:1]})
    assert s3.head_object(Bucket=bucket, Key="bad")["ContentLength"] == 1000
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="bad", UploadId="nope", PartNumber=1, Body=b"x")
    assert code_of(exc) == "NoSuchUpload"
    assert status_of(exc) == 404
    other = s3.create_multipart_upload(Bucket=bucket, Key="bad")["UploadId"]
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="bad", UploadId=other, PartNumber=10001, Body=b"x")
    assert code_of(exc) == "InvalidArgument"
    s3.abort_multipart_upload(Bucket=bucket, Key="bad", UploadId=other)
    with pytest.raises(ClientError) as exc:
        s3.abort_multipart_upload(Bucket=bucket, Key="bad", UploadId=other)
    assert code_of(exc) == "NoSuchUpload"


def test_upload_part_copy_and_replaced_part(s3: Any, bucket: str) -> None:
    source = os.urandom(6 * MIB)
    s3.put_object(Bucket=bucket, Key="src", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    first = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=1,
                                CopySource={"Bucket": bucket, "Key": "src"},
                                CopySourceRange=f"bytes=0-{5 * MIB - 1}")
    s3.upload_part(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=2, Body=b"old")
    second = s3.upload_part(Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=2,
                            Body=b"new")
    parts = [{"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
             {"PartNumber": 2, "ETag": second["ETag"]}]
    s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=upload_id,
                                 MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == source[: 5 * MIB] + b"new"
    with pytest.raises(ClientError) as exc:
        upload = s3.create_multipart_upload(Bucket=bucket, Key="x")["UploadId"]
        s3.upload_part_copy(Bucket=bucket, Key="x", UploadId=upload, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "src"},
                            CopySourceRange=f"bytes=0-{7 * MIB}")
    assert code_of(exc) == "InvalidArgument"


def test_list_multipart_uploads_with_prefix_and_delimiter(s3: Any, bucket: str) -> None:
    ids = {key: s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
           for key in ("logs/a", "logs/b", "top")}
    listed = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [u["Key"] for u in listed["Uploads"]] == ["top"]
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["logs/"]
    page = s3.list_multipart_uploads(Bucket=bucket, Prefix="logs/", MaxUploads=1)
    assert page["IsTruncated"] is True
    rest = s3.list_multipart_uploads(Bucket=bucket, Prefix="logs/",
                                     KeyMarker=page["NextKeyMarker"],
                                     UploadIdMarker=page["NextUploadIdMarker"])
    assert [u["UploadId"] for u in page["Uploads"] + rest["Uploads"]] == [ids["logs/a"],
                                                                          ids["logs/b"]]
