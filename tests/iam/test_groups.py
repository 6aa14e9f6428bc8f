"""Groups and membership."""

from __future__ import annotations

from tests.iam.conftest import ALLOW_ALL, Caller


def test_group_lifecycle(root: Caller) -> None:
    group = root.call("CreateGroup", GroupName="Devs", Path="/eng/")["Group"]
    assert group["Arn"] == f"arn:aws:iam::{root.account}:group/eng/Devs"
    assert group["GroupId"].startswith("AGPA")
    err = root.fails("CreateGroup", GroupName="devs")
    assert (err.code, err.status, err.message) == (
        "EntityAlreadyExists", 409, "Group with name devs already exists.")
    root.call("CreateUser", UserName="u1")
    root.call("CreateUser", UserName="u2")
    root.call("AddUserToGroup", GroupName="devs", UserName="u2")
    root.call("AddUserToGroup", GroupName="Devs", UserName="u1")
    root.call("AddUserToGroup", GroupName="Devs", UserName="u1")  # idempotent
    got = root.call("GetGroup", GroupName="Devs")
    assert got["Group"]["GroupName"] == "Devs"
    assert [u["UserName"] for u in got["Users"]] == ["u1", "u2"]
    assert got["IsTruncated"] is False
    page = root.call("GetGroup", GroupName="Devs", MaxItems=1)
    assert [u["UserName"] for u in page["Users"]] == ["u1"] and page["IsTruncated"]

    assert [g["GroupName"] for g in root.call("ListGroupsForUser", UserName="u1")["Groups"]] == [
        "Devs"]
    assert [g["GroupName"] for g in root.call("ListGroups", PathPrefix="/eng")["Groups"]] == [
        "Devs"]
    assert root.call("ListGroups", PathPrefix="/other/")["Groups"] == []

    err = root.fails("DeleteGroup", GroupName="Devs")
    assert (err.code, err.status, err.message) == (
        "DeleteConflict", 409, "Cannot delete entity, must remove users from group first.")
    root.call("RemoveUserFromGroup", GroupName="Devs", UserName="u1")
    root.call("RemoveUserFromGroup", GroupName="Devs", UserName="u2")
    root.call("RemoveUserFromGroup", GroupName="Devs", UserName="u2")  # not a member: fine

    root.call("PutGroupPolicy", GroupName="Devs", PolicyName="p", PolicyDocument=ALLOW_ALL)
    assert root.fails("DeleteGroup", GroupName="Devs").message == (
        "Cannot delete entity, must delete policies first.")
    root.call("DeleteGroupPolicy", GroupName="Devs", PolicyName="p")
    arn = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    root.call("AttachGroupPolicy", GroupName="Devs", PolicyArn=arn)
    assert root.fails("DeleteGroup", GroupName="Devs").message == (
        "Cannot delete entity, must detach all policies first.")
    root.call("DetachGroupPolicy", GroupName="Devs", PolicyArn=arn)
    root.call("DeleteGroup", GroupName="Devs")
    assert root.fails("GetGroup", GroupName="Devs").message == (
        "The group with name Devs cannot be found.")


def test_membership_errors(root: Caller) -> None:
    root.call("CreateGroup", GroupName="g")
    root.call("CreateUser", UserName="u")
    assert root.fails("AddUserToGroup", GroupName="g", UserName="nobody").message == (
        "The user with name nobody cannot be found.")
    assert root.fails("AddUserToGroup", GroupName="none", UserName="u").message == (
        "The group with name none cannot be found.")
    assert root.fails("RemoveUserFromGroup", GroupName="none", UserName="any").message == (
        "The user with name any cannot be found.")


def test_update_group(root: Caller) -> None:
    group_id = root.call("CreateGroup", GroupName="a")["Group"]["GroupId"]
    root.call("CreateGroup", GroupName="b")
    assert root.fails("UpdateGroup", GroupName="a", NewGroupName="B").message == (
        "Group with name B already exists.")
    root.call("UpdateGroup", GroupName="a", NewGroupName="c", NewPath="/new/")
    got = root.call("GetGroup", GroupName="c")["Group"]
    assert got["GroupId"] == group_id and got["Path"] == "/new/"


def test_groups_per_user_quota(root: Caller) -> None:
    root.call("CreateUser", UserName="u")
    for i in range(10):
        root.call("CreateGroup", GroupName=f"g{i}")
        root.call("AddUserToGroup", GroupName=f"g{i}", UserName="u")
    root.call("CreateGroup", GroupName="g10")
    err = root.fails("AddUserToGroup", GroupName="g10", UserName="u")
    assert (err.code, err.message) == ("LimitExceeded", "Cannot exceed quota for GroupsPerUser: 10")
