"""Helpers of the console tests: boto3 clients for setting things up through the API, and a
small browser-like HTTP client (httpx) that signs in and posts forms with their CSRF token."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
from botocore.config import Config as BotoConfig

from trailgate.testing.server import ServerProcess

REGION = "us-east-1"
PASSWORD = "Console-Passw0rd!"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
_NO_RETRY = BotoConfig(
    retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"}
)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def client(server: ServerProcess, service: str, key_id: str, secret: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=_NO_RETRY,
    )


def root_client(server: ServerProcess, service: str) -> Any:
    root = server.root
    return client(server, service, root["RootAccessKeyId"], root["RootSecretAccessKey"])


def make_console_user(
    server: ServerProcess,
    name: str,
    *,
    policy_arns: tuple[str, ...] = (),
    inline: str | None = None,
    password: str = PASSWORD,
) -> dict[str, Any]:
    iam = root_client(server, "iam")
    user = iam.create_user(UserName=name)["User"]
    for arn in policy_arns:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    if inline is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=inline)
    iam.create_login_profile(UserName=name, Password=password)
    return user


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class Console:
    """A browser stand-in: keeps cookies, follows no redirects by itself."""

    server: ServerProcess
    http: httpx.Client

    @classmethod
    def open(cls, server: ServerProcess, **kwargs: Any) -> Console:
        return cls(server, httpx.Client(base_url=server.endpoint, timeout=30, **kwargs))

    def signin(
        self,
        user: str | None,
        password: str = PASSWORD,
        account: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        form_page = self.http.get(
            "/console/signin" + ("?as=root" if user is None else ""), headers=headers
        )
        data = {
            "csrf_token": csrf_of(form_page.text),
            "account": account or self.server.management_account_id,
            "password": password,
        }
        if user is None:
            data["as"] = "root"
        else:
            data["username"] = user
        return self.http.post("/console/signin", data=data, headers=headers)

    def token(self, path: str = "/console/home") -> str:
        page = self.http.get(path)
        assert page.status_code == 200, page.text
        return csrf_of(page.text)

    def post(self, path: str, data: dict[str, Any], *, token: str | None = None) -> httpx.Response:
        return self.http.post(path, data={"csrf_token": token or self.token(), **data})

    def close(self) -> None:
        self.http.close()
