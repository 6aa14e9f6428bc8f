"""GetAccountAuthorizationDetails and GetAccountSummary."""

from __future__ import annotations

from tests.iam.conftest import ALLOW_ALL, S3_READ, TRUST_EC2, Caller

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def test_authorization_details(root: Caller) -> None:
    root.call("CreateUser", UserName="u", Tags=[{"Key": "k", "Value": "v"}])
    root.call("PutUserPolicy", UserName="u", PolicyName="inline", PolicyDocument=S3_READ)
    root.call("CreateGroup", GroupName="g")
    root.call("AddUserToGroup", GroupName="g", UserName="u")
    root.call("AttachGroupPolicy", GroupName="g", PolicyArn=ADMIN)
    root.call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST_EC2)
    mine = root.call("CreatePolicy", PolicyName="mine", PolicyDocument=ALLOW_ALL)["Policy"]["Arn"]
    root.call("CreatePolicyVersion", PolicyArn=mine, PolicyDocument=S3_READ)
    root.call("AttachRolePolicy", RoleName="r", PolicyArn=mine)

    details = root.call("GetAccountAuthorizationDetails")
    user = details["UserDetailList"][0]
    assert user["UserName"] == "u" and user["GroupList"] == ["g"]
    assert user["UserPolicyList"] == [{"PolicyName": "inline", "PolicyDocument": S3_READ}]
    assert user["Tags"] == [{"Key": "k", "Value": "v"}]
    group = details["GroupDetailList"][0]
    assert group["AttachedManagedPolicies"] == [
        {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN}]
    role = details["RoleDetailList"][0]
    assert role["AssumeRolePolicyDocument"] == TRUST_EC2
    assert role["AttachedManagedPolicies"] == [{"PolicyName": "mine", "PolicyArn": mine}]
    policies = {p["PolicyName"]: p for p in details["Policies"]}
    assert set(policies) == {"AdministratorAccess", "mine"}  # unused AWS ones left out
    assert [v["VersionId"] for v in policies["mine"]["PolicyVersionList"]] == ["v2", "v1"]
    assert policies["mine"]["PolicyVersionList"][1]["Document"] == ALLOW_ALL

    only_roles = root.call("GetAccountAuthorizationDetails", Filter=["Role"])
    assert only_roles["UserDetailList"] == [] and len(only_roles["RoleDetailList"]) == 1
    local = root.call("GetAccountAuthorizationDetails", Filter=["LocalManagedPolicy"])
    assert [p["PolicyName"] for p in local["Policies"]] == ["mine"]
    first = root.call("GetAccountAuthorizationDetails", MaxItems=2)
    assert first["IsTruncated"] is True
    rest = root.call("GetAccountAuthorizationDetails", Marker=first["Marker"])
    assert len(first["UserDetailList"] + first["GroupDetailList"]) == 2
    assert len(rest["RoleDetailList"]) == 1 and len(rest["Policies"]) == 2


def test_account_summary(root: Caller) -> None:
    root.call("CreateUser", UserName="u")
    root.call("CreateRole", RoleName="r", AssumeRolePolicyDocument=TRUST_EC2)
    root.call("CreatePolicy", PolicyName="p", PolicyDocument=S3_READ)
    summary = root.call("GetAccountSummary")["SummaryMap"]
    assert (summary["Users"], summary["Roles"], summary["Groups"], summary["Policies"]) == (
        1, 1, 0, 1)
    assert summary["AccountAccessKeysPresent"] == 1  # the bootstrap root key
    assert summary["AccessKeysPerUserQuota"] == 2
