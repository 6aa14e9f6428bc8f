"""Checks an operation's output dict against the botocore model's output shape: every member
known, every required member present, values of the modelled types."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import botocore.session
from botocore.model import Shape

# Members IAM leaves out although the model calls them required (recorded from IAM): the root
# user has no Path or UserName, root access keys no UserName.
KNOWN_OMISSIONS = {
    ("GetUser", "User.Path"),
    ("GetUser", "User.UserName"),
    ("CreateAccessKey", "AccessKey.UserName"),
    # Not recorded from IAM: the root's login profile, like its keys, carries no UserName.
    ("CreateLoginProfile", "LoginProfile.UserName"),
    ("GetLoginProfile", "LoginProfile.UserName"),
}


@cache
def _model():
    return botocore.session.get_session().get_service_model("iam")


def check_output(operation: str, output: dict[str, Any]) -> None:
    shape = _model().operation_model(operation).output_shape
    if shape is None:
        assert output == {}, f"{operation} has no output members but returned {output!r}"
        return
    _check(operation, shape, output, "")


def _check(operation: str, shape: Shape, value: Any, path: str) -> None:
    kind = shape.type_name
    where = f"{operation}: {path or '<output>'}"
    if kind == "structure":
        assert isinstance(value, dict), where
        for key, item in value.items():
            assert key in shape.members, f"{where}: unknown member {key}"
            _check(operation, shape.members[key], item, f"{path}.{key}".lstrip("."))
        for required in shape.required_members:
            member_path = f"{path}.{required}".lstrip(".")
            if (operation, member_path) in KNOWN_OMISSIONS:
                continue
            assert required in value, f"{where}: missing required {required}"
    elif kind == "list":
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            _check(operation, shape.member, item, f"{path}[{index}]")
    elif kind == "map":
        assert isinstance(value, dict), where
    elif kind == "string":
        assert isinstance(value, str), where
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif kind == "boolean":
        assert isinstance(value, bool), where
    elif kind == "timestamp":
        assert isinstance(value, datetime) and value.tzinfo is not None, where
    else:
        raise AssertionError(f"{where}: unexpected shape type {kind}")
