"""`Trailgate`: an isolated server plus helpers that hand back ready boto3 sessions per account,
user and role session, so cross-account designs can be tested in a few lines with real
enforcement.

    with Trailgate() as tg:
        a = tg.management
        b = tg.create_account("B")
        role = a.create_role("Reader", trust_accounts=[b.id], policy=READ_LOGS)
        bob = b.create_user("bob", policy=allow_assume(role.arn))
        s3 = bob.assume_role(role.arn).client("s3")
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from trailgate.testing.server import ServerProcess, start_server

REGION = "us-east-1"
_CLIENT_CONFIG = BotoConfig(retries={"max_attempts": 1, "mode": "standard"})


def _text(policy: str | dict[str, Any]) -> str:
    return policy if isinstance(policy, str) else json.dumps(policy)


@dataclass
class Session:
    """Credentials bound to the server's endpoint."""

    endpoint: str
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    @property
    def boto3(self) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
            region_name=REGION,
        )

    def client(self, service: str, **kwargs: Any) -> Any:
        kwargs.setdefault("config", _CLIENT_CONFIG)
        return self.boto3.client(service, endpoint_url=self.endpoint, **kwargs)

    def assume_role(
        self,
        role_arn: str,
        *,
        session_name: str | None = None,
        external_id: str | None = None,
        **kwargs: Any,
    ) -> Session:
        params: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": session_name or f"s-{uuid.uuid4().hex[:12]}",
            **kwargs,
        }
        if external_id is not None:
            params["ExternalId"] = external_id
        creds = self.client("sts").assume_role(**params)["Credentials"]
        return Session(
            self.endpoint, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
        )


@dataclass
class User(Session):
    name: str = ""
    arn: str = ""


@dataclass
class Role:
    name: str
    arn: str


class Account(Session):
    """An account, acting as its root user."""

    def __init__(self, endpoint: str, account_id: str, key: str, secret: str) -> None:
        super().__init__(endpoint, key, secret)
        self.id = account_id

    def create_user(
        self,
        name: str,
        *,
        policy: str | dict[str, Any] | None = None,
        managed_policies: tuple[str, ...] = (),
    ) -> User:
        iam = self.client("iam")
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        if policy is not None:
            iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=_text(policy))
        for policy_arn in managed_policies:
            iam.attach_user_policy(UserName=name, PolicyArn=policy_arn)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return User(self.endpoint, key["AccessKeyId"], key["SecretAccessKey"], None, name, arn)

    def create_role(
        self,
        name: str,
        *,
        trust: str | dict[str, Any] | None = None,
        trust_accounts: list[str] | None = None,
        external_id: str | None = None,
        policy: str | dict[str, Any] | None = None,
        max_session_duration: int = 3600,
    ) -> Role:
        if trust is None:
            statement: dict[str, Any] = {
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in trust_accounts or []]},
                "Action": "sts:AssumeRole",
            }
            if external_id is not None:
                statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
            trust = {"Version": "2012-10-17", "Statement": [statement]}
        iam = self.client("iam")
        arn = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=_text(trust),
            MaxSessionDuration=max_session_duration,
        )["Role"]["Arn"]
        if policy is not None:
            iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=_text(policy))
        return Role(name, arn)


class Trailgate:
    """A server of its own (subprocess, loopback, free port, fresh data dir), stopped on exit."""

    def __init__(
        self,
        *,
        data_dir: Path | None = None,
        database_url: str | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        self._kwargs = {
            "data_dir": data_dir,
            "database_url": database_url,
            "extra_args": extra_args or [],
        }
        self.server: ServerProcess | None = None

    def start(self) -> Trailgate:
        self.server = start_server(**self._kwargs)  # type: ignore[arg-type]
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> Trailgate:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        assert self.server is not None, "start() first"
        return self.server.endpoint

    @property
    def management(self) -> Account:
        assert self.server is not None, "start() first"
        root = self.server.root
        return Account(
            self.endpoint,
            self.server.management_account_id,
            root["RootAccessKeyId"],
            root["RootSecretAccessKey"],
        )

    def create_account(self, name: str, account_id: str | None = None) -> Account:
        assert self.server is not None, "start() first"
        made = self.server.create_account(name, account_id)
        return Account(
            self.endpoint, made["AccountId"], made["RootAccessKeyId"], made["RootSecretAccessKey"]
        )
