"""The console over HTTP against a real server: sign-in, cookies, CSRF, lockout, sign-out, and
authorization of every page and action by the policy engine, as the signed-in principal."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from console_support import (
    PASSWORD,
    Console,
    client,
    csrf_of,
    make_console_user,
    root_client,
)

from trailgate.testing.server import ServerProcess


def _cookie_attributes(response: httpx.Response, name: str) -> dict[str, str]:
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        if first.split("=", 1)[0] == name:
            parsed = {"value": first.split("=", 1)[1]}
            for attribute in attributes:
                key, _, value = attribute.partition("=")
                parsed[key.lower()] = value
            return parsed
    raise AssertionError(f"no {name} cookie set")


def test_signin_sets_a_hardened_session_cookie(admin_server: ServerProcess) -> None:
    console = Console.open(admin_server)
    form = console.http.get("/console/signin")
    assert form.status_code == 200
    assert "default-src 'none'" in form.headers["content-security-policy"]
    assert form.headers["x-frame-options"] == "DENY"
    response = console.signin("admin")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/home"
    cookie = _cookie_attributes(response, "tg_console")
    assert "httponly" in cookie
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/console"
    assert "secure" not in cookie  # plain http: a Secure cookie would never come back
    # Signed: changing one character of the token is refused.
    home = console.http.get("/console/home")
    assert home.status_code == 200 and "user/admin" in home.text
    token, _, mac = cookie["value"].rpartition(".")
    forged = token[:-1] + ("A" if token[-1] != "A" else "B") + "." + mac
    stranger = httpx.Client(base_url=admin_server.endpoint, cookies={"tg_console": forged})
    assert stranger.get("/console/home").status_code == 303
    # The sign-in shows as the user's PasswordLastUsed.
    user = root_client(admin_server, "iam").get_user(UserName="admin")["User"]
    assert "PasswordLastUsed" in user


def test_cookie_is_secure_behind_https(admin_server: ServerProcess) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (its default forwarded_allow_ips). The
    # client is told it is on HTTPS, so it gets Secure cookies it must send back itself.
    https = {"x-forwarded-proto": "https"}
    plain = httpx.Client(base_url=admin_server.endpoint)
    form = plain.get("/console/signin", headers=https)
    nonce = _cookie_attributes(form, "tg_console_signin")
    assert "secure" in nonce
    response = plain.post(
        "/console/signin",
        data={"csrf_token": csrf_of(form.text), "account": admin_server.management_account_id,
              "username": "admin", "password": PASSWORD},
        headers={**https, "cookie": f"tg_console_signin={nonce['value']}"},
    )
    assert response.status_code == 303
    session = _cookie_attributes(response, "tg_console")
    assert "secure" in session and "httponly" in session and session["samesite"] == "Strict"


def test_wrong_password_and_unknown_user_look_the_same(admin_server: ServerProcess) -> None:
    console = Console.open(admin_server)
    wrong = console.signin("admin", password="Not-the-passw0rd")
    unknown = console.signin("nobody-here", password="Not-the-passw0rd")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Your authentication information is incorrect" in response.text
        assert "tg_console=" not in response.headers.get("set-cookie", "")
    assert console.http.get("/console/home").status_code == 303


def test_signin_form_needs_its_csrf_token(admin_server: ServerProcess) -> None:
    console = Console.open(admin_server)
    data = {"account": admin_server.management_account_id, "username": "admin",
            "password": PASSWORD}
    # No token, no nonce cookie.
    assert console.http.post("/console/signin", data=data).status_code == 403
    # A token from another browser's form does not match this browser's nonce cookie.
    other = httpx.Client(base_url=admin_server.endpoint)
    foreign = csrf_of(other.get("/console/signin").text)
    console.http.get("/console/signin")
    assert console.http.post(
        "/console/signin", data={**data, "csrf_token": foreign}
    ).status_code == 403
    # A cross-site post is refused even with a valid token.
    token = csrf_of(console.http.get("/console/signin").text)
    assert console.http.post(
        "/console/signin", data={**data, "csrf_token": token},
        headers={"origin": "http://evil.example"},
    ).status_code == 403
    assert console.http.get("/console/home").status_code == 303


def test_lockout_delays_further_attempts(admin_server: ServerProcess) -> None:
    console = Console.open(admin_server)
    for _ in range(3):
        assert console.signin("admin", password="Wrong-passw0rd").status_code == 401
    fourth = console.signin("admin", password="Wrong-passw0rd")
    assert fourth.status_code == 401
    assert "wait 10 seconds" in fourth.text
    # While locked even the right password is not checked.
    locked = console.signin("admin")
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.text
    # Another name is not affected; an unknown name locks the same way (no enumeration).
    make_console_user(admin_server, "other")
    assert console.signin("other").status_code == 303
    stranger = Console.open(admin_server)
    for _ in range(4):
        stranger.signin("ghost", password="Wrong-passw0rd")
    assert stranger.signin("ghost", password="Wrong-passw0rd").status_code == 429
    admin_server.advance_clock(11)
    assert Console.open(admin_server).signin("admin").status_code == 303
    # The delay doubles with each further failure in a row.
    retry = Console.open(admin_server)
    for expected in (20, 40, 80):
        response = retry.signin("ghost", password="Wrong-passw0rd")
        assert response.status_code == 401
        assert f"wait {expected} seconds" in response.text
        admin_server.advance_clock(expected + 1)


def test_every_post_needs_the_session_csrf_token(admin: Console) -> None:
    iam = root_client(admin.server, "iam")
    missing = admin.http.post("/console/iam/new-user", data={"user_name": "no-token"})
    assert missing.status_code == 403
    assert "CSRF" in missing.text
    wrong = admin.http.post(
        "/console/iam/new-user", data={"user_name": "bad-token", "csrf_token": "x" * 43}
    )
    assert wrong.status_code == 403
    # The token of another session is not this session's.
    other = Console.open(admin.server)
    assert other.signin("admin").status_code == 303
    foreign = other.token()
    assert admin.post(
        "/console/iam/new-user", {"user_name": "foreign-token"}, token=foreign
    ).status_code == 403
    cross = admin.http.post(
        "/console/iam/new-user", data={"user_name": "cross", "csrf_token": admin.token()},
        headers={"origin": "http://evil.example"},
    )
    assert cross.status_code == 403
    names = {u["UserName"] for u in iam.list_users()["Users"]}
    assert not names & {"no-token", "bad-token", "foreign-token", "cross"}
    # Every form of a page carries this session's token.
    token = admin.token()
    for path in ("/console/iam/new-user", "/console/iam/users/admin?tab=security",
                 "/console/iam/new-role", "/console/simulator"):
        page = admin.http.get(path)
        tokens = re.findall(r'name="csrf_token" value="([^"]*)"', page.text)
        assert len(tokens) == page.text.count("<form method=\"post\""), path
        assert set(tokens) == {token}, path
    made = admin.post("/console/iam/new-user", {"user_name": "with-token"})
    assert made.status_code == 303
    assert iam.get_user(UserName="with-token")["User"]["UserName"] == "with-token"


def test_signout_ends_the_session_on_the_server(admin: Console) -> None:
    cookie = admin.http.cookies.get("tg_console")
    response = admin.post("/console/signout", {})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/signin"
    assert _cookie_attributes(response, "tg_console")["max-age"] == "0"
    replay = httpx.Client(base_url=admin.server.endpoint, cookies={"tg_console": cookie})
    again = replay.get("/console/iam/users")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/console/signin?next=")
    assert replay.post("/console/iam/new-user", data={"user_name": "x"}).status_code == 401


def test_idle_and_old_sessions_end(admin: Console) -> None:
    assert admin.http.get("/console/home").status_code == 200
    admin.server.advance_clock(59 * 60)
    assert admin.http.get("/console/home").status_code == 200  # activity keeps it alive
    admin.server.advance_clock(61 * 60)
    assert admin.http.get("/console/home").status_code == 303
    fresh = Console.open(admin.server)
    assert fresh.signin("admin").status_code == 303
    for _ in range(12):  # active all along, but sessions last 12 hours at most
        assert fresh.http.get("/console/home").status_code == 200
        admin.server.advance_clock(59 * 60)
    admin.server.advance_clock(13 * 60)
    assert fresh.http.get("/console/home").status_code == 303


def test_deleting_the_user_ends_its_sessions(admin_server: ServerProcess) -> None:
    make_console_user(admin_server, "temp")
    console = Console.open(admin_server)
    assert console.signin("temp").status_code == 303
    assert console.http.get("/console/home").status_code == 200
    iam = root_client(admin_server, "iam")
    iam.delete_login_profile(UserName="temp")
    iam.delete_user(UserName="temp")
    assert console.http.get("/console/home").status_code == 303


def test_pages_and_actions_are_authorized_as_the_user(admin_server: ServerProcess) -> None:
    only_users = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:ListUsers", "iam:GetUser"], "Resource": "*"}]})
    make_console_user(admin_server, "limited", inline=only_users)
    account = admin_server.management_account_id
    console = Console.open(admin_server)
    assert console.signin("limited").status_code == 303
    users = console.http.get("/console/iam/users")
    assert users.status_code == 200
    assert "limited" in users.text and "admin" in users.text
    roles = console.http.get("/console/iam/roles")
    assert roles.status_code == 403
    assert (
        f"User: arn:aws:iam::{account}:user/limited is not authorized to perform: "
        "iam:ListRoles"
    ) in roles.text
    assert "because no identity-based policy allows the iam:ListRoles action" in roles.text
    # The user page shows what may be read and the denial in place of the rest.
    detail = console.http.get("/console/iam/users/admin")
    assert detail.status_code == 200
    assert "iam:ListAttachedUserPolicies" in detail.text
    assert "AccessDenied" in detail.text
    created = console.post("/console/iam/new-user", {"user_name": "sneaky"})
    assert created.status_code == 400
    assert "is not authorized to perform: iam:CreateUser" in created.text
    iam = root_client(admin_server, "iam")
    assert "sneaky" not in {u["UserName"] for u in iam.list_users()["Users"]}
    # S3 answers its own way.
    buckets = console.http.get("/console/s3")
    assert buckets.status_code == 403 and "Access Denied" in buckets.text


def test_console_calls_are_recorded_as_the_signed_in_user(admin: Console) -> None:
    assert admin.post("/console/iam/new-user", {"user_name": "recorded"}).status_code == 303
    trail = root_client(admin.server, "cloudtrail")

    def created() -> list[dict]:
        events = trail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}]
        )["Events"]
        return [json.loads(e["CloudTrailEvent"]) for e in events]

    records = created()
    assert records, "CreateUser made in the console is not in the event history"
    record = records[0]
    assert record["userIdentity"]["type"] == "IAMUser"
    assert record["userIdentity"]["userName"] == "admin"
    assert record["requestParameters"] == {"userName": "recorded"}


def test_signins_are_recorded_without_the_password(admin_server: ServerProcess) -> None:
    console = Console.open(admin_server)
    assert console.signin("admin", password="Wrong-Secret-9").status_code == 401
    assert console.signin("admin").status_code == 303
    other = Console.open(admin_server)
    assert other.signin("no-such-user", password="Typed-In-Name-7").status_code == 401
    trail = root_client(admin_server, "cloudtrail")
    events = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}]
    )["Events"]
    records = [json.loads(e["CloudTrailEvent"]) for e in events]
    assert len(records) == 3
    for event in events:
        assert PASSWORD not in event["CloudTrailEvent"]
        assert "Wrong-Secret-9" not in event["CloudTrailEvent"]
        assert "Typed-In-Name-7" not in event["CloudTrailEvent"]
    by_result = {}
    for record in records:
        assert record["eventSource"] == "signin.amazonaws.com"
        assert record["recipientAccountId"] == admin_server.management_account_id
        by_result.setdefault(json.dumps(record["responseElements"]), []).append(record)
    assert {r["userIdentity"]["userName"] for r in records} == {
        "admin", "HIDDEN_DUE_TO_SECURITY_REASONS"}
    assert len(records) == 3 and len(by_result) == 2


def test_signin_records_have_aws_console_fields(admin_server: ServerProcess) -> None:
    console = Console.open(admin_server)
    assert console.signin("admin", password="Wrong-Secret-9").status_code == 401
    assert console.signin("admin").status_code == 303
    trail = root_client(admin_server, "cloudtrail")
    events = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}]
    )["Events"]
    records = sorted((json.loads(e["CloudTrailEvent"]) for e in events),
                     key=lambda r: r["responseElements"]["ConsoleLogin"])
    failure, success = records
    assert success["eventType"] == failure["eventType"] == "AwsConsoleSignIn"
    assert success["responseElements"] == {"ConsoleLogin": "Success"}
    assert failure["responseElements"] == {"ConsoleLogin": "Failure"}
    assert failure["errorMessage"] == "Failed authentication"
    assert "errorCode" not in failure and "errorMessage" not in success
    for record in records:
        assert record["additionalEventData"]["MFAUsed"] == "No"
        assert record["additionalEventData"]["LoginTo"].endswith("/console/home")
        assert record["readOnly"] is False


def test_root_signs_in_with_its_own_login_profile(server: ServerProcess) -> None:
    console = Console.open(server)
    # No profile yet: refused like any wrong password.
    assert console.signin(None, password="Root-Passw0rd!").status_code == 401
    root_client(server, "iam").create_login_profile(Password="Root-Passw0rd!")
    server.advance_clock(60)
    response = console.signin(None, password="Root-Passw0rd!")
    assert response.status_code == 303
    home = console.http.get("/console/home")
    assert f"arn:aws:iam::{server.management_account_id}:root" in home.text
    # By alias too.
    root_client(server, "iam").create_account_alias(AccountAlias="my-mgmt")
    again = Console.open(server)
    assert again.signin(None, password="Root-Passw0rd!", account="my-mgmt").status_code == 303
    assert "my-mgmt" in again.http.get("/console/home").text


def test_policy_editor_reports_engine_messages_before_saving(admin: Console) -> None:
    iam = root_client(admin.server, "iam")
    iam.create_user(UserName="target")
    broken = (
        '{\n  "Version": "2012-10-17",\n  "Statement": [\n'
        '    {"Effect": "Allow" "Action": "s3:*"}\n  ]\n}'
    )
    response = admin.post(
        "/console/iam/users/target/new-inline",
        {"policy_name": "Broken", "document": broken, "intent": "save"},
    )
    assert response.status_code == 400
    assert "Syntax errors in policy." in response.text
    assert "line 4, column 24" in response.text
    no_resource = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]}
    )
    response = admin.post(
        "/console/iam/users/target/new-inline",
        {"policy_name": "NoResource", "document": no_resource, "intent": "save"},
    )
    assert response.status_code == 400
    assert "Policy statement must contain resources." in response.text
    assert iam.list_user_policies(UserName="target")["PolicyNames"] == []
    good = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Resource": f"arn:aws:iam::{admin.server.management_account_id}:role/Reader"}]})
    checked = admin.post(
        "/console/iam/users/target/new-inline",
        {"policy_name": "Assume", "document": good, "intent": "check"},
    )
    assert checked.status_code == 200 and "No problems found" in checked.text
    assert iam.list_user_policies(UserName="target")["PolicyNames"] == []
    saved = admin.post(
        "/console/iam/users/target/new-inline",
        {"policy_name": "Assume", "document": good, "intent": "save"},
    )
    assert saved.status_code == 303
    assert json.loads(
        json.dumps(iam.get_user_policy(UserName="target", PolicyName="Assume")["PolicyDocument"])
    ) == json.loads(good)


def test_managed_policy_create_edit_attach_delete(admin: Console) -> None:
    iam = root_client(admin.server, "iam")
    account = admin.server.management_account_id
    iam.create_user(UserName="holder")
    first = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
    created = admin.post(
        "/console/iam/policies/new",
        {"policy_name": "ReadLogs", "description": "d", "document": first, "intent": "save"},
    )
    assert created.status_code == 303
    arn = f"arn:aws:iam::{account}:policy/ReadLogs"
    attached = admin.post("/console/iam/users/holder/attach", {"policy_arn": arn})
    assert attached.status_code == 303
    assert [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="holder")[
        "AttachedPolicies"]] == [arn]
    # Version 1 needs 2012-10-17 when managed.
    old_version = json.dumps({"Version": "2008-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    refused = admin.post("/console/iam/policy/edit",
                         {"arn": arn, "document": old_version, "intent": "save"})
    assert refused.status_code == 400
    assert "Policy document must be version 2012-10-17 or greater." in refused.text
    for number in range(6):  # more than IAM's five versions: the oldest is dropped
        doc = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b{number}/*"}]})
        assert admin.post("/console/iam/policy/edit",
                          {"arn": arn, "document": doc, "intent": "save"}).status_code == 303
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert len(versions) == 5
    default = next(v for v in versions if v["IsDefaultVersion"])["VersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=default)["PolicyVersion"]
    assert document["Document"]["Statement"][0]["Resource"] == "arn:aws:s3:::b5/*"
    view = admin.http.get(f"/console/iam/policy?arn={arn}")
    assert view.status_code == 200 and "arn:aws:s3:::b5/*" in view.text and "holder" in view.text
    deleted = admin.post("/console/iam/policy/delete", {"arn": arn})
    assert deleted.status_code == 303
    assert arn not in {p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]}


def test_role_for_another_account_with_external_id(admin: Console) -> None:
    iam = root_client(admin.server, "iam")
    partner = admin.server.create_account("partner")
    partner_id = partner["AccountId"]
    bad = admin.post("/console/iam/new-role", {
        "entity": "account", "account_id": "12345", "role_name": "Partner"})
    assert bad.status_code == 400 and "12-digit" in bad.text
    response = admin.post("/console/iam/new-role", {
        "entity": "account", "account_id": partner_id, "require_external_id": "on",
        "external_id": "shared-secret-1", "role_name": "PartnerRead",
        "description": "Partner reads logs"})
    assert response.status_code == 303
    role = iam.get_role(RoleName="PartnerRead")["Role"]
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{partner_id}:root"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "shared-secret-1"}}
    page = admin.http.get("/console/iam/roles/PartnerRead?tab=trust")
    assert role["Arn"] in page.text and "shared-secret-1" in page.text
    # The partner's user may assume it with the external ID, not without.
    partner_iam = client(admin.server, "iam", partner["RootAccessKeyId"],
                         partner["RootSecretAccessKey"])
    partner_iam.create_user(UserName="pat")
    partner_iam.put_user_policy(UserName="pat", PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]}]}))
    key = partner_iam.create_access_key(UserName="pat")["AccessKey"]
    sts = client(admin.server, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(Exception, match="AccessDenied"):
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="ss")
    assumed = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="ss",
                              ExternalId="shared-secret-1")
    assert assumed["AssumedRoleUser"]["Arn"].endswith(":assumed-role/PartnerRead/ss")


def test_s3_browse_details_and_download(admin: Console) -> None:
    s3 = root_client(admin.server, "s3")
    s3.create_bucket(Bucket="console-logs")
    small = b"hello console\n"
    large = bytes(range(256)) * 9000  # 2.3 MB: streamed, not buffered
    s3.put_object(Bucket="console-logs", Key="AWSLogs/111/a.json", Body=small,
                  Metadata={"origin": "test"})
    s3.put_object(Bucket="console-logs", Key="AWSLogs/111/big.bin", Body=large)
    s3.put_object(Bucket="console-logs", Key="AWSLogs/222/b.json", Body=b"{}")
    s3.put_object(Bucket="console-logs", Key="top.txt", Body=b"top")
    listing = admin.http.get("/console/s3")
    assert "console-logs" in listing.text
    root = admin.http.get("/console/s3/buckets/console-logs")
    assert root.status_code == 200
    assert "AWSLogs/" in root.text and "top.txt" in root.text and "a.json" not in root.text
    level = admin.http.get("/console/s3/buckets/console-logs", params={"prefix": "AWSLogs/"})
    assert "111/" in level.text and "222/" in level.text and "top.txt" not in level.text
    leaf = admin.http.get("/console/s3/buckets/console-logs", params={"prefix": "AWSLogs/111/"})
    assert "a.json" in leaf.text and "big.bin" in leaf.text and "b.json" not in leaf.text
    detail = admin.http.get("/console/s3/object/console-logs", params={"key": "AWSLogs/111/a.json"})
    assert detail.status_code == 200
    assert "x-amz-meta-origin" in detail.text and f"({len(small)} bytes)" in detail.text
    got = admin.http.get("/console/s3/download/console-logs", params={"key": "AWSLogs/111/a.json"})
    assert got.status_code == 200 and got.content == small
    assert got.headers["content-disposition"].startswith('attachment; filename="a.json"')
    assert got.headers["content-type"] == "application/octet-stream"
    head = admin.http.head("/console/s3/download/console-logs",
                           params={"key": "AWSLogs/111/a.json"})
    assert head.status_code == 200 and head.headers["content-length"] == str(len(small))
    big = admin.http.get("/console/s3/download/console-logs", params={"key": "AWSLogs/111/big.bin"})
    assert big.status_code == 200 and big.content == large
    missing = admin.http.get("/console/s3/object/console-logs", params={"key": "nope"})
    assert missing.status_code == 404


def test_s3_requests_for_a_bucket_named_console_stay_s3(server: ServerProcess) -> None:
    s3 = root_client(server, "s3")
    s3.create_bucket(Bucket="console")
    s3.put_object(Bucket="console", Key="home", Body=b"not a page")
    assert s3.get_object(Bucket="console", Key="home")["Body"].read() == b"not a page"


def test_event_history_and_trails_pages(admin: Console) -> None:
    s3 = root_client(admin.server, "s3")
    ct = root_client(admin.server, "cloudtrail")
    account = admin.server.management_account_id
    bucket = f"trail-{account}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]}))
    ct.create_trail(Name="main", S3BucketName=bucket, EnableLogFileValidation=True)
    ct.start_logging(Name="main")
    trails = admin.http.get("/console/cloudtrail/trails")
    assert trails.status_code == 200
    assert "main" in trails.text and "Logging" in trails.text and bucket in trails.text
    history = admin.http.get(
        "/console/cloudtrail", params={"attribute": "EventName", "value": "CreateTrail"}
    )
    assert history.status_code == 200
    rows = re.findall(r'<a href="/console/cloudtrail/event\?id=([^"]+)">([^<]+)</a>', history.text)
    assert rows and {name for _, name in rows} == {"CreateTrail"}
    event = admin.http.get(f"/console/cloudtrail/event?id={rows[0][0]}")
    assert event.status_code == 200 and "&#34;eventName&#34;: &#34;CreateTrail&#34;" in event.text
    bad_time = admin.http.get("/console/cloudtrail", params={"start": "yesterday"})
    assert bad_time.status_code == 400


def test_simulator_shows_decisions_and_reasons(admin: Console) -> None:
    account = admin.server.management_account_id
    iam = root_client(admin.server, "iam")
    iam.create_user(UserName="sim")
    iam.put_user_policy(UserName="sim", PolicyName="ReadOne", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}))
    response = admin.post("/console/simulator", {
        "mode": "principal", "principal_arn": f"arn:aws:iam::{account}:user/sim",
        "actions": "s3:GetObject\ns3:PutObject", "resources": "arn:aws:s3:::b/k"})
    assert response.status_code == 200
    text = response.text
    assert "allowed" in text and "implicitDeny" in text
    assert "Denied because no identity-based policy allows the s3:PutObject action." in text
    assert "Matched: ReadOne (user)" in text
    assert "&#34;Resource&#34;: &#34;arn:aws:s3:::b/*&#34;" in text  # the statement itself
    custom = admin.post("/console/simulator", {
        "mode": "custom", "actions": "s3:GetObject", "resources": "arn:aws:s3:::b/k",
        "context": "aws:SourceIp=10.0.0.1",
        "policy": json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
             "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}, indent=2)})
    assert custom.status_code == 200
    assert "explicitDeny" in custom.text
    assert "Reason: User: arn:aws:iam::" in custom.text
    assert "with an explicit deny in an identity-based policy" in custom.text


def test_unsigned_visitors_are_sent_to_signin(server: ServerProcess) -> None:
    visitor = httpx.Client(base_url=server.endpoint)
    response = visitor.get("/console/iam/roles?tab=trust")
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/console/signin?next=%2Fconsole%2Fiam%2Froles%3Ftab%3Dtrust")
    assert visitor.get("/console").headers["location"] == "/console/signin"
    css = visitor.get("/console/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert visitor.get("/console/static/../app.py").status_code in (303, 404)
