"""The endpoint over real sockets: health, authentication of every request, Organizations,
restart with state kept, and several workers sharing one store. Clients: boto3 and the AWS CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from trailgate.testing.clock import client_clock_at
from trailgate.testing.server import ServerProcess

NO_RETRY = BotoConfig(retries={"max_attempts": 1, "mode": "standard"})


def client(server: ServerProcess, service: str, key: str, secret: str, token: str | None = None):
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=NO_RETRY,
    )


def root_client(server: ServerProcess, service: str):
    return client(
        server, service, server.root["RootAccessKeyId"], server.root["RootSecretAccessKey"]
    )


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    err = exc.value.response
    return (
        err["Error"]["Code"],
        err["ResponseMetadata"]["HTTPStatusCode"],
        err["Error"].get("Message", ""),
    )


def test_health(server: ServerProcess) -> None:
    with urllib.request.urlopen(f"{server.endpoint}/_trailgate/health") as resp:
        body = json.loads(resp.read())
    assert resp.status == 200
    assert body["managementAccountId"] == server.management_account_id
    assert len(body["managementAccountId"]) == 12


def test_get_caller_identity_as_management_root(server: ServerProcess) -> None:
    ident = root_client(server, "sts").get_caller_identity()
    account = server.management_account_id
    assert ident["Account"] == account
    assert ident["Arn"] == f"arn:aws:iam::{account}:root"
    assert ident["UserId"] == account


def test_get_caller_identity_as_admin_created_account(server: ServerProcess) -> None:
    made = server.create_account("B", "222222222222")
    assert made["AccountId"] == "222222222222"
    assert made["RootAccessKeyId"].startswith("AKIA")
    sts = client(server, "sts", made["RootAccessKeyId"], made["RootSecretAccessKey"])
    assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::222222222222:root"
    listed = server.admin("account", "list")
    assert {a["Id"] for a in listed} == {server.management_account_id, "222222222222"}


def test_wrong_secret_is_signature_does_not_match(server: ServerProcess) -> None:
    sts = client(server, "sts", server.root["RootAccessKeyId"], "x" * 40)
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    code, status, message = error_of(exc)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert "signature we calculated does not match" in message


def test_unknown_key_is_invalid_client_token_id(server: ServerProcess) -> None:
    sts = client(server, "sts", "AKIAAAAAAAAAAAAAAAAA", "x" * 40)
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert error_of(exc)[:2] == ("InvalidClientTokenId", 403)


def _signed_request(
    server: ServerProcess, body: str, when: dt.datetime | None = None
) -> AWSRequest:
    creds = Credentials(server.root["RootAccessKeyId"], server.root["RootSecretAccessKey"])
    request = AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    signer = SigV4Auth(creds, "sts", "us-east-1")
    if when is None:
        signer.add_auth(request)
    else:
        with client_clock_at(when):
            signer.add_auth(request)
    return request


def _send(request: AWSRequest) -> tuple[int, str]:
    prepared = request.prepare()
    req = urllib.request.Request(
        prepared.url,
        data=prepared.body.encode() if isinstance(prepared.body, str) else prepared.body,
        headers=dict(prepared.headers),
        method=prepared.method,
    )
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_tampered_body_fails_the_signature(server: ServerProcess) -> None:
    request = _signed_request(server, "Action=GetCallerIdentity&Version=2011-06-15")
    assert _send(request)[0] == 200
    request.data = "Action=GetSessionToken&Version=2011-06-15"
    status, body = _send(request)
    assert status == 403 and "<Code>SignatureDoesNotMatch</Code>" in body


def test_tampered_header_fails_the_signature(server: ServerProcess) -> None:
    request = _signed_request(server, "Action=GetCallerIdentity&Version=2011-06-15")
    stamp = request.headers["X-Amz-Date"]
    # Move the signed time by one second (always a change, never a skew).
    seconds = int(stamp[-3:-1])
    request.headers["X-Amz-Date"] = stamp[:-3] + f"{(seconds + 1) % 60:02d}Z"
    status, body = _send(request)
    assert status == 403 and "<Code>SignatureDoesNotMatch</Code>" in body


def test_skewed_clock_is_rejected(server: ServerProcess) -> None:
    # STS and IAM answer a request signed more than 15 minutes off with SignatureDoesNotMatch
    # "Signature expired: ..." (what AWS sends); S3 answers RequestTimeTooSkewed (tests/s3).
    for minutes in (-20, 20):
        when = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
        request = _signed_request(server, "Action=GetCallerIdentity&Version=2011-06-15", when)
        status, body = _send(request)
        assert status == 403, body
        assert "<Code>SignatureDoesNotMatch</Code>" in body
        assert "Signature expired" in body or "Signature not yet current" in body


def test_missing_authentication_is_rejected(server: ServerProcess) -> None:
    req = urllib.request.Request(
        server.endpoint + "/",
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req)
    assert exc.value.code == 403
    assert "MissingAuthenticationToken" in exc.value.read().decode()


def test_presigned_get_caller_identity(server: ServerProcess) -> None:
    sts = root_client(server, "sts")
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    with urllib.request.urlopen(url) as resp:
        body = resp.read().decode()
    assert f"<Arn>arn:aws:iam::{server.management_account_id}:root</Arn>" in body
    tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(tampered)
    assert exc.value.code == 403
    # Without HttpMethod botocore signs a query-protocol URL for POST (its method for STS):
    # it is valid for POST only.
    post_url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60)
    with urllib.request.urlopen(urllib.request.Request(post_url, data=b"", method="POST")) as resp:
        assert resp.status == 200
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(post_url)
    assert exc.value.code == 403


def test_presigned_url_expires(server: ServerProcess) -> None:
    sts = root_client(server, "sts")
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=1, HttpMethod="GET")
    server.advance_clock(2)
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(url)
    assert exc.value.code == 403


def test_unknown_action_is_invalid_action(server: ServerProcess) -> None:
    request = _signed_request(server, "Action=NoSuchThing&Version=2011-06-15")
    status, body = _send(request)
    assert status == 400 and "InvalidAction" in body


def test_organizations_flow(server: ServerProcess) -> None:
    org = root_client(server, "organizations")
    described = org.describe_organization()["Organization"]
    assert described["MasterAccountId"] == server.management_account_id
    assert described["Id"].startswith("o-")
    status = org.create_account(Email="c@example.com", AccountName="C")["CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED"
    new_id = status["AccountId"]
    again = org.describe_create_account_status(CreateAccountRequestId=status["Id"])
    assert again["CreateAccountStatus"]["AccountId"] == new_id
    ids = {a["Id"] for a in org.list_accounts()["Accounts"]}
    assert ids == {server.management_account_id, new_id}
    assert org.describe_account(AccountId=new_id)["Account"]["Name"] == "C"
    with pytest.raises(ClientError) as exc:
        org.describe_account(AccountId="999999999999")
    assert error_of(exc)[0] == "AccountNotFoundException"
    dup = org.create_account(Email="c@example.com", AccountName="C2")["CreateAccountStatus"]
    assert dup["State"] == "FAILED" and dup["FailureReason"] == "EMAIL_ALREADY_EXISTS"
    # The new account's OrganizationAccountAccessRole trusts the management account.
    sts = root_client(server, "sts")
    with pytest.raises(ClientError) as exc:
        sts.assume_role(
            RoleArn=f"arn:aws:iam::{new_id}:role/OrganizationAccountAccessRole",
            RoleSessionName="admin",
        )
    # The management *root* may not assume roles; an IAM user of it could.
    assert error_of(exc)[:2] == ("AccessDenied", 403)


def test_standalone_account_is_not_in_the_organization(server: ServerProcess) -> None:
    made = server.create_account("Standalone")
    org = client(server, "organizations", made["RootAccessKeyId"], made["RootSecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        org.describe_organization()
    assert error_of(exc)[0] == "AWSOrganizationsNotInUseException"


def _cli(
    server: ServerProcess, *args: str, env_endpoint: bool = False
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=server.root["RootAccessKeyId"],
        AWS_SECRET_ACCESS_KEY=server.root["RootSecretAccessKey"],
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    cmd = [str(Path(sys.executable).with_name("aws")), *args]
    if env_endpoint:
        env["AWS_ENDPOINT_URL"] = server.endpoint
    else:
        cmd += ["--endpoint-url", server.endpoint]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def test_aws_cli_get_caller_identity(server: ServerProcess) -> None:
    for env_endpoint in (False, True):
        out = _cli(server, "sts", "get-caller-identity", env_endpoint=env_endpoint)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["Account"] == server.management_account_id


def test_state_survives_restart(server_factory) -> None:
    server = server_factory()
    made = server.create_account("Keep", "333333333333")
    org = root_client(server, "organizations")
    created = org.create_account(Email="k@example.com", AccountName="K")["CreateAccountStatus"]
    server = server.restart()
    sts = client(server, "sts", made["RootAccessKeyId"], made["RootSecretAccessKey"])
    assert sts.get_caller_identity()["Account"] == "333333333333"
    ids = {a["Id"] for a in root_client(server, "organizations").list_accounts()["Accounts"]}
    assert created["AccountId"] in ids


def test_server_killed_keeps_acknowledged_writes(server_factory) -> None:
    server = server_factory()
    org = root_client(server, "organizations")
    created = org.create_account(Email="x@example.com", AccountName="X")["CreateAccountStatus"]
    server.kill()
    server = server.restart()
    ids = {a["Id"] for a in root_client(server, "organizations").list_accounts()["Accounts"]}
    assert created["AccountId"] in ids


def test_two_workers_share_state(server_factory) -> None:
    server = server_factory(extra_args=["--workers", "2"])
    org = root_client(server, "organizations")
    made = [
        org.create_account(Email=f"w{i}@example.com", AccountName=f"W{i}")["CreateAccountStatus"]
        for i in range(6)
    ]
    # Fresh connections land on either worker; every one sees every account.
    for _ in range(6):
        ids = {a["Id"] for a in root_client(server, "organizations").list_accounts()["Accounts"]}
        assert {m["AccountId"] for m in made} <= ids
    new = server.create_account("Late")
    for _ in range(6):
        sts = client(server, "sts", new["RootAccessKeyId"], new["RootSecretAccessKey"])
        assert sts.get_caller_identity()["Account"] == new["AccountId"]


def test_root_key_from_environment(server_factory) -> None:
    env = {
        "TRAILGATE_ROOT_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "TRAILGATE_ROOT_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    }
    server = server_factory(env=env)
    assert not (server.data_dir / "root-credentials.json").exists()
    sts = client(
        server, "sts", env["TRAILGATE_ROOT_ACCESS_KEY_ID"], env["TRAILGATE_ROOT_SECRET_ACCESS_KEY"]
    )
    assert sts.get_caller_identity()["Account"] == server.management_account_id


def test_clients_can_use_trailgate_as_an_http_proxy(server: ServerProcess) -> None:
    # Requests arrive in absolute form (`GET http://sts.amazonaws.com/ HTTP/1.1`) and are
    # routed by their host: STS, IAM, and S3 in virtual-hosted style.
    config = BotoConfig(
        proxies={"http": server.endpoint},
        retries={"max_attempts": 1},
        s3={"addressing_style": "virtual"},
    )
    kwargs = {
        "region_name": "us-east-1",
        "aws_access_key_id": server.root["RootAccessKeyId"],
        "aws_secret_access_key": server.root["RootSecretAccessKey"],
        "config": config,
    }
    sts = boto3.client("sts", endpoint_url="http://sts.amazonaws.com", **kwargs)
    assert sts.get_caller_identity()["Account"] == server.management_account_id
    iam = boto3.client("iam", endpoint_url="http://iam.amazonaws.com", **kwargs)
    assert iam.list_users()["Users"] == []
    s3 = boto3.client("s3", endpoint_url="http://s3.amazonaws.com", **kwargs)
    s3.create_bucket(Bucket="proxied-bucket")
    s3.put_object(Bucket="proxied-bucket", Key="a key", Body=b"through the proxy")
    body = s3.get_object(Bucket="proxied-bucket", Key="a key")["Body"].read()
    assert body == b"through the proxy"


def test_absolute_form_is_routed_by_the_uri_host_not_the_host_header(
    server: ServerProcess,
) -> None:
    # RFC 9112: with an absolute-form target the URI's host decides, not the Host header. The
    # URI names a virtual-hosted bucket, the Host header only S3: a ListObjects of the bucket
    # must come back, not a ListBuckets.
    import socket

    root_client(server, "s3").create_bucket(Bucket="absolute-form")
    creds = Credentials(server.root["RootAccessKeyId"], server.root["RootSecretAccessKey"])
    request = AWSRequest(method="GET", url="http://absolute-form.s3.amazonaws.com/")
    request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    request.headers["Host"] = "s3.amazonaws.com"  # the signature covers Host as sent
    S3SigV4Auth(creds, "s3", "us-east-1").add_auth(request)
    lines = ["GET http://absolute-form.s3.amazonaws.com/ HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in request.headers.items()]
    raw = ("\r\n".join(lines) + "\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), reply[:500]
    assert b"<ListBucketResult" in body and b"<Name>absolute-form</Name>" in body
