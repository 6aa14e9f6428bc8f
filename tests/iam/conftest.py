"""Fixtures for calling IAM operations directly (no HTTP): a Runtime on a fresh store with the
AWS managed policies installed, and `Caller`s that invoke registered operations as a principal,
optionally through the real authorization step (operation's checks + policy engine)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.iam.shape_check import check_output

from trailgate import authorization
from trailgate.auth.principal import Principal
from trailgate.config import Config
from trailgate.errors import AwsError
from trailgate.runtime import Runtime
from trailgate.services import accounts, registry
from trailgate.services.iam import ensure_aws_managed_policies, entities
from trailgate.services.registry import AuthzCheck, CallContext


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Iterator[Runtime]:
    rt = Runtime.open(Config(data_dir=tmp_path / "data", database_url=database_url))
    with rt.db.begin() as conn:
        ensure_aws_managed_policies(conn)
    yield rt
    rt.close()


class Caller:
    """Calls IAM operations as one principal."""

    def __init__(self, runtime: Runtime, principal: Principal) -> None:
        self.runtime = runtime
        self.principal = principal

    @property
    def account(self) -> str:
        assert self.principal.account_id
        return self.principal.account_id

    def ctx(self) -> CallContext:
        return CallContext(
            runtime=self.runtime,
            principal=self.principal,
            request_id="test-request",
            now=datetime.now(UTC),
            region="us-east-1",
            source_ip="127.0.0.1",
            user_agent="pytest",
        )

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """The operation body alone (no authorization)."""
        spec = registry.lookup("iam", operation)
        assert spec is not None, operation
        output = spec.func(self.ctx(), params)
        check_output(operation, output)
        return output

    def checks(self, operation: str, **params: Any) -> list[AuthzCheck]:
        spec = registry.lookup("iam", operation)
        assert spec is not None and spec.authorize is not None
        return list(spec.authorize(self.ctx(), params))

    def invoke(self, operation: str, **params: Any) -> dict[str, Any]:
        """Authorize like the pipeline does, then run the body."""
        spec = registry.lookup("iam", operation)
        assert spec is not None, operation
        ctx = self.ctx()
        if spec.authorize is not None:
            for check in spec.authorize(ctx, params):
                result = authorization.evaluate_check(ctx, check)
                if not result.allowed:
                    raise authorization.access_denied("iam", result)
        output = spec.func(ctx, params)
        check_output(operation, output)
        return output

    def fails(self, operation: str, **params: Any) -> AwsError:
        with pytest.raises(AwsError) as exc:
            self.call(operation, **params)
        return exc.value

    def denied(self, operation: str, **params: Any) -> AwsError:
        with pytest.raises(AwsError) as exc:
            self.invoke(operation, **params)
        return exc.value

    def as_user(self, name: str) -> Caller:
        """A caller signed in as IAM user `name` of this caller's account."""
        with self.runtime.db.read() as conn:
            user = entities.require_user(conn, self.account, name)
        return Caller(
            self.runtime,
            Principal.iam_user(self.account, user.name, user.id, path=user.path,
                               access_key_id="AKIATESTTESTTESTTEST"),
        )

    def as_role_session(self, role_name: str, session: str = "s1",
                        access_key_id: str | None = None) -> Caller:
        with self.runtime.db.read() as conn:
            role = entities.require_role(conn, self.account, role_name)
        return Caller(
            self.runtime,
            Principal.assumed_role(self.account, role.name, role.id, session,
                                   role_path=role.path, access_key_id=access_key_id,
                                   token_issue_time=datetime.now(UTC)),
        )


@pytest.fixture
def root(runtime: Runtime) -> Caller:
    return Caller(runtime, Principal.root(runtime.management_account_id))


@pytest.fixture
def other_root(runtime: Runtime) -> Caller:
    """The root of a second account."""
    with runtime.db.begin() as conn:
        created = accounts.create_account(conn, runtime.sealer, name="second")
    return Caller(runtime, Principal.root(created.account.id))


ALLOW_ALL = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
)
S3_READ = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", '
    '"s3:List*"], "Resource": "*"}]}'
)
TRUST_EC2 = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
    '"ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
)
