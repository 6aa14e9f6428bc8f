"""Roles: CRUD, trust policy validation, tags, session duration, delete conflicts."""

from __future__ import annotations

import json

from tests.iam.conftest import ALLOW_ALL, TRUST_EC2, Caller


def test_role_lifecycle(root: Caller) -> None:
    created = root.call("CreateRole", RoleName="App", Path="/svc/",
                        AssumeRolePolicyDocument=TRUST_EC2, Description="the app")["Role"]
    assert created["Arn"] == f"arn:aws:iam::{root.account}:role/svc/App"
    assert created["RoleId"].startswith("AROA")
    assert created["AssumeRolePolicyDocument"] == TRUST_EC2
    assert "MaxSessionDuration" not in created and "RoleLastUsed" not in created
    assert "Description" not in created
    got = root.call("GetRole", RoleName="app")["Role"]
    assert got["MaxSessionDuration"] == 3600 and got["RoleLastUsed"] == {}
    assert got["Description"] == "the app"
    assert got["AssumeRolePolicyDocument"] == created["AssumeRolePolicyDocument"]
    listed = root.call("ListRoles", PathPrefix="/svc/")["Roles"]
    assert [r["RoleName"] for r in listed] == ["App"]
    assert "RoleLastUsed" not in listed[0] and listed[0]["MaxSessionDuration"] == 3600
    assert root.call("ListRoles", PathPrefix="/none/")["Roles"] == []
    err = root.fails("CreateRole", RoleName="APP", AssumeRolePolicyDocument=TRUST_EC2)
    assert (err.code, err.status, err.message) == (
        "EntityAlreadyExists", 409, "Role with name APP already exists.")

    root.call("UpdateRole", RoleName="App", Description="updated", MaxSessionDuration=7200)
    got = root.call("GetRole", RoleName="App")["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("updated", 7200)
    described = root.call("UpdateRoleDescription", RoleName="App", Description="again")["Role"]
    assert described["Description"] == "again" and "MaxSessionDuration" not in described

    new_trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{root.account}:root"},
        "Action": "sts:AssumeRole"}]})
    root.call("UpdateAssumeRolePolicy", RoleName="App", PolicyDocument=new_trust)
    assert root.call("GetRole", RoleName="App")["Role"]["AssumeRolePolicyDocument"] == (
        new_trust)

    root.call("DeleteRole", RoleName="App")
    err = root.fails("GetRole", RoleName="App")
    assert (err.code, err.status, err.message) == (
        "NoSuchEntity", 404, "The role with name App cannot be found.")


def test_trust_policy_validation(root: Caller) -> None:
    err = root.fails("CreateRole", RoleName="r", AssumeRolePolicyDocument="{nope")
    assert (err.code, err.status, err.message) == (
        "MalformedPolicyDocument", 400, "This policy contains invalid Json")
    root.call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST_EC2)
    with_resource = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole", "Resource": "*"}]})
    err = root.fails("UpdateAssumeRolePolicy", RoleName="r", PolicyDocument=with_resource)
    assert (err.code, err.message) == ("MalformedPolicyDocument", "Has prohibited field Resource")
    wrong_action = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "s3:*"}]})
    err = root.fails("UpdateAssumeRolePolicy", RoleName="r", PolicyDocument=wrong_action)
    assert (err.code, err.message) == (
        "MalformedPolicyDocument", "AssumeRole policy may only specify STS AssumeRole actions.")
    assert root.fails("UpdateAssumeRolePolicy", RoleName="nope",
                      PolicyDocument=TRUST_EC2).code == "NoSuchEntity"


def test_session_duration_bounds(root: Caller) -> None:
    err = root.fails("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST_EC2,
                     MaxSessionDuration=43201)
    assert err.code == "ValidationError" and "43200" in err.message
    root.call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST_EC2,
              MaxSessionDuration=43200)
    assert root.fails("UpdateRole", RoleName="r", MaxSessionDuration=3599).code == (
        "ValidationError")


def test_delete_conflicts(root: Caller) -> None:
    root.call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST_EC2)
    root.call("PutRolePolicy", RoleName="r", PolicyName="p", PolicyDocument=ALLOW_ALL)
    err = root.fails("DeleteRole", RoleName="r")
    assert (err.code, err.status, err.message) == (
        "DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
    root.call("DeleteRolePolicy", RoleName="r", PolicyName="p")
    root.call("AttachRolePolicy", RoleName="r",
              PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert root.fails("DeleteRole", RoleName="r").message == (
        "Cannot delete entity, must detach all policies first.")
    root.call("DetachRolePolicy", RoleName="r",
              PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    root.call("DeleteRole", RoleName="r")


def test_role_tags(root: Caller) -> None:
    created = root.call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST_EC2,
                        Tags=[{"Key": "team", "Value": "a"}, {"Key": "empty", "Value": ""}])
    assert created["Role"]["Tags"] == [{"Key": "team", "Value": "a"},
                                       {"Key": "empty", "Value": ""}]
    root.call("TagRole", RoleName="r", Tags=[{"Key": "Team", "Value": "b"}])
    assert root.call("ListRoleTags", RoleName="r")["Tags"] == [
        {"Key": "Team", "Value": "b"}, {"Key": "empty", "Value": ""}]
    root.call("UntagRole", RoleName="r", TagKeys=["team"])
    assert root.call("GetRole", RoleName="r")["Role"]["Tags"] == [{"Key": "empty", "Value": ""}]
    assert "Tags" not in root.call("ListRoles")["Roles"][0]
    err = root.fails("CreateRole", RoleName="d", AssumeRolePolicyDocument=TRUST_EC2,
                     Tags=[{"Key": "k", "Value": "1"}, {"Key": "K", "Value": "2"}])
    assert (err.code, err.message) == (
        "InvalidInput",
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    assert root.fails("TagRole", RoleName="ghost", Tags=[{"Key": "a", "Value": "b"}]).message == (
        "The role with name ghost cannot be found.")


def test_role_permissions_boundary(root: Caller) -> None:
    arn = root.call("CreatePolicy", PolicyName="b", PolicyDocument=ALLOW_ALL)["Policy"]["Arn"]
    created = root.call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST_EC2,
                        PermissionsBoundary=arn)["Role"]
    assert created["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}
    assert "PermissionsBoundary" not in root.call("ListRoles")["Roles"][0]
    root.call("DeleteRolePermissionsBoundary", RoleName="r")
    assert "PermissionsBoundary" not in root.call("GetRole", RoleName="r")["Role"]
    root.call("PutRolePermissionsBoundary", RoleName="r", PermissionsBoundary=arn)
    assert root.call("GetRole", RoleName="r")["Role"]["PermissionsBoundary"][
        "PermissionsBoundaryArn"] == arn
    missing = f"arn:aws:iam::{root.account}:policy/nonexistent-policy"
    err = root.fails("CreateRole", RoleName="r2", AssumeRolePolicyDocument=TRUST_EC2,
                     PermissionsBoundary=missing)
    assert err.message == f"Scope ARN: {missing} does not exist or is not attachable."
    assert root.fails("PutRolePermissionsBoundary", RoleName="nope",
                      PermissionsBoundary=arn).message == (
        "The role with name nope cannot be found.")


def test_role_lookup_by_arn(root: Caller) -> None:
    from trailgate.services.iam.principal_policies import get_role, get_role_by_arn

    role_id = root.call("CreateRole", RoleName="Deep", Path="/a/b/",
                        AssumeRolePolicyDocument=TRUST_EC2)["Role"]["RoleId"]
    with root.runtime.db.read() as conn:
        found = get_role_by_arn(conn, f"arn:aws:iam::{root.account}:role/a/b/Deep")
        assert found is not None and found.id == role_id
        assert found.arn == f"arn:aws:iam::{root.account}:role/a/b/Deep"
        assert get_role_by_arn(conn, f"arn:aws:iam::{root.account}:role/Deep") is None
        assert get_role_by_arn(conn, f"arn:aws:iam::{root.account}:user/a/b/Deep") is None
        assert get_role_by_arn(conn, "not an arn") is None
        assert get_role(conn, root.account, "deep") == found
