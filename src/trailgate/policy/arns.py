"""ARN syntax as IAM checks it when a policy is written (not what an ARN refers to)."""

from __future__ import annotations

import re
from typing import NamedTuple

PARTITIONS = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)

_ACCOUNT_ID = re.compile(r"\d{12}")
# IAM unique ids (AIDA... users, AROA... roles, ...). IAM stores a deleted principal in a policy
# as its unique id, so documents read back from AWS may contain them.
_UNIQUE_ID = re.compile(r"A[A-Z0-9]{3}[A-Z0-9]{12,124}")
_WILDCARDS = frozenset("*?")
_IAM_PRINCIPAL_RESOURCE = re.compile(r"root|(?:user|role|federated-user)/\S+")
_STS_PRINCIPAL_RESOURCE = re.compile(r"(?:assumed-role/[^/\s]+|federated-user)/[^/\s]+")


class Arn(NamedTuple):
    partition: str
    service: str
    region: str
    account: str
    resource: str


def split_arn(text: str) -> Arn | None:
    """The six ARN fields, or None when `text` does not have the arn:p:s:r:a:res shape."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def is_account_id(text: str) -> bool:
    return _ACCOUNT_ID.fullmatch(text) is not None


def resource_problem(resource: str) -> str | None:
    """Why `resource` cannot appear in a Resource/NotResource element, or None if it can."""
    if resource == "*":
        return None
    arn = split_arn(resource)
    if arn is None:
        return f'Resource {resource} must be in ARN format or "*".'
    if arn.partition not in PARTITIONS:
        return f'Partition "{arn.partition}" is not valid for resource "{resource}".'
    if not arn.service or not _WILDCARDS.isdisjoint(arn.service):
        return "Resource vendor must be fully qualified and cannot contain regexes."
    return None


def is_valid_aws_principal(value: str) -> bool:
    """True for what IAM accepts under Principal {"AWS": ...}: "*", an account, a principal ARN."""
    if value == "*" or is_account_id(value) or _UNIQUE_ID.fullmatch(value) is not None:
        return True
    if not _WILDCARDS.isdisjoint(value):
        return False
    arn = split_arn(value)
    if arn is None or arn.partition not in PARTITIONS or arn.region or not is_account_id(
        arn.account
    ):
        return False
    if arn.service == "iam":
        return _IAM_PRINCIPAL_RESOURCE.fullmatch(arn.resource) is not None
    if arn.service == "sts":
        return _STS_PRINCIPAL_RESOURCE.fullmatch(arn.resource) is not None
    return False
