"""S3 authorization through a real server: bucket policies (validation, lock-out), cross-account
access by account roots, anonymous and presigned requests, per-key DeleteObjects decisions,
CopyObject's two checks, S3 condition keys, and the internal API CloudTrail delivery uses."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from tests.s3.conftest import make_client
from tests.s3.test_buckets import code_of, status_of

from trailgate.auth.principal import Principal
from trailgate.config import Config as TrailgateConfig
from trailgate.errors import AwsError
from trailgate.runtime import GENERATION_TTL, Runtime
from trailgate.services.s3 import internal
from trailgate.testing.server import ServerProcess


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, actions: Any, resources: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": actions,
            "Resource": resources, **extra}


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture
def anonymous(s3server: ServerProcess) -> Any:
    return boto3.client("s3", endpoint_url=s3server.endpoint, region_name="us-east-1",
                        config=Config(signature_version=UNSIGNED,
                                      s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def test_malformed_policies(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_policy(Bucket=bucket, Policy="not json")
    assert code_of(exc) == "MalformedPolicy"
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_policy(Bucket=bucket, Policy=policy(
            allow("*", "s3:GetObject", "arn:aws:s3:::some-other-bucket/*")))
    assert code_of(exc) == "MalformedPolicy"
    assert exc.value.response["Error"]["Message"] == "Policy has invalid resource"
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_policy(Bucket=bucket)
    assert code_of(exc) == "NoSuchBucketPolicy"
    assert status_of(exc) == 404


def test_policy_round_trip(s3: Any, bucket: str) -> None:
    text = policy(allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
    s3.put_bucket_policy(Bucket=bucket, Policy=text)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == text
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=bucket)


def test_owner_root_can_always_manage_the_policy(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    lockout = policy({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                      "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]})
    s3.put_bucket_policy(Bucket=bucket, Policy=lockout)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k")
    assert code_of(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket=bucket)
    assert code_of(exc) == "AccessDenied"
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == lockout
    s3.delete_bucket_policy(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_other_account_needs_the_bucket_policy(
    s3: Any, s3_b: Any, account_b: dict[str, str], bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="shared/doc", Body=b"shared")
    with pytest.raises(ClientError) as exc:
        s3_b.get_object(Bucket=bucket, Key="shared/doc")
    assert code_of(exc) == "AccessDenied"
    assert status_of(exc) == 403
    b_root = f"arn:aws:iam::{account_b['AccountId']}:root"
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        allow({"AWS": b_root}, "s3:GetObject", f"arn:aws:s3:::{bucket}/shared/*")))
    assert s3_b.get_object(Bucket=bucket, Key="shared/doc")["Body"].read() == b"shared"
    with pytest.raises(ClientError) as exc:
        s3_b.get_object(Bucket=bucket, Key="private")
    assert code_of(exc) == "AccessDenied"
    # A missing key is AccessDenied without s3:ListBucket ...
    with pytest.raises(ClientError) as exc:
        s3_b.get_object(Bucket=bucket, Key="shared/missing")
    assert code_of(exc) == "AccessDenied"
    # ... and NoSuchKey with it.
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        allow({"AWS": account_b["AccountId"]}, "s3:GetObject", f"arn:aws:s3:::{bucket}/shared/*"),
        allow({"AWS": b_root}, "s3:ListBucket", f"arn:aws:s3:::{bucket}"),
    ))
    with pytest.raises(ClientError) as exc:
        s3_b.get_object(Bucket=bucket, Key="shared/missing")
    assert code_of(exc) == "NoSuchKey"
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        allow({"AWS": account_b["AccountId"]}, "s3:GetObject", f"arn:aws:s3:::{bucket}/shared/*"),
        allow({"AWS": b_root}, "s3:ListBucket", f"arn:aws:s3:::{bucket}",
              Condition={"StringLike": {"s3:prefix": "shared/*"}}),
    ))
    # s3:prefix decides ListBucket.
    listed = s3_b.list_objects_v2(Bucket=bucket, Prefix="shared/")
    assert [o["Key"] for o in listed["Contents"]] == ["shared/doc"]
    with pytest.raises(ClientError) as exc:
        s3_b.list_objects_v2(Bucket=bucket)
    assert code_of(exc) == "AccessDenied"
    # B does not own the bucket: its policy stays out of B's reach.
    with pytest.raises(ClientError) as exc:
        s3_b.get_bucket_policy(Bucket=bucket)
    assert code_of(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        s3_b.delete_bucket(Bucket=bucket)
    assert code_of(exc) == "AccessDenied"


def test_missing_bucket_is_no_such_bucket_for_anyone(anonymous: Any, s3_b: Any) -> None:
    for client in (anonymous, s3_b):
        with pytest.raises(ClientError) as exc:
            client.list_objects_v2(Bucket="tg-nobody-owns-this")
        assert code_of(exc) == "NoSuchBucket"


def test_anonymous_only_with_public_policy(
    s3server: ServerProcess, s3: Any, anonymous: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="pub/x", Body=b"public")
    with pytest.raises(ClientError) as exc:
        anonymous.get_object(Bucket=bucket, Key="pub/x")
    assert code_of(exc) == "AccessDenied"
    assert http_get(f"{s3server.endpoint}/{bucket}/pub/x")[0] == 403
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        allow("*", "s3:GetObject", f"arn:aws:s3:::{bucket}/pub/*")))
    assert anonymous.get_object(Bucket=bucket, Key="pub/x")["Body"].read() == b"public"
    assert http_get(f"{s3server.endpoint}/{bucket}/pub/x") == (200, b"public")
    with pytest.raises(ClientError) as exc:
        anonymous.put_object(Bucket=bucket, Key="pub/y", Body=b"no")
    assert code_of(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        anonymous.list_buckets()
    assert code_of(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        anonymous.get_object(Bucket=bucket, Key="pub/x", ResponseContentType="text/html")
    assert code_of(exc) == "InvalidRequest"


def test_presigned_urls(s3server: ServerProcess, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="dir/pre signed+.txt", Body=b"presigned")
    v4_client = make_client(s3server, s3server.root["RootAccessKeyId"],
                            s3server.root["RootSecretAccessKey"], signature_version="s3v4")
    v4 = v4_client.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                                "Key": "dir/pre signed+.txt"})
    assert "X-Amz-Signature=" in v4
    assert http_get(v4) == (200, b"presigned")
    put_url = v4_client.generate_presigned_url("put_object", Params={"Bucket": bucket,
                                                                     "Key": "uploaded"})
    upload = urllib.request.Request(put_url, data=b"via presigned PUT", method="PUT")
    with urllib.request.urlopen(upload, timeout=10) as resp:
        assert resp.status == 200
    assert s3.get_object(Bucket=bucket, Key="uploaded")["Body"].read() == b"via presigned PUT"
    v2_client = make_client(s3server, s3server.root["RootAccessKeyId"],
                            s3server.root["RootSecretAccessKey"], signature_version="s3")
    v2 = v2_client.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                                "Key": "dir/pre signed+.txt"})
    assert "Signature=" in v2 and "X-Amz-Signature" not in v2
    assert http_get(v2) == (200, b"presigned")
    tampered = v4.replace("pre%20signed", "pre%20signedX")
    assert http_get(tampered)[0] == 403
    # Virtual-hosted style (the Host header names the bucket), sent to the loopback address.
    virtual = boto3.client(
        "s3", endpoint_url=f"http://localhost:{s3server.port}", region_name="us-east-1",
        aws_access_key_id=s3server.root["RootAccessKeyId"],
        aws_secret_access_key=s3server.root["RootSecretAccessKey"],
        config=Config(s3={"addressing_style": "virtual"}),
    )
    url = virtual.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                               "Key": "dir/pre signed+.txt"})
    host = f"{bucket}.localhost:{s3server.port}"
    assert url.startswith(f"http://{host}/dir/")
    request = urllib.request.Request(url.replace(host, f"127.0.0.1:{s3server.port}"))
    request.add_header("Host", host)
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.read() == b"presigned"


def test_condition_keys_on_signature_and_auth_type(
    s3server: ServerProcess, s3: Any, s3_b: Any, account_b: dict[str, str], bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    b = {"AWS": account_b["AccountId"]}
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        allow(b, "s3:GetObject", f"arn:aws:s3:::{bucket}/*",
              Condition={"StringEquals": {"s3:signatureversion": "AWS4-HMAC-SHA256",
                                          "s3:authType": "REST-HEADER"}}),
    ))
    assert s3_b.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    b_v2 = make_client(s3server, account_b["RootAccessKeyId"], account_b["RootSecretAccessKey"],
                       signature_version="s3")
    with pytest.raises(ClientError) as exc:
        b_v2.get_object(Bucket=bucket, Key="k")
    assert code_of(exc) == "AccessDenied"
    b_v4 = make_client(s3server, account_b["RootAccessKeyId"], account_b["RootSecretAccessKey"],
                       signature_version="s3v4")
    url = b_v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    assert "X-Amz-Signature=" in url
    assert http_get(url)[0] == 403  # s3:authType is REST-QUERY-STRING


def test_acl_condition_for_cross_account_writes(
    s3: Any, s3_b: Any, account_b: dict[str, str], bucket: str
) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        allow({"AWS": account_b["AccountId"]}, "s3:PutObject", f"arn:aws:s3:::{bucket}/in/*",
              Condition={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}),
    ))
    with pytest.raises(ClientError) as exc:
        s3_b.put_object(Bucket=bucket, Key="in/a", Body=b"x")
    assert code_of(exc) == "AccessDenied"
    s3_b.put_object(Bucket=bucket, Key="in/a", Body=b"x", ACL="bucket-owner-full-control")
    assert s3.get_object(Bucket=bucket, Key="in/a")["Body"].read() == b"x"


def test_delete_objects_is_decided_per_key(
    s3: Any, s3_b: Any, account_b: dict[str, str], bucket: str
) -> None:
    for key in ("public/a", "private/b"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        allow({"AWS": account_b["AccountId"]}, "s3:DeleteObject",
              f"arn:aws:s3:::{bucket}/public/*")))
    result = s3_b.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "public/a"},
                                                                    {"Key": "private/b"}]})
    assert result["Deleted"] == [{"Key": "public/a"}]
    assert result["Errors"] == [{"Key": "private/b", "Code": "AccessDenied",
                                 "Message": "Access Denied"}]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["private/b"]


def test_copy_needs_read_on_source_and_write_on_target(
    s3: Any, s3_b: Any, account_b: dict[str, str], bucket: str,
    bucket_name: Callable[[], str],
) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"copy me")
    b_bucket = bucket_name()
    s3_b.create_bucket(Bucket=b_bucket)
    source = {"Bucket": bucket, "Key": "src"}
    with pytest.raises(ClientError) as exc:
        s3_b.copy_object(Bucket=b_bucket, Key="dst", CopySource=source)
    assert code_of(exc) == "AccessDenied"
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        allow({"AWS": account_b["AccountId"]}, "s3:GetObject", f"arn:aws:s3:::{bucket}/*")))
    s3_b.copy_object(Bucket=b_bucket, Key="dst", CopySource=source)
    assert s3_b.get_object(Bucket=b_bucket, Key="dst")["Body"].read() == b"copy me"
    # Reading the source is not enough to write into A's bucket.
    with pytest.raises(ClientError) as exc:
        s3_b.copy_object(Bucket=bucket, Key="dst", CopySource=source)
    assert code_of(exc) == "AccessDenied"


@pytest.fixture
def runtime(s3server: ServerProcess) -> Iterator[Runtime]:
    rt = Runtime.open(TrailgateConfig(data_dir=s3server.data_dir,
                                      database_url=s3server.database_url))
    yield rt
    rt.close()


def test_internal_delivery_goes_through_the_bucket_policy(
    s3: Any, bucket: str, runtime: Runtime, s3server: ServerProcess
) -> None:
    account = s3server.management_account_id
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{account}:trail/main"
    cloudtrail = Principal.aws_service("cloudtrail.amazonaws.com")
    key = f"AWSLogs/{account}/CloudTrail/us-east-1/2026/01/01/x.json.gz"
    with pytest.raises(AwsError) as denied:
        internal.put_object_as(runtime, cloudtrail, bucket, key, b"{}",
                               content_type="application/json", acl="bucket-owner-full-control",
                               source_arn=trail_arn, source_account=account)
    assert denied.value.code == "AccessDenied"
    service = {"Service": "cloudtrail.amazonaws.com"}
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        allow(service, "s3:GetBucketAcl", f"arn:aws:s3:::{bucket}",
              Condition={"StringEquals": {"aws:SourceArn": trail_arn}}),
        allow(service, "s3:PutObject", f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*",
              Condition={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                                          "aws:SourceArn": trail_arn}}),
    ))
    # The server changed the policy; this process sees it once its cache generation is re-read.
    time.sleep(GENERATION_TTL + 0.1)
    assert internal.may_put_object_as(runtime, cloudtrail, bucket, key,
                                      acl="bucket-owner-full-control", source_arn=trail_arn,
                                      source_account=account)
    out = internal.put_object_as(runtime, cloudtrail, bucket, key, b'{"Records":[]}',
                                 content_type="application/json", content_encoding="gzip",
                                 acl="bucket-owner-full-control", source_arn=trail_arn,
                                 source_account=account)
    assert out["ETag"].startswith('"')
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == b'{"Records":[]}'
    assert got["ContentEncoding"] == "gzip"
    acl = internal.get_bucket_acl_as(runtime, cloudtrail, bucket, source_arn=trail_arn)
    assert acl["Grants"][0]["Permission"] == "FULL_CONTROL"
    other = f"arn:aws:cloudtrail:us-east-1:{account}:trail/other"
    assert not internal.may_put_object_as(runtime, cloudtrail, bucket, key,
                                          acl="bucket-owner-full-control", source_arn=other)
    with pytest.raises(AwsError):
        internal.get_bucket_acl_as(runtime, cloudtrail, bucket, source_arn=other)
    with pytest.raises(AwsError) as denied:
        internal.put_object_as(runtime, cloudtrail, bucket, key, b"{}",
                               content_type="application/json", source_arn=trail_arn)
    assert denied.value.code == "AccessDenied"


def _iam_user(server: ServerProcess, creds: dict[str, str], name: str,
              policy_doc: str | None) -> Any:
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id=creds["RootAccessKeyId"],
                       aws_secret_access_key=creds["RootSecretAccessKey"])
    iam.create_user(UserName=name)
    if policy_doc is not None:
        iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=policy_doc)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return make_client(server, key["AccessKeyId"], key["SecretAccessKey"])


def test_identity_and_bucket_policies_combine(
    s3server: ServerProcess, s3: Any, account_b: dict[str, str], bucket: str,
    bucket_name: Callable[[], str],
) -> None:
    s3.put_object(Bucket=bucket, Key="doc", Body=b"doc")
    read_doc = policy({"Effect": "Allow", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*"})
    suffix = bucket_name()
    # Same account: the identity policy alone is enough; without one there is no access.
    reader = _iam_user(s3server, s3server.root, f"reader-{suffix}", read_doc)
    nobody = _iam_user(s3server, s3server.root, f"nobody-{suffix}", None)
    assert reader.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"doc"
    with pytest.raises(ClientError) as exc:
        nobody.get_object(Bucket=bucket, Key="doc")
    assert code_of(exc) == "AccessDenied"
    # Same account: a bucket policy naming the user directly is enough too.
    nobody_arn = f"arn:aws:iam::{s3server.management_account_id}:user/nobody-{suffix}"
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        allow({"AWS": nobody_arn}, "s3:GetObject", f"arn:aws:s3:::{bucket}/*")))
    assert nobody.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"doc"
    # An explicit deny in the bucket policy beats the identity policy's allow.
    reader_arn = f"arn:aws:iam::{s3server.management_account_id}:user/reader-{suffix}"
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Deny", "Principal": {"AWS": reader_arn}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"}))
    with pytest.raises(ClientError) as exc:
        reader.get_object(Bucket=bucket, Key="doc")
    assert code_of(exc) == "AccessDenied"
    # Another account: both sides must allow.
    b_reader = _iam_user(s3server, account_b, f"b-reader-{suffix}", read_doc)
    b_nobody = _iam_user(s3server, account_b, f"b-nobody-{suffix}", None)
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        allow({"AWS": account_b["AccountId"]}, "s3:GetObject", f"arn:aws:s3:::{bucket}/*")))
    assert b_reader.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"doc"
    with pytest.raises(ClientError) as exc:
        b_nobody.get_object(Bucket=bucket, Key="doc")
    assert code_of(exc) == "AccessDenied"
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        b_reader.get_object(Bucket=bucket, Key="doc")
    assert code_of(exc) == "AccessDenied"
