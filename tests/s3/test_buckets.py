"""Buckets through boto3 against a real server: creation rules, location constraints, listing,
deletion, tagging, ownership controls and ACLs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.s3.conftest import make_client

from trailgate.testing.server import ServerProcess


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def status_of(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return int(exc.value.response["ResponseMetadata"]["HTTPStatusCode"])


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 64, "Upper", "under_score", "-start", "end-", "two..dots", "192.168.1.1",
     "xn--punycode", "sthree-x", "name-s3alias", "dot.-dash", "bucket--ol-s3"],
)
def test_invalid_bucket_names(s3: Any, name: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=name)
    assert code_of(exc) == "InvalidBucketName"
    assert status_of(exc) == 400


def test_create_head_list_delete(s3: Any, bucket_name: Callable[[], str]) -> None:
    name = bucket_name()
    created = s3.create_bucket(Bucket=name)
    assert created["Location"] == f"/{name}"
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    listed = s3.list_buckets()
    assert name in [b["Name"] for b in listed["Buckets"]]
    assert len(listed["Owner"]["ID"]) == 64
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=name)
    assert status_of(exc) == 404
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=name)
    assert code_of(exc) == "NoSuchBucket"
    assert exc.value.response["Error"]["BucketName"] == name


def test_recreate_own_bucket_in_us_east_1_is_ok(s3: Any, bucket: str) -> None:
    # Legacy behaviour of us-east-1: 200 and nothing changes.
    assert s3.create_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_recreate_own_bucket_elsewhere_is_owned_by_you(
    s3server: ServerProcess, bucket_name: Callable[[], str]
) -> None:
    eu = make_client(s3server, s3server.root["RootAccessKeyId"],
                     s3server.root["RootSecretAccessKey"], region="eu-west-1")
    name = bucket_name()
    eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert eu.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    with pytest.raises(ClientError) as exc:
        eu.create_bucket(Bucket=name,
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code_of(exc) == "BucketAlreadyOwnedByYou"
    assert status_of(exc) == 409


def test_other_accounts_bucket_already_exists(s3: Any, s3_b: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3_b.create_bucket(Bucket=bucket)
    assert code_of(exc) == "BucketAlreadyExists"
    assert status_of(exc) == 409
    # B does not see A's bucket in its list.
    assert bucket not in [b["Name"] for b in s3_b.list_buckets()["Buckets"]]


def test_location_constraints(s3server: ServerProcess, s3: Any,
                              bucket_name: Callable[[], str]) -> None:
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=bucket_name(),
                         CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    assert code_of(exc) == "InvalidLocationConstraint"
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=bucket_name(),
                         CreateBucketConfiguration={"LocationConstraint": "mars-north-1"})
    assert code_of(exc) == "InvalidLocationConstraint"
    # The us-east-1 endpoint may create buckets in other regions.
    name = bucket_name()
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "us-west-2"
    west = make_client(s3server, s3server.root["RootAccessKeyId"],
                       s3server.root["RootSecretAccessKey"], region="us-west-2")
    with pytest.raises(ClientError) as exc:
        west.create_bucket(Bucket=bucket_name())
    assert code_of(exc) == "IllegalLocationConstraintException"
    with pytest.raises(ClientError) as exc:
        west.create_bucket(Bucket=bucket_name(),
                           CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code_of(exc) == "IllegalLocationConstraintException"


def test_delete_non_empty_bucket(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=bucket)
    assert code_of(exc) == "BucketNotEmpty"
    assert status_of(exc) == 409
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def test_delete_bucket_with_pending_upload_or_versions(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=bucket)
    assert code_of(exc) == "BucketNotEmpty"
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="k")  # a delete marker; the version remains
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=bucket)
    assert code_of(exc) == "BucketNotEmpty"


def test_bucket_tagging(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code_of(exc) == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "a"},
                                                             {"Key": "env", "Value": ""}]})
    tags = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "a", "env": ""}
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "a", "Value": "1"},
                                                                 {"Key": "a", "Value": "2"}]})
    assert code_of(exc) == "InvalidTag"
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code_of(exc) == "NoSuchTagSet"


def test_ownership_controls_and_acls(s3: Any, bucket: str) -> None:
    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    assert acl["Grants"][0]["Grantee"]["ID"] == acl["Owner"]["ID"]
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert code_of(exc) == "AccessControlListNotSupported"
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
    assert code_of(exc) == "AccessControlListNotSupported"
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="bucket-owner-full-control")

    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"} in [
        g["Grantee"] for g in grants
    ]
    # Back to enforced while a public ACL is set is refused.
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_ownership_controls(
            Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        )
    assert code_of(exc) == "InvalidBucketAclWithObjectOwnership"
    s3.delete_bucket_ownership_controls(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_ownership_controls(Bucket=bucket)
    assert code_of(exc) == "OwnershipControlsNotFoundError"


def test_create_bucket_with_public_acl_is_refused_when_enforced(
    s3: Any, bucket_name: Callable[[], str]
) -> None:
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=bucket_name(), ACL="public-read")
    assert code_of(exc) == "InvalidBucketAclWithObjectOwnership"
    name = bucket_name()
    s3.create_bucket(Bucket=name, ACL="public-read", ObjectOwnership="ObjectWriter")
    assert len(s3.get_bucket_acl(Bucket=name)["Grants"]) == 2


def test_versioning_configuration(s3: Any, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


def test_missing_bucket_errors(s3: Any) -> None:
    for call in (
        lambda: s3.get_bucket_policy(Bucket="tg-missing-bucket"),
        lambda: s3.list_objects_v2(Bucket="tg-missing-bucket"),
        lambda: s3.put_object(Bucket="tg-missing-bucket", Key="k", Body=b"x"),
        lambda: s3.get_object(Bucket="tg-missing-bucket", Key="k"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert code_of(exc) == "NoSuchBucket"
        assert status_of(exc) == 404
        assert exc.value.response["Error"]["BucketName"] == "tg-missing-bucket"


def test_object_acls(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    acl = s3.get_object_acl(Bucket=bucket, Key="o")
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    with pytest.raises(ClientError) as exc:
        s3.put_object_acl(Bucket=bucket, Key="o", ACL="public-read")
    assert code_of(exc) == "AccessControlListNotSupported"
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    s3.put_object_acl(Bucket=bucket, Key="o", ACL="public-read")
    grants = s3.get_object_acl(Bucket=bucket, Key="o")["Grants"]
    assert sorted(g["Permission"] for g in grants) == ["FULL_CONTROL", "READ"]
    with pytest.raises(ClientError) as exc:
        s3.get_object_acl(Bucket=bucket, Key="missing")
    assert code_of(exc) == "NoSuchKey"
