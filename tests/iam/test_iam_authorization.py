"""What IAM operations ask the policy engine, and the answers through the real engine:
IAMReadOnlyAccess lists but cannot create, no policy means no access, the root may do
everything, groups, boundaries and session policies count."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.iam.conftest import ALLOW_ALL, S3_READ, TRUST_EC2, Caller

from trailgate.services import registry
from trailgate.services.iam.principal_policies import policy_inputs, policy_sources
from trailgate.store.schema_iam import sts_sessions

READ_ONLY = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def test_every_iam_operation_declares_authorization() -> None:
    specs = registry.registered("iam")
    assert len(specs) >= 70
    assert all(spec.authorize is not None for spec in specs)


def test_declared_resources(root: Caller) -> None:
    a = root.account
    root.call("CreateUser", UserName="bob", Path="/staff/")
    root.call("CreateGroup", GroupName="devs", Path="/eng/")
    root.call("CreateRole", RoleName="app", Path="/svc/", AssumeRolePolicyDocument=TRUST_EC2)

    def only(operation: str, **params: object) -> tuple[str, str]:
        checks = root.checks(operation, **params)
        assert len(checks) == 1
        assert checks[0].resource_account == a
        return checks[0].action, checks[0].resource

    assert only("CreateUser", UserName="x", Path="/p/") == (
        "iam:CreateUser", f"arn:aws:iam::{a}:user/p/x")
    assert only("GetUser", UserName="BOB") == ("iam:GetUser", f"arn:aws:iam::{a}:user/staff/bob")
    assert only("GetUser", UserName="unknown") == (
        "iam:GetUser", f"arn:aws:iam::{a}:user/unknown")
    assert only("GetUser") == ("iam:GetUser", f"arn:aws:iam::{a}:root")
    assert only("ListUsers") == ("iam:ListUsers", "*")
    assert only("ListRoles", PathPrefix="/svc/") == ("iam:ListRoles", "*")
    assert only("CreateAccessKey", UserName="bob") == (
        "iam:CreateAccessKey", f"arn:aws:iam::{a}:user/staff/bob")
    assert only("AddUserToGroup", GroupName="devs", UserName="bob") == (
        "iam:AddUserToGroup", f"arn:aws:iam::{a}:group/eng/devs")
    assert only("PutRolePolicy", RoleName="app", PolicyName="p", PolicyDocument="{}") == (
        "iam:PutRolePolicy", f"arn:aws:iam::{a}:role/svc/app")
    assert only("GetPolicy", PolicyArn=READ_ONLY) == ("iam:GetPolicy", READ_ONLY)
    assert only("CreatePolicy", PolicyName="p", Path="/x/", PolicyDocument="{}") == (
        "iam:CreatePolicy", f"arn:aws:iam::{a}:policy/x/p")
    assert only("CreateAccountAlias", AccountAlias="abc") == ("iam:CreateAccountAlias", "*")
    checks = root.checks("AttachRolePolicy", RoleName="app", PolicyArn=ADMIN)
    assert checks[0].context["iam:PolicyARN"] == ADMIN
    checks = root.checks("PutUserPermissionsBoundary", UserName="bob", PermissionsBoundary=ADMIN)
    assert checks[0].context["iam:PermissionsBoundary"] == ADMIN
    checks = root.checks("CreateRole", RoleName="n", AssumeRolePolicyDocument=TRUST_EC2,
                         Tags=[{"Key": "team", "Value": "x"}])
    assert checks[0].context["aws:RequestTag/team"] == "x"
    assert checks[0].context["aws:TagKeys"] == ["team"]
    root.call("TagRole", RoleName="app", Tags=[{"Key": "env", "Value": "prod"}])
    assert root.checks("GetRole", RoleName="app")[0].context["aws:ResourceTag/env"] == "prod"


def test_read_only_user_lists_but_cannot_create(root: Caller) -> None:
    root.call("CreateUser", UserName="reader")
    root.call("AttachUserPolicy", UserName="reader", PolicyArn=READ_ONLY)
    reader = root.as_user("reader")
    assert [u["UserName"] for u in reader.invoke("ListUsers")["Users"]] == ["reader"]
    assert reader.invoke("GetPolicy", PolicyArn=READ_ONLY)["Policy"]["PolicyName"] == (
        "IAMReadOnlyAccess")
    reader.invoke("ListAttachedUserPolicies", UserName="reader")
    err = reader.denied("CreateUser", UserName="x")
    assert (err.code, err.status) == ("AccessDenied", 403)
    assert err.message == (
        f"User: arn:aws:iam::{root.account}:user/reader is not authorized to perform: "
        f"iam:CreateUser on resource: arn:aws:iam::{root.account}:user/x because no "
        "identity-based policy allows the iam:CreateUser action")
    assert reader.denied("DeleteUser", UserName="reader").code == "AccessDenied"


def test_user_without_policies_can_do_nothing(root: Caller) -> None:
    root.call("CreateUser", UserName="nobody")
    nobody = root.as_user("nobody")
    err = nobody.denied("ListUsers")
    assert err.message == (
        f"User: arn:aws:iam::{root.account}:user/nobody is not authorized to perform: "
        "iam:ListUsers because no identity-based policy allows the iam:ListUsers action")
    assert nobody.denied("GetUser").code == "AccessDenied"
    assert nobody.denied("CreateAccessKey").code == "AccessDenied"


def test_root_may_do_everything(root: Caller) -> None:
    root.invoke("CreateUser", UserName="made-by-root")
    root.invoke("CreatePolicy", PolicyName="p", PolicyDocument=S3_READ)
    root.invoke("ListPolicies", Scope="AWS")
    root.invoke("DeleteUser", UserName="made-by-root")


def test_group_policies_and_boundaries_apply(root: Caller) -> None:
    root.call("CreateUser", UserName="dev")
    root.call("CreateGroup", GroupName="admins")
    root.call("AttachGroupPolicy", GroupName="admins", PolicyArn=ADMIN)
    dev = root.as_user("dev")
    assert dev.denied("ListRoles").code == "AccessDenied"
    root.call("AddUserToGroup", GroupName="admins", UserName="dev")
    dev.invoke("ListRoles")
    dev.invoke("CreateGroup", GroupName="by-dev")
    # A boundary of read-only IAM: still lists, no longer creates.
    root.call("PutUserPermissionsBoundary", UserName="dev", PermissionsBoundary=READ_ONLY)
    dev.invoke("ListRoles")
    err = dev.denied("CreateGroup", GroupName="second")
    assert "because no permissions boundary allows the iam:CreateGroup action" in err.message
    # An explicit deny inline wins over the group's allow.
    root.call("DeleteUserPermissionsBoundary", UserName="dev")
    deny = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "iam:List*", "Resource": "*"}]})
    root.call("PutUserPolicy", UserName="dev", PolicyName="no-list", PolicyDocument=deny)
    assert "explicit deny in an identity-based policy" in dev.denied("ListRoles").message
    dev.invoke("GetUser")


def test_policy_sources_naming(root: Caller) -> None:
    root.call("CreateUser", UserName="bob")
    root.call("PutUserPolicy", UserName="bob", PolicyName="S3Read", PolicyDocument=S3_READ)
    root.call("AttachUserPolicy", UserName="bob", PolicyArn=ADMIN)
    root.call("CreateGroup", GroupName="devs")
    root.call("AddUserToGroup", GroupName="devs", UserName="bob")
    root.call("PutGroupPolicy", GroupName="devs", PolicyName="Read", PolicyDocument=S3_READ)
    root.call("AttachGroupPolicy", GroupName="devs", PolicyArn=ADMIN)  # counted once
    root.call("PutUserPermissionsBoundary", UserName="bob", PermissionsBoundary=READ_ONLY)
    bob = root.as_user("bob")
    with root.runtime.db.read() as conn:
        sources = policy_sources(conn, bob.principal)
        compiled = policy_inputs(root.runtime, conn, bob.principal)
        assert policy_sources(conn, root.principal).identity == ()
    assert [s.name for s in sources.identity] == ["user/bob/inline/S3Read", ADMIN,
                                                 "group/devs/inline/Read"]
    assert [s.name for s in sources.boundaries] == [READ_ONLY]
    assert [p.name for p in compiled.identity] == [s.name for s in sources.identity]
    assert [p.kind.value for p in compiled.boundaries] == ["boundary"]


def test_role_session_policies(root: Caller) -> None:
    root.call("CreateRole", RoleName="app", AssumeRolePolicyDocument=TRUST_EC2)
    root.call("PutRolePolicy", RoleName="app", PolicyName="all", PolicyDocument=ALLOW_ALL)
    akid = "ASIATESTSESSION00001"
    now = datetime.now(UTC)
    with root.runtime.db.begin() as conn:
        conn.execute(sts_sessions.insert().values(
            access_key_id=akid, account_id=root.account, kind="AssumedRole",
            role_id=root.call("GetRole", RoleName="app")["Role"]["RoleId"], session_name="s1",
            secret_sealed=b"x", token_sealed=b"x", issued_at=now,
            expires_at=now + timedelta(hours=1),
            session_policy=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}]}),
            session_policy_arns=json.dumps([READ_ONLY]),
        ))
    session = root.as_role_session("app", access_key_id=akid)
    with root.runtime.db.read() as conn:
        sources = policy_sources(conn, session.principal)
    assert [s.name for s in sources.identity] == ["role/app/inline/all"]
    assert [s.name for s in sources.session] == ["session/inline", READ_ONLY]
    session.invoke("ListRoles")
    err = session.denied("CreateUser", UserName="x")
    assert "because no session policy allows the iam:CreateUser action" in err.message
    # Without session policies the role's own policy decides.
    plain = root.as_role_session("app", session="s2", access_key_id="ASIATESTSESSION00002")
    plain.invoke("CreateUser", UserName="x")


@pytest.mark.parametrize("operation,params", [
    ("ListGroups", {}),
    ("ListPolicies", {}),
    ("ListAccountAliases", {}),
])
def test_read_only_lists_everything(root: Caller, operation: str, params: dict) -> None:
    root.call("CreateUser", UserName="reader")
    root.call("AttachUserPolicy", UserName="reader", PolicyArn=READ_ONLY)
    root.as_user("reader").invoke(operation, **params)


def test_large_role_inline_policy_still_applies(root: Caller) -> None:
    # A role's inline policies may total 10,240 characters, more than one managed policy.
    actions = [f"s3:GetObjectVersionTagging{i}" for i in range(250)] + ["iam:ListRoles"]
    big = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"}]})
    assert 6144 < len(big) < 10240
    root.call("CreateRole", RoleName="big", AssumeRolePolicyDocument=TRUST_EC2)
    root.call("PutRolePolicy", RoleName="big", PolicyName="big", PolicyDocument=big)
    session = root.as_role_session("big")
    session.invoke("ListRoles")
    assert session.denied("ListUsers").code == "AccessDenied"
