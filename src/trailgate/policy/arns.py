"""ARN and principal syntax as IAM and S3 check it when a policy is written.

Only the shape is checked here; whether a named principal exists is the caller's business
(IAM answers the same "Invalid principal in policy" text for both).

The Resource rules follow IAM's recorded answers (CreatePolicy): the first field is never
compared with "arn", the partition is checked first, then the vendor, then region and path
rules of the global services IAM and S3, and a "legacy parser" that rejects four- and
five-field ARNs containing "::" and ARNs with an empty vendor.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import NamedTuple

PARTITIONS = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)

_ACCOUNT_ID = re.compile(r"\d{12}")
# Unique ids of IAM users (AIDA) and roles (AROA). IAM shows a deleted principal in a stored
# policy as its unique id, so documents read back from AWS and re-applied contain them.
_PRINCIPAL_UNIQUE_ID = re.compile(r"A(?:ID|RO)A[A-Z0-9]{12,124}")
_IAM_PRINCIPAL_PATH = re.compile(r"root|(?:user|role|federated-user)(?:/[^/\s]+)+")
_STS_PRINCIPAL_PATH = re.compile(r"assumed-role/[^/\s]+/[^/\s]+|federated-user/[^/\s]+")
# CloudFront origin access identities are the one IAM user name with spaces.
_CLOUDFRONT_OAI = re.compile(r"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity \S+")
_DNS_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
# Service principals are hosts under an AWS domain: "ec2.amazonaws.com", never "amazonaws.com".
_SERVICE_PRINCIPAL = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL}){{2,}}")
_HOST_NAME = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})+")
_FEDERATED_PROVIDER_PATH = re.compile(r"(?:saml-provider|oidc-provider)/\S+")
_CANONICAL_USER_ID = re.compile(r"[0-9a-f]{64}")
_WILDCARDS = frozenset("*?")

_IAM_RESOURCE_PREFIXES = (
    "user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/",
    "server-certificate/", "policy/", "sms-mfa/", "saml-provider/", "oidc-provider/",
    "report/", "access-report/",
)
IAM_RESOURCE_PATH_MESSAGE = (
    'IAM resource path must either be "*", root, or start with '
    + ", ".join(_IAM_RESOURCE_PREFIXES)
    + "."
)
# S3 resource types that live in a region (access points, Batch Operations jobs, Storage Lens,
# Access Grants); a plain bucket or object ARN must not name one.
_S3_REGIONAL_PREFIXES = (
    "accesspoint/", "job/", "storage-lens/", "storage-lens-group/", "access-grants/",
    "async-request/",
)


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


def _padded_for_message(partition: str, rest: list[str]) -> str:
    # IAM echoes the resource as a six-field ARN, "*" standing in for absent fields.
    first = rest[0] if rest and (rest[0] != "" or len(rest) > 1) else "*"
    second = rest[1] if len(rest) > 1 else "*"
    third = rest[2] if len(rest) > 2 else "*"
    fourth = ":".join(rest[3:]) if len(rest) > 3 else "*"
    return f"arn:{partition}:{first}:{second}:{third}:{fourth}"


def iam_resource_problem(resource: str) -> str | None:
    """IAM's message for a Resource/NotResource entry it rejects by format, or None."""
    if resource == "*":
        return None
    parts = resource.split(":")
    if len(parts) < 2:
        return f'Resource {resource} must be in ARN format or "*".'
    partition = parts[1]
    if partition != "*" and partition not in PARTITIONS:
        padded = _padded_for_message(partition, parts[2:])
        return f'Partition "{partition}" is not valid for resource "{padded}".'
    if len(parts) < 3 or not _WILDCARDS.isdisjoint(parts[2]):
        return "Resource vendor must be fully qualified and cannot contain regexes."
    vendor = parts[2]
    region = parts[3] if len(parts) > 3 else ""
    path = ":".join(parts[5:]) if len(parts) > 5 else ""
    if vendor == "iam":
        if region:
            return f"IAM resource {resource} cannot contain region information."
        if path not in ("*", "root") and not path.startswith(_IAM_RESOURCE_PREFIXES):
            return IAM_RESOURCE_PATH_MESSAGE
    elif vendor == "s3" and region and not path.startswith(_S3_REGIONAL_PREFIXES):
        return f"Resource {resource} can not contain region information."
    return None


def fails_legacy_resource_parse(resource: str) -> bool:
    """True for resources IAM's older parser refuses ("The policy failed legacy parsing").

    Only meaningful for a resource without a format problem.
    """
    if resource == "*":
        return False
    if "::" in resource and resource.count(":") < 5:
        return True
    parts = resource.split(":", 3)
    return len(parts) > 2 and parts[2] == ""


@lru_cache(maxsize=1024)
def _bucket_pattern_matches(pattern: str, bucket: str) -> bool:
    return fnmatchcase(bucket, pattern.replace("[", "[[]"))


def is_bucket_policy_resource(resource: str, bucket: str | None = None) -> bool:
    """True for an S3 bucket or object ARN (of `bucket`, when given) that S3 accepts in a
    bucket policy. S3 refuses "*" and other buckets there."""
    arn = split_arn(resource)
    if arn is None or arn.service != "s3" or arn.region or arn.account:
        return False
    if arn.partition not in PARTITIONS or not arn.resource:
        return False
    if bucket is None:
        return True
    bucket_part = arn.resource.split("/", 1)[0]
    if _WILDCARDS.isdisjoint(bucket_part):
        return bucket_part == bucket
    # "arn:aws:s3:::logs-*" names a set of buckets; it is valid if ours is one of them.
    return _bucket_pattern_matches(bucket_part, bucket)


def is_valid_aws_principal(value: str) -> bool:
    """True for what IAM accepts under Principal {"AWS": ...}: "*", an account, a principal ARN."""
    if value == "*" or is_account_id(value):
        return True
    if _PRINCIPAL_UNIQUE_ID.fullmatch(value) is not None:
        return True
    if _CLOUDFRONT_OAI.fullmatch(value) is not None:
        return True
    if not _WILDCARDS.isdisjoint(value):
        return False  # wildcards only as the whole value: use aws:PrincipalArn to match sets
    arn = split_arn(value)
    if arn is None or arn.partition not in PARTITIONS or arn.region:
        return False
    if not is_account_id(arn.account):
        return False
    if arn.service == "iam":
        return _IAM_PRINCIPAL_PATH.fullmatch(arn.resource) is not None
    if arn.service == "sts":
        return _STS_PRINCIPAL_PATH.fullmatch(arn.resource) is not None
    return False


def is_valid_service_principal(value: str) -> bool:
    return _SERVICE_PRINCIPAL.fullmatch(value) is not None


def is_valid_federated_principal(value: str) -> bool:
    """A SAML/OIDC provider ARN, or a web identity provider host such as accounts.google.com."""
    if value.startswith("arn:"):
        arn = split_arn(value)
        return (
            arn is not None
            and arn.partition in PARTITIONS
            and arn.service == "iam"
            and not arn.region
            and is_account_id(arn.account)
            and _FEDERATED_PROVIDER_PATH.fullmatch(arn.resource) is not None
        )
    return _HOST_NAME.fullmatch(value) is not None


def is_canonical_user_id(value: str) -> bool:
    return _CANONICAL_USER_ID.fullmatch(value) is not None
