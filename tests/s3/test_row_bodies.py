"""Small PutObject bodies are kept in their object rows (services/s3/bodies.py): through boto3
against a real server, such objects behave exactly as objects in blob files (reads, ranges,
copies, versions), no blob file is created for them, and a body one byte over the limit goes to
a blob file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from trailgate.services.s3.bodies import ROW_BODY_LIMIT
from trailgate.store.blobs import TMP_DIR
from trailgate.testing.server import ServerProcess


def blob_count(server: ServerProcess) -> int:
    root = Path(server.data_dir) / "blobs"
    if not root.exists():
        return 0
    return sum(
        1 for sub in root.iterdir() if sub.is_dir() and sub.name != TMP_DIR for _ in sub.iterdir()
    )


def test_small_bodies_make_no_blob_file_and_the_limit_is_exact(
    s3: Any, s3server: ServerProcess, bucket: str
) -> None:
    before = blob_count(s3server)
    bodies = {"empty": b"", "one": b"x", "limit": os.urandom(ROW_BODY_LIMIT)}
    for key, body in bodies.items():
        put = s3.put_object(Bucket=bucket, Key=key, Body=body)
        assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert blob_count(s3server) == before
    for key, body in bodies.items():
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == body
        assert got["ContentLength"] == len(body)
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(body)

    over = os.urandom(ROW_BODY_LIMIT + 1)
    s3.put_object(Bucket=bucket, Key="over", Body=over)
    assert blob_count(s3server) == before + 1
    assert s3.get_object(Bucket=bucket, Key="over")["Body"].read() == over
    # Overwriting the file-backed object with a small body leaves its blob file to be removed.
    s3.put_object(Bucket=bucket, Key="over", Body=b"small now")
    assert s3.get_object(Bucket=bucket, Key="over")["Body"].read() == b"small now"


def test_ranges_and_part_number_of_a_row_body(s3: Any, bucket: str) -> None:
    body = bytes(range(256)) * 8
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert got["Body"].read() == body[10:20]
    assert got["ContentRange"] == f"bytes 10-19/{len(body)}"
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-5")["Body"].read() == body[-5:]
    assert s3.get_object(Bucket=bucket, Key="r", PartNumber=1)["Body"].read() == body


def test_copies_of_a_row_body(s3: Any, bucket: str) -> None:
    body = os.urandom(3000)
    s3.put_object(Bucket=bucket, Key="src", Body=body, Metadata={"m": "1"})
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == body
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    part = s3.upload_part_copy(
        Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange="bytes=100-199",
    )  # fmt: skip
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]},
    )  # fmt: skip
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == body[100:200]


def test_versions_keep_their_row_bodies(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="v", Body=b"first")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="v", Body=b"second")["VersionId"]
    read = s3.get_object(Bucket=bucket, Key="v", VersionId=first)["Body"].read()
    assert read == b"first"
    assert s3.get_object(Bucket=bucket, Key="v")["Body"].read() == b"second"
    listed = s3.list_object_versions(Bucket=bucket, Prefix="v")["Versions"]
    assert {(v["VersionId"], v["Size"]) for v in listed} == {(first, 5), (second, 6)}
    # Deleting the current version promotes the noncurrent one, body included.
    s3.delete_object(Bucket=bucket, Key="v", VersionId=second)
    assert s3.get_object(Bucket=bucket, Key="v")["Body"].read() == b"first"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="v", Body=b"null version")
    assert s3.get_object(Bucket=bucket, Key="v", VersionId="null")["Body"].read() == (
        b"null version"
    )
    assert s3.get_object(Bucket=bucket, Key="v", VersionId=first)["Body"].read() == b"first"
