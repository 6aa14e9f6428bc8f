"""IAM users: CRUD, paths, tags, GetUser for the caller, delete conflicts."""

from __future__ import annotations

import re

from tests.iam.conftest import ALLOW_ALL, Caller


def test_create_get_list_delete(root: Caller) -> None:
    created = root.call("CreateUser", UserName="Alice", Path="/team/")["User"]
    assert created["UserName"] == "Alice"
    assert created["Path"] == "/team/"
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", created["UserId"])
    assert created["Arn"] == f"arn:aws:iam::{root.account}:user/team/Alice"
    assert created["CreateDate"].tzinfo is not None
    assert "Tags" not in created

    got = root.call("GetUser", UserName="alice")["User"]  # names are case-insensitive
    assert got["UserName"] == "Alice" and got["UserId"] == created["UserId"]

    listed = root.call("ListUsers")
    assert [u["UserName"] for u in listed["Users"]] == ["Alice"]
    assert listed["IsTruncated"] is False

    assert root.call("DeleteUser", UserName="Alice") == {}
    err = root.fails("GetUser", UserName="Alice")
    assert (err.code, err.status, err.message) == (
        "NoSuchEntity", 404, "The user with name Alice cannot be found.")


def test_duplicate_name_is_case_insensitive(root: Caller) -> None:
    root.call("CreateUser", UserName="bob")
    err = root.fails("CreateUser", UserName="BOB")
    assert (err.code, err.status, err.message) == (
        "EntityAlreadyExists", 409, "User with name BOB already exists.")


def test_path_prefix_and_pagination(root: Caller) -> None:
    for name in ["u1", "u2", "u3", "u4", "u5"]:
        root.call("CreateUser", UserName=name, Path="/a/" if name < "u4" else "/b/")
    assert [u["UserName"] for u in root.call("ListUsers", PathPrefix="/a")["Users"]] == [
        "u1", "u2", "u3"]
    assert [u["UserName"] for u in root.call("ListUsers", PathPrefix="/b/")["Users"]] == [
        "u4", "u5"]
    first = root.call("ListUsers", MaxItems=2)
    assert first["IsTruncated"] is True and [u["UserName"] for u in first["Users"]] == ["u1", "u2"]
    second = root.call("ListUsers", MaxItems=2, Marker=first["Marker"])
    assert [u["UserName"] for u in second["Users"]] == ["u3", "u4"]
    third = root.call("ListUsers", MaxItems=2, Marker=second["Marker"])
    assert [u["UserName"] for u in third["Users"]] == ["u5"]
    assert third["IsTruncated"] is False and "Marker" not in third


def test_update_renames_and_moves(root: Caller) -> None:
    user_id = root.call("CreateUser", UserName="old")["User"]["UserId"]
    root.call("CreateUser", UserName="taken")
    err = root.fails("UpdateUser", UserName="old", NewUserName="Taken")
    assert err.code == "EntityAlreadyExists"
    root.call("UpdateUser", UserName="old", NewUserName="new", NewPath="/moved/")
    got = root.call("GetUser", UserName="new")["User"]
    assert got["UserId"] == user_id
    assert got["Arn"].endswith(":user/moved/new")
    assert root.fails("GetUser", UserName="old").code == "NoSuchEntity"
    assert root.fails("UpdateUser", UserName="ghost", NewPath="/x/").message == (
        "The user with name ghost cannot be found.")


def test_tags(root: Caller) -> None:
    created = root.call("CreateUser", UserName="t", Tags=[{"Key": "Team", "Value": "Platform"},
                                                          {"Key": "Env", "Value": "Test"}])
    assert created["User"]["Tags"] == [{"Key": "Team", "Value": "Platform"},
                                      {"Key": "Env", "Value": "Test"}]
    assert root.call("ListUserTags", UserName="t")["Tags"] == [
        {"Key": "Env", "Value": "Test"}, {"Key": "Team", "Value": "Platform"}]
    root.call("TagUser", UserName="t", Tags=[{"Key": "env", "Value": "Prod"}])
    tags = root.call("ListUserTags", UserName="t")["Tags"]
    assert {"Key": "env", "Value": "Prod"} in tags and len(tags) == 2  # keys case-insensitive
    root.call("UntagUser", UserName="t", TagKeys=["TEAM"])
    assert root.call("ListUserTags", UserName="t")["Tags"] == [{"Key": "env", "Value": "Prod"}]
    assert root.call("GetUser", UserName="t")["User"]["Tags"] == [
        {"Key": "env", "Value": "Prod"}]
    err = root.fails("TagUser", UserName="t", Tags=[{"Key": "a", "Value": "1"},
                                                     {"Key": "A", "Value": "2"}])
    assert (err.code, err.message) == (
        "InvalidInput",
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    assert root.fails("ListUserTags", UserName="nobody").code == "NoSuchEntity"
    err = root.fails("TagUser", UserName="t",
                     Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert err.code == "LimitExceeded"


def test_get_user_without_name(root: Caller) -> None:
    me = root.call("GetUser")["User"]
    assert me["UserId"] == root.account
    assert me["Arn"] == f"arn:aws:iam::{root.account}:root"
    assert "UserName" not in me and "Path" not in me
    root.call("CreateUser", UserName="self", Path="/p/")
    as_user = root.as_user("self")
    assert as_user.call("GetUser")["User"]["Arn"] == f"arn:aws:iam::{root.account}:user/p/self"


def test_get_user_without_name_from_role_session(root: Caller) -> None:
    from tests.iam.conftest import TRUST_EC2

    root.call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST_EC2)
    session = root.as_role_session("r")
    err = session.fails("GetUser")
    assert (err.code, err.status, err.message) == (
        "ValidationError", 400, "Must specify userName when calling with non-User credentials")


def test_delete_conflicts(root: Caller) -> None:
    root.call("CreateUser", UserName="busy")
    root.call("CreateLoginProfile", UserName="busy", Password="Corr3ct-Horse!")
    assert root.fails("DeleteUser", UserName="busy").message == (
        "Cannot delete entity, must delete login profile first.")
    root.call("DeleteLoginProfile", UserName="busy")

    key = root.call("CreateAccessKey", UserName="busy")["AccessKey"]["AccessKeyId"]
    assert root.fails("DeleteUser", UserName="busy").message == (
        "Cannot delete entity, must delete access keys first.")
    root.call("DeleteAccessKey", UserName="busy", AccessKeyId=key)

    root.call("PutUserPolicy", UserName="busy", PolicyName="p", PolicyDocument=ALLOW_ALL)
    err = root.fails("DeleteUser", UserName="busy")
    assert (err.code, err.status, err.message) == (
        "DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
    root.call("DeleteUserPolicy", UserName="busy", PolicyName="p")

    arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    root.call("AttachUserPolicy", UserName="busy", PolicyArn=arn)
    assert root.fails("DeleteUser", UserName="busy").message == (
        "Cannot delete entity, must detach all policies first.")
    root.call("DetachUserPolicy", UserName="busy", PolicyArn=arn)

    root.call("CreateGroup", GroupName="g")
    root.call("AddUserToGroup", GroupName="g", UserName="busy")
    assert root.fails("DeleteUser", UserName="busy").message == (
        "Cannot delete entity, must remove users from group first.")
    root.call("RemoveUserFromGroup", GroupName="g", UserName="busy")
    root.call("DeleteUser", UserName="busy")


def test_accounts_are_separate(root: Caller, other_root: Caller) -> None:
    root.call("CreateUser", UserName="shared")
    other_root.call("CreateUser", UserName="shared")
    assert [u["UserName"] for u in other_root.call("ListUsers")["Users"]] == ["shared"]
    root.call("DeleteUser", UserName="shared")
    assert other_root.call("GetUser", UserName="shared")["User"]["UserName"] == "shared"


def test_user_permissions_boundary(root: Caller) -> None:
    arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    created = root.call("CreateUser", UserName="b", PermissionsBoundary=arn)["User"]
    assert created["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}
    assert "PermissionsBoundary" not in root.call("ListUsers")["Users"][0]
    root.call("DeleteUserPermissionsBoundary", UserName="b")
    assert "PermissionsBoundary" not in root.call("GetUser", UserName="b")["User"]
    root.call("PutUserPermissionsBoundary", UserName="b", PermissionsBoundary=arn)
    assert root.call("GetUser", UserName="b")["User"]["PermissionsBoundary"][
        "PermissionsBoundaryArn"] == arn
    missing = f"arn:aws:iam::{root.account}:policy/nope"
    err = root.fails("PutUserPermissionsBoundary", UserName="b", PermissionsBoundary=missing)
    assert (err.code, err.status, err.message) == (
        "NoSuchEntity", 404, f"Scope ARN: {missing} does not exist or is not attachable.")
    bad = f"arn:aws:iam::{root.account}:not_a_policy/x"
    err = root.fails("CreateUser", UserName="c", PermissionsBoundary=bad)
    assert (err.code, err.message) == ("InvalidInput", f"ARN {bad} is not valid.")
    assert root.fails("GetUser", UserName="c").code == "NoSuchEntity"  # nothing written


def test_concurrent_creates_of_one_name(root: Caller) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from trailgate.errors import AwsError

    def create(i: int) -> str:
        try:
            root.call("CreateUser", UserName="Racer" if i % 2 else "racer")
            return "created"
        except AwsError as err:
            return err.code

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(create, range(6)))
    assert sorted(outcomes) == ["EntityAlreadyExists"] * 5 + ["created"]
    assert len(root.call("ListUsers")["Users"]) == 1
