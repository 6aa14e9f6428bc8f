"""Inline policies, managed policies and versions, attachments, AWS managed policies."""

from __future__ import annotations

import json

import pytest
from tests.iam.conftest import ALLOW_ALL, S3_READ, TRUST_EC2, Caller

from trailgate.services.iam import ensure_aws_managed_policies

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"


@pytest.mark.parametrize("owner", ["User", "Group", "Role"])
def test_inline_policy_lifecycle(root: Caller, owner: str) -> None:
    name_param = f"{owner}Name"
    if owner == "Role":
        root.call("CreateRole", RoleName="o", AssumeRolePolicyDocument=TRUST_EC2)
    else:
        root.call(f"Create{owner}", **{name_param: "o"})
    document = '{\n  "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow", ' \
               '"Action": "s3:ListBucket", "Resource": "*"}]\n}'
    root.call(f"Put{owner}Policy", **{name_param: "O"}, PolicyName="Read", PolicyDocument=document)
    got = root.call(f"Get{owner}Policy", **{name_param: "o"}, PolicyName="read")
    assert got[name_param] == "o" and got["PolicyName"] == "Read"
    # Returned exactly as stored (the query codec URL-encodes it on the wire).
    assert got["PolicyDocument"] == document
    root.call(f"Put{owner}Policy", **{name_param: "o"}, PolicyName="Admin",
              PolicyDocument=ALLOW_ALL)
    assert root.call(f"List{owner}Policies", **{name_param: "o"})["PolicyNames"] == [
        "Admin", "Read"]
    root.call(f"Delete{owner}Policy", **{name_param: "o"}, PolicyName="Read")
    err = root.fails(f"Get{owner}Policy", **{name_param: "o"}, PolicyName="Read")
    assert (err.code, err.status, err.message) == (
        "NoSuchEntity", 404, f"The {owner.lower()} policy with name Read cannot be found.")
    err = root.fails(f"Delete{owner}Policy", **{name_param: "o"}, PolicyName="Read")
    assert err.code == "NoSuchEntity"
    err = root.fails(f"Put{owner}Policy", **{name_param: "missing"}, PolicyName="x",
                     PolicyDocument=ALLOW_ALL)
    assert err.message == f"The {owner.lower()} with name missing cannot be found."


def test_inline_policy_validation(root: Caller) -> None:
    root.call("CreateUser", UserName="u")
    err = root.fails("PutUserPolicy", UserName="u", PolicyName="p", PolicyDocument="{not json")
    assert (err.code, err.status, err.message) == (
        "MalformedPolicyDocument", 400, "Syntax errors in policy.")
    with_principal = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]})
    err = root.fails("PutUserPolicy", UserName="u", PolicyName="p", PolicyDocument=with_principal)
    assert err.code == "MalformedPolicyDocument"
    # The user's inline policies share 2048 characters (whitespace not counted).
    big = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [f"s3:GetObject{i}" for i in range(60)], "Resource": "*"}]})
    root.call("PutUserPolicy", UserName="u", PolicyName="one", PolicyDocument=big)
    err = root.fails("PutUserPolicy", UserName="u", PolicyName="two", PolicyDocument=big)
    assert (err.code, err.status, err.message) == (
        "LimitExceeded", 409, "Maximum policy size of 2048 bytes exceeded for user u")
    root.call("PutUserPolicy", UserName="u", PolicyName="one", PolicyDocument=big)  # replace


def test_managed_policy_lifecycle(root: Caller) -> None:
    created = root.call("CreatePolicy", PolicyName="Read", Path="/app/", PolicyDocument=S3_READ,
                        Description="reads")["Policy"]
    arn = f"arn:aws:iam::{root.account}:policy/app/Read"
    assert created["Arn"] == arn and created["PolicyId"].startswith("ANPA")
    assert created["DefaultVersionId"] == "v1" and created["AttachmentCount"] == 0
    assert created["IsAttachable"] is True and "Description" not in created
    err = root.fails("CreatePolicy", PolicyName="read", PolicyDocument=S3_READ)
    assert (err.code, err.status, err.message) == (
        "EntityAlreadyExists", 409,
        "A policy called read already exists. Duplicate names are not allowed.")
    got = root.call("GetPolicy", PolicyArn=arn)["Policy"]
    assert got["Description"] == "reads" and got["Tags"] == []

    v1 = root.call("GetPolicyVersion", PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert v1["Document"] == S3_READ and v1["IsDefaultVersion"] is True

    v2 = root.call("CreatePolicyVersion", PolicyArn=arn, PolicyDocument=ALLOW_ALL,
                   SetAsDefault=True)["PolicyVersion"]
    assert v2["VersionId"] == "v2" and v2["IsDefaultVersion"] is True and "Document" not in v2
    v3 = root.call("CreatePolicyVersion", PolicyArn=arn, PolicyDocument=S3_READ)["PolicyVersion"]
    assert v3["VersionId"] == "v3" and v3["IsDefaultVersion"] is False
    versions = root.call("ListPolicyVersions", PolicyArn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [
        ("v3", False), ("v2", True), ("v1", False)]
    assert root.call("GetPolicy", PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"

    root.call("SetDefaultPolicyVersion", PolicyArn=arn, VersionId="v1")
    err = root.fails("DeletePolicyVersion", PolicyArn=arn, VersionId="v1")
    assert (err.code, err.status, err.message) == (
        "DeleteConflict", 409, "Cannot delete the default version of a policy.")
    err = root.fails("GetPolicyVersion", PolicyArn=arn, VersionId="v9")
    assert (err.code, err.message) == (
        "NoSuchEntity", f"Policy {arn} version v9 does not exist or is not attachable.")
    assert root.fails("SetDefaultPolicyVersion", PolicyArn=arn, VersionId="v9").code == (
        "NoSuchEntity")

    err = root.fails("DeletePolicy", PolicyArn=arn)
    assert (err.code, err.message) == (
        "DeleteConflict",
        "This policy has more than one version. Before you delete a policy, you must delete "
        "the policy's versions. The default version is deleted with the policy.")
    root.call("DeletePolicyVersion", PolicyArn=arn, VersionId="v2")
    root.call("DeletePolicyVersion", PolicyArn=arn, VersionId="v3")
    root.call("DeletePolicy", PolicyArn=arn)
    err = root.fails("GetPolicy", PolicyArn=arn)
    assert (err.code, err.status, err.message) == (
        "NoSuchEntity", 404, f"Policy {arn} was not found.")


def test_version_quota_and_ids_not_reused(root: Caller) -> None:
    arn = root.call("CreatePolicy", PolicyName="p", PolicyDocument=S3_READ)["Policy"]["Arn"]
    for _ in range(4):
        root.call("CreatePolicyVersion", PolicyArn=arn, PolicyDocument=S3_READ)
    err = root.fails("CreatePolicyVersion", PolicyArn=arn, PolicyDocument=S3_READ)
    assert (err.code, err.status, err.message) == (
        "LimitExceeded", 409,
        "A managed policy can have up to 5 versions. Before you create a new version, you must "
        "delete an existing version.")
    root.call("DeletePolicyVersion", PolicyArn=arn, VersionId="v3")
    again = root.call("CreatePolicyVersion", PolicyArn=arn, PolicyDocument=S3_READ)
    assert again["PolicyVersion"]["VersionId"] == "v6"


def test_managed_policy_needs_version_2012(root: Caller) -> None:
    old = json.dumps({"Version": "2008-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    err = root.fails("CreatePolicy", PolicyName="old", PolicyDocument=old)
    assert (err.code, err.message) == (
        "MalformedPolicyDocument", "Policy document must be version 2012-10-17 or greater.")


def test_managed_policy_size_is_limit_exceeded(root: Caller) -> None:
    huge = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [f"s3:GetObject{i}" for i in range(400)], "Resource": "*"}]})
    err = root.fails("CreatePolicy", PolicyName="huge", PolicyDocument=huge)
    assert (err.code, err.status) == ("LimitExceeded", 409)
    assert "PolicySize" in err.message


def test_policy_tags_are_case_sensitive(root: Caller) -> None:
    arn = root.call("CreatePolicy", PolicyName="t", PolicyDocument=S3_READ,
                    Tags=[{"Key": "a", "Value": "lower"}, {"Key": "A", "Value": "upper"}]
                    )["Policy"]["Arn"]
    assert root.call("ListPolicyTags", PolicyArn=arn)["Tags"] == [
        {"Key": "A", "Value": "upper"}, {"Key": "a", "Value": "lower"}]
    root.call("UntagPolicy", PolicyArn=arn, TagKeys=["a"])
    assert root.call("GetPolicy", PolicyArn=arn)["Policy"]["Tags"] == [
        {"Key": "A", "Value": "upper"}]
    err = root.fails("TagPolicy", PolicyArn=arn, Tags=[{"Key": "x", "Value": "1"},
                                                       {"Key": "x", "Value": "2"}])
    assert (err.code, err.message) == ("InvalidInput", "Duplicate tag keys found.")
    missing = f"arn:aws:iam::{root.account}:policy/NotAPolicy"
    assert root.fails("TagPolicy", PolicyArn=missing, Tags=[{"Key": "x", "Value": "1"}]
                      ).message == f"Policy {missing} was not found."


def test_list_policies_scopes(root: Caller) -> None:
    root.call("CreatePolicy", PolicyName="Mine", PolicyDocument=S3_READ, Path="/mine/")
    names = lambda **kw: [p["PolicyName"] for p in root.call("ListPolicies", **kw)["Policies"]]  # noqa: E731
    aws = ["AdministratorAccess", "AmazonS3FullAccess", "AmazonS3ReadOnlyAccess",
           "IAMReadOnlyAccess"]
    assert names(Scope="AWS") == aws
    assert names(Scope="Local") == ["Mine"]
    assert names() == sorted([*aws, "Mine"], key=str.lower)
    assert names(PathPrefix="/mine/") == ["Mine"]
    assert names(OnlyAttached=True) == []
    root.call("CreateUser", UserName="u")
    root.call("AttachUserPolicy", UserName="u", PolicyArn=ADMIN)
    listed = root.call("ListPolicies", OnlyAttached=True)["Policies"]
    assert [(p["PolicyName"], p["AttachmentCount"]) for p in listed] == [
        ("AdministratorAccess", 1)]
    assert "Tags" not in listed[0] and "Description" not in listed[0]
    page = root.call("ListPolicies", MaxItems=2)
    assert page["IsTruncated"] and len(page["Policies"]) == 2
    rest = root.call("ListPolicies", Marker=page["Marker"])["Policies"]
    assert len(rest) == 3


def test_aws_managed_policies(root: Caller, other_root: Caller) -> None:
    got = root.call("GetPolicy", PolicyArn=READ_ONLY)["Policy"]
    assert got["PolicyId"] == "ANPAJKSO7NDY4T57MWDSQ" and got["DefaultVersionId"] == "v4"
    assert got["Description"] == "Provides read only access to IAM via the AWS Management Console."
    document = json.loads(root.call(
        "GetPolicyVersion", PolicyArn=READ_ONLY, VersionId="v4")["PolicyVersion"]["Document"])
    assert document["Statement"][0]["Action"] == [
        "iam:GenerateCredentialReport", "iam:GenerateServiceLastAccessedDetails", "iam:Get*",
        "iam:List*", "iam:SimulateCustomPolicy", "iam:SimulatePrincipalPolicy"]
    full = json.loads(root.call(
        "GetPolicyVersion", PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess",
        VersionId="v2")["PolicyVersion"]["Document"])
    assert full["Statement"][0]["Action"] == ["s3:*", "s3-object-lambda:*"]
    # Attachment counts are per account.
    root.call("CreateUser", UserName="u")
    root.call("AttachUserPolicy", UserName="u", PolicyArn=READ_ONLY)
    assert root.call("GetPolicy", PolicyArn=READ_ONLY)["Policy"]["AttachmentCount"] == 1
    assert other_root.call("GetPolicy", PolicyArn=READ_ONLY)["Policy"]["AttachmentCount"] == 0
    # They cannot be changed.
    assert root.fails("DeletePolicy", PolicyArn=READ_ONLY).code == "AccessDenied"
    assert root.fails("CreatePolicyVersion", PolicyArn=READ_ONLY,
                      PolicyDocument=ALLOW_ALL).code == "AccessDenied"
    # Installing again changes nothing.
    with root.runtime.db.begin() as conn:
        assert ensure_aws_managed_policies(conn) == 0


def test_attachments(root: Caller, other_root: Caller) -> None:
    root.call("CreateUser", UserName="u", Path="/p/")
    root.call("CreateGroup", GroupName="g")
    root.call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST_EC2)
    mine = root.call("CreatePolicy", PolicyName="Mine", PolicyDocument=S3_READ,
                     Path="/x/")["Policy"]["Arn"]
    for owner, name in (("User", "u"), ("Group", "g"), ("Role", "r")):
        param = {f"{owner}Name": name}
        root.call(f"Attach{owner}Policy", **param, PolicyArn=mine)
        root.call(f"Attach{owner}Policy", **param, PolicyArn=mine)  # twice: no-op
        root.call(f"Attach{owner}Policy", **param, PolicyArn=ADMIN)
        attached = root.call(f"ListAttached{owner}Policies", **param)["AttachedPolicies"]
        assert attached == [{"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN},
                            {"PolicyName": "Mine", "PolicyArn": mine}]
        assert root.call(f"ListAttached{owner}Policies", **param, PathPrefix="/x/")[
            "AttachedPolicies"] == [{"PolicyName": "Mine", "PolicyArn": mine}]
    assert root.call("GetPolicy", PolicyArn=mine)["Policy"]["AttachmentCount"] == 3
    err = root.fails("DeletePolicy", PolicyArn=mine)
    assert (err.code, err.message) == (
        "DeleteConflict", "Cannot delete a policy attached to entities.")

    entities = root.call("ListEntitiesForPolicy", PolicyArn=mine)
    assert entities["PolicyUsers"][0]["UserName"] == "u"
    assert entities["PolicyGroups"][0]["GroupName"] == "g"
    assert entities["PolicyRoles"][0]["RoleName"] == "r"
    only_roles = root.call("ListEntitiesForPolicy", PolicyArn=mine, EntityFilter="Role")
    assert only_roles["PolicyUsers"] == [] and len(only_roles["PolicyRoles"]) == 1
    assert root.call("ListEntitiesForPolicy", PolicyArn=mine, PathPrefix="/p/")["PolicyUsers"]
    assert root.call("ListEntitiesForPolicy", PolicyArn=mine,
                     EntityFilter="LocalManagedPolicy")["PolicyUsers"] == []
    assert other_root.call("ListEntitiesForPolicy", PolicyArn=ADMIN)["PolicyRoles"] == []

    for owner, name in (("User", "u"), ("Group", "g"), ("Role", "r")):
        root.call(f"Detach{owner}Policy", **{f"{owner}Name": name}, PolicyArn=mine)
        err = root.fails(f"Detach{owner}Policy", **{f"{owner}Name": name}, PolicyArn=mine)
        assert (err.code, err.status, err.message) == (
            "NoSuchEntity", 404, f"Policy {mine} was not found.")
    root.call("DeletePolicy", PolicyArn=mine)


def test_attach_errors(root: Caller, other_root: Caller) -> None:
    root.call("CreateUser", UserName="u")
    missing = f"arn:aws:iam::{root.account}:policy/nonexistent"
    err = root.fails("AttachUserPolicy", UserName="u", PolicyArn=missing)
    assert (err.code, err.status, err.message) == (
        "NoSuchEntity", 404, f"Policy {missing} does not exist or is not attachable.")
    err = root.fails("AttachUserPolicy", UserName="u", PolicyArn="longpolicynamebutnoarn")
    assert (err.code, err.status, err.message) == (
        "ValidationError", 400, "ARN longpolicynamebutnoarn is not valid.")
    # Another account's customer managed policy is not attachable here.
    theirs = other_root.call("CreatePolicy", PolicyName="p", PolicyDocument=S3_READ)["Policy"][
        "Arn"]
    assert root.fails("AttachUserPolicy", UserName="u", PolicyArn=theirs).code == "NoSuchEntity"
    assert root.fails("GetPolicy", PolicyArn=theirs).code == "NoSuchEntity"
    assert root.fails("ListEntitiesForPolicy", PolicyArn=missing).message == (
        f"Policy {missing} does not exist or is not attachable.")
    arns = [root.call("CreatePolicy", PolicyName=f"p{i}", PolicyDocument=S3_READ)["Policy"]["Arn"]
            for i in range(11)]
    for arn in arns[:10]:
        root.call("AttachUserPolicy", UserName="u", PolicyArn=arn)
    err = root.fails("AttachUserPolicy", UserName="u", PolicyArn=arns[10])
    assert (err.code, err.message) == (
        "LimitExceeded", "Cannot exceed quota for PoliciesPerUser: 10")


def test_boundary_counts_and_listing(root: Caller) -> None:
    arn = root.call("CreatePolicy", PolicyName="B", PolicyDocument=S3_READ)["Policy"]["Arn"]
    root.call("CreateUser", UserName="u", PermissionsBoundary=arn)
    assert root.call("GetPolicy", PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    assert [p["PolicyName"] for p in root.call(
        "ListPolicies", PolicyUsageFilter="PermissionsBoundary")["Policies"]] == ["B"]
    used = root.call("ListEntitiesForPolicy", PolicyArn=arn,
                     PolicyUsageFilter="PermissionsBoundary")
    assert [u["UserName"] for u in used["PolicyUsers"]] == ["u"]
    assert root.fails("DeletePolicy", PolicyArn=arn).code == "DeleteConflict"
