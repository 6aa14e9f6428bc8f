"""In-process calls (`pipeline.invoke`, used by the console and by service principals) get the
same validation and authorization as calls on the wire."""

from __future__ import annotations

from pathlib import Path

import pytest

from trailgate.auth.principal import Principal
from trailgate.config import Config
from trailgate.errors import AwsError
from trailgate.pipeline import invoke
from trailgate.runtime import Runtime


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Runtime:
    rt = Runtime.open(Config(data_dir=tmp_path, database_url=database_url))
    yield rt
    rt.close()


def test_invoke_runs_as_the_principal_with_authorization(runtime: Runtime) -> None:
    root = Principal.root(runtime.management_account_id)
    made = invoke(runtime, root, "iam", "CreateUser", {"UserName": "console-user"})
    assert made["User"]["Arn"].endswith(":user/console-user")
    user = Principal.iam_user(
        runtime.management_account_id, "console-user", made["User"]["UserId"]
    )
    with pytest.raises(AwsError) as denied:
        invoke(runtime, user, "iam", "CreateUser", {"UserName": "other"})
    assert denied.value.code == "AccessDenied"
    assert "no identity-based policy allows the iam:CreateUser action" in denied.value.message


def test_invoke_validates_input_like_the_wire(runtime: Runtime) -> None:
    root = Principal.root(runtime.management_account_id)
    with pytest.raises(AwsError) as bad:
        invoke(runtime, root, "iam", "CreateUser", {"UserName": "has space"})
    assert bad.value.code == "ValidationError"
    assert "userName" in bad.value.message
    with pytest.raises(AwsError) as missing:
        invoke(runtime, root, "iam", "CreateUser", {})
    assert missing.value.code == "ValidationError"
