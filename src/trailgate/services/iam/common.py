"""Shared building blocks of the IAM operations: ARNs, AWS error texts, timestamps, encoding.

Error texts are IAM's own (recorded answers of the real service); each helper names the
situation, so operation bodies read like the AWS documentation of their errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from trailgate.errors import AwsError

if TYPE_CHECKING:
    from trailgate.services.registry import CallContext

PARTITION = "aws"
AWS_OWNER = "aws"
"""The `account_id` of AWS managed policies (their ARNs read arn:aws:iam::aws:policy/...)."""
DEFAULT_PATH = "/"

_POLICY_ARN = re.compile(r"arn:(aws[a-z-]*):iam::(\d{12}|aws):policy(/.*)?/([^/]+)")


def caller_account(ctx: CallContext) -> str:
    """The account whose IAM the caller manages: always the caller's own."""
    account = ctx.principal.account_id
    if not account:
        raise AwsError("AccessDenied", "Anonymous users cannot call IAM.", 403)
    return account


def utc(moment: datetime | None) -> datetime | None:
    """Stored timestamps come back naive from SQLite; they are always UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def user_arn(account: str, path: str, name: str) -> str:
    return f"arn:{PARTITION}:iam::{account}:user{path}{name}"


def group_arn(account: str, path: str, name: str) -> str:
    return f"arn:{PARTITION}:iam::{account}:group{path}{name}"


def role_arn(account: str, path: str, name: str) -> str:
    return f"arn:{PARTITION}:iam::{account}:role{path}{name}"


def policy_arn(account: str, path: str, name: str) -> str:
    return f"arn:{PARTITION}:iam::{account}:policy{path}{name}"


def root_arn(account: str) -> str:
    return f"arn:{PARTITION}:iam::{account}:root"


def is_policy_arn(arn: str) -> bool:
    return _POLICY_ARN.fullmatch(arn) is not None


def looks_like_arn(value: str) -> bool:
    return value.startswith("arn:") and len(value.split(":", 5)) == 6


def stored_document(text: str) -> str:
    """A policy document for an output shape: exactly as stored.

    IAM sends documents URL-encoded; the query codec does that for every member of the
    model's policyDocumentType, so operations hand over the plain text.
    """
    return text


@contextmanager
def unique_or(error: AwsError) -> Iterator[None]:
    """Turn a unique-constraint race (two creates of one name at once) into IAM's error."""
    try:
        yield
    except IntegrityError as exc:
        raise error from exc


# -- error texts ---------------------------------------------------------------------------


def no_such_entity(message: str) -> AwsError:
    return AwsError("NoSuchEntity", message, 404)


def no_such_user(name: str) -> AwsError:
    return no_such_entity(f"The user with name {name} cannot be found.")


def no_such_group(name: str) -> AwsError:
    return no_such_entity(f"The group with name {name} cannot be found.")


def no_such_role(name: str) -> AwsError:
    return no_such_entity(f"The role with name {name} cannot be found.")


def no_such_inline_policy(owner_type: str, name: str) -> AwsError:
    return no_such_entity(f"The {owner_type} policy with name {name} cannot be found.")


def policy_not_attachable(arn: str) -> AwsError:
    return no_such_entity(f"Policy {arn} does not exist or is not attachable.")


def policy_not_found(arn: str) -> AwsError:
    return no_such_entity(f"Policy {arn} was not found.")


def policy_version_not_found(arn: str, version_id: str) -> AwsError:
    return no_such_entity(f"Policy {arn} version {version_id} does not exist or is not attachable.")


def boundary_not_found(arn: str) -> AwsError:
    return no_such_entity(f"Scope ARN: {arn} does not exist or is not attachable.")


def already_exists(message: str) -> AwsError:
    return AwsError("EntityAlreadyExists", message, 409)


def delete_conflict(message: str) -> AwsError:
    return AwsError("DeleteConflict", message, 409)


def limit_exceeded(message: str) -> AwsError:
    return AwsError("LimitExceeded", message, 409)


def invalid_input(message: str) -> AwsError:
    return AwsError("InvalidInput", message, 400)


def validation_error(message: str) -> AwsError:
    return AwsError("ValidationError", message, 400)


def invalid_arn(arn: str, code: str = "ValidationError") -> AwsError:
    return AwsError(code, f"ARN {arn} is not valid.", 400)


def non_user_credentials() -> AwsError:
    return validation_error("Must specify userName when calling with non-User credentials")


MUST_DETACH_POLICIES = "Cannot delete entity, must detach all policies first."
MUST_DELETE_POLICIES = "Cannot delete entity, must delete policies first."
MUST_REMOVE_USERS = "Cannot delete entity, must remove users from group first."
MUST_DELETE_KEYS = "Cannot delete entity, must delete access keys first."
MUST_DELETE_LOGIN_PROFILE = "Cannot delete entity, must delete login profile first."
