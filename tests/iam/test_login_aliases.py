"""Login profiles (hashed passwords, verify_password) and account aliases."""

from __future__ import annotations

from sqlalchemy import select
from tests.iam.conftest import Caller

from trailgate.services import accounts
from trailgate.services.iam.login_profiles import verify_password
from trailgate.store.schema_iam import iam_login_profiles

GOOD = "Corr3ct-Horse!"


def test_login_profile_lifecycle(root: Caller) -> None:
    root.call("CreateUser", UserName="u")
    created = root.call("CreateLoginProfile", UserName="u", Password=GOOD,
                        PasswordResetRequired=True)["LoginProfile"]
    assert created["UserName"] == "u" and created["PasswordResetRequired"] is True
    assert root.call("GetLoginProfile", UserName="u")["LoginProfile"] == created
    with root.runtime.db.read() as conn:
        stored = conn.execute(select(iam_login_profiles.c.password_hash)).scalar_one()
        assert GOOD not in stored and stored.startswith("scrypt$")
        assert verify_password(conn, root.account, "u", GOOD)
        assert verify_password(conn, root.account, "U", GOOD)
        assert not verify_password(conn, root.account, "u", GOOD + "x")
        assert not verify_password(conn, root.account, "nobody", GOOD)
        assert not verify_password(conn, root.account, None, GOOD)
    err = root.fails("CreateLoginProfile", UserName="u", Password=GOOD)
    assert (err.code, err.status, err.message) == (
        "EntityAlreadyExists", 409, "Login Profile for user u already exists.")
    root.call("UpdateLoginProfile", UserName="u", Password="An0ther-pass",
              PasswordResetRequired=False)
    with root.runtime.db.read() as conn:
        assert verify_password(conn, root.account, "u", "An0ther-pass")
        assert not verify_password(conn, root.account, "u", GOOD)
    assert root.call("GetLoginProfile", UserName="u")["LoginProfile"][
        "PasswordResetRequired"] is False
    root.call("DeleteLoginProfile", UserName="u")
    err = root.fails("GetLoginProfile", UserName="u")
    assert (err.code, err.status, err.message) == (
        "NoSuchEntity", 404, "Login Profile for User u cannot be found.")
    assert root.fails("DeleteLoginProfile", UserName="u").code == "NoSuchEntity"
    assert root.fails("CreateLoginProfile", UserName="ghost", Password=GOOD).message == (
        "The user with name ghost cannot be found.")


def test_password_policy(root: Caller) -> None:
    root.call("CreateUser", UserName="u")
    for weak in ["short1!", "alllowercase", "ALLUPPER123", "lower123456"]:
        err = root.fails("CreateLoginProfile", UserName="u", Password=weak)
        assert (err.code, err.status) == ("PasswordPolicyViolation", 400), weak
        assert weak not in err.message
    root.call("CreateLoginProfile", UserName="u", Password="lower123456!")


def test_root_password(root: Caller) -> None:
    root.call("CreateLoginProfile", Password=GOOD)
    with root.runtime.db.read() as conn:
        assert verify_password(conn, root.account, None, GOOD)
        assert not verify_password(conn, root.account, None, "wrong")


def test_account_alias(root: Caller, other_root: Caller) -> None:
    assert root.call("ListAccountAliases")["AccountAliases"] == []
    root.call("CreateAccountAlias", AccountAlias="my-company")
    assert root.call("ListAccountAliases") == {"AccountAliases": ["my-company"],
                                               "IsTruncated": False}
    with root.runtime.db.read() as conn:
        account = accounts.get_account(conn, root.account)
        assert account is not None and account.alias == "my-company"
    err = other_root.fails("CreateAccountAlias", AccountAlias="my-company")
    assert (err.code, err.status, err.message) == (
        "EntityAlreadyExists", 409, "The account alias my-company already exists.")
    assert root.fails("CreateAccountAlias", AccountAlias="my-company").code == (
        "EntityAlreadyExists")
    root.call("CreateAccountAlias", AccountAlias="renamed")  # replaces the old one
    assert root.call("ListAccountAliases")["AccountAliases"] == ["renamed"]
    other_root.call("CreateAccountAlias", AccountAlias="my-company")
    assert root.fails("DeleteAccountAlias", AccountAlias="my-company").code == "NoSuchEntity"
    root.call("DeleteAccountAlias", AccountAlias="renamed")
    assert root.call("ListAccountAliases")["AccountAliases"] == []
    with root.runtime.db.read() as conn:
        assert accounts.get_account(conn, root.account).alias is None  # type: ignore[union-attr]
