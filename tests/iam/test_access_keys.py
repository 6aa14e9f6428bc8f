"""Access keys of users and of the root: create, list, update, delete, last used, quota."""

from __future__ import annotations

import re

from sqlalchemy import select
from tests.iam.conftest import Caller

from trailgate.store.schema import access_keys


def test_user_key_lifecycle(root: Caller) -> None:
    root.call("CreateUser", UserName="k")
    key = root.call("CreateAccessKey", UserName="k")["AccessKey"]
    assert key["UserName"] == "k"
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", key["AccessKeyId"])
    assert len(key["SecretAccessKey"]) == 40
    assert key["Status"] == "Active"
    with root.runtime.db.read() as conn:
        row = conn.execute(
            select(access_keys).where(access_keys.c.access_key_id == key["AccessKeyId"])
        ).one()
    assert key["SecretAccessKey"].encode() not in row.secret_sealed  # stored sealed

    listed = root.call("ListAccessKeys", UserName="k")["AccessKeyMetadata"]
    assert listed == [{"UserName": "k", "AccessKeyId": key["AccessKeyId"], "Status": "Active",
                       "CreateDate": key["CreateDate"]}]
    root.call("UpdateAccessKey", UserName="k", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert root.call("ListAccessKeys", UserName="k")["AccessKeyMetadata"][0]["Status"] == (
        "Inactive")
    root.call("DeleteAccessKey", UserName="k", AccessKeyId=key["AccessKeyId"])
    assert root.call("ListAccessKeys", UserName="k")["AccessKeyMetadata"] == []


def test_two_keys_at_most(root: Caller) -> None:
    root.call("CreateUser", UserName="k")
    root.call("CreateAccessKey", UserName="k")
    second = root.call("CreateAccessKey", UserName="k")["AccessKey"]["AccessKeyId"]
    root.call("UpdateAccessKey", UserName="k", AccessKeyId=second, Status="Inactive")
    err = root.fails("CreateAccessKey", UserName="k")
    assert (err.code, err.status, err.message) == (
        "LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")


def test_errors(root: Caller) -> None:
    root.call("CreateUser", UserName="k")
    assert root.fails("CreateAccessKey", UserName="nobody").message == (
        "The user with name nobody cannot be found.")
    err = root.fails("UpdateAccessKey", UserName="k", AccessKeyId="AKIAIOSFODNN7EXAMPLE",
                     Status="Active")
    assert (err.code, err.status, err.message) == (
        "NoSuchEntity", 404, "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found.")
    # A key of another user is not found through this user.
    root.call("CreateUser", UserName="other")
    theirs = root.call("CreateAccessKey", UserName="other")["AccessKey"]["AccessKeyId"]
    assert root.fails("DeleteAccessKey", UserName="k", AccessKeyId=theirs).code == "NoSuchEntity"


def test_root_manages_its_own_keys(root: Caller) -> None:
    keys = root.call("ListAccessKeys")["AccessKeyMetadata"]
    assert len(keys) == 1  # the bootstrap key
    assert "UserName" not in keys[0]
    new = root.call("CreateAccessKey")["AccessKey"]
    assert "UserName" not in new
    assert root.fails("CreateAccessKey").code == "LimitExceeded"
    root.call("DeleteAccessKey", AccessKeyId=new["AccessKeyId"])
    assert len(root.call("ListAccessKeys")["AccessKeyMetadata"]) == 1


def test_user_manages_own_keys_without_name(root: Caller) -> None:
    root.call("CreateUser", UserName="me")
    me = root.as_user("me")
    created = me.call("CreateAccessKey")["AccessKey"]
    assert created["UserName"] == "me"
    assert [k["AccessKeyId"] for k in me.call("ListAccessKeys")["AccessKeyMetadata"]] == [
        created["AccessKeyId"]]
    assert me.checks("ListAccessKeys")[0].resource == (
        f"arn:aws:iam::{root.account}:user/me")


def test_role_session_must_name_user(root: Caller) -> None:
    from tests.iam.conftest import TRUST_EC2

    root.call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST_EC2)
    err = root.as_role_session("r").fails("DeleteAccessKey", AccessKeyId="AKIAIOSFODNN7EXAMPLE")
    assert (err.code, err.message) == (
        "ValidationError", "Must specify userName when calling with non-User credentials")


def test_last_used(root: Caller, other_root: Caller) -> None:
    root.call("CreateUser", UserName="k")
    akid = root.call("CreateAccessKey", UserName="k")["AccessKey"]["AccessKeyId"]
    assert root.call("GetAccessKeyLastUsed", AccessKeyId=akid) == {
        "UserName": "k", "AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}
    err = other_root.fails("GetAccessKeyLastUsed", AccessKeyId=akid)
    assert (err.code, err.status) == ("AccessDenied", 403)
    assert err.message == (
        f"User: arn:aws:iam::{other_root.account}:root is not authorized to perform "
        f"iam:GetAccessKeyLastUsed on resource: access key {akid}")
    check = root.checks("GetAccessKeyLastUsed", AccessKeyId=akid)[0]
    assert (check.action, check.resource) == (
        "iam:GetAccessKeyLastUsed", f"arn:aws:iam::{root.account}:user/k")
