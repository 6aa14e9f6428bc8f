"""The seed's policy documents, filled in with real account ids and the log bucket's name."""

from __future__ import annotations

import json
from typing import Any


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def cloudtrail_bucket_policy(bucket: str, accounts: list[str], region: str, owner: str) -> str:
    """The bucket policy CloudTrail needs: read the ACL, write under each account's AWSLogs/."""
    return doc(
        {
            "Sid": "AWSCloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": f"arn:aws:s3:::{bucket}",
        },
        {
            "Sid": "AWSCloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": [f"arn:aws:s3:::{bucket}/AWSLogs/{a}/*" for a in accounts],
            "Condition": {
                "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"},
                "ArnLike": {
                    "aws:SourceArn": [f"arn:aws:cloudtrail:{region}:{a}:trail/*" for a in accounts]
                },
            },
        },
    )


def trust_account(account: str, external_id: str | None = None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return doc(statement)


def scenario1_access(bucket: str, account: str) -> str:
    """Scenario 1: list and read only AWSLogs/<account>/."""
    return doc(
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": f"AWSLogs/{account}/*"}},
        },
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*",
        },
    )


def scenario2_access(bucket: str, copy_target: str) -> str:
    """Scenario 2: read everything, and copy log files into Z's own bucket."""
    return doc(
        {
            "Effect": "Allow",
            "Action": ["s3:Get*", "s3:List*"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        },
        {
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{copy_target}/*",
        },
    )


def allow_assume(role_arn: str) -> str:
    """The seed's user policy: sts:AssumeRole on one role."""
    return doc({"Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": role_arn})


def allow_put_from(bucket: str, role_arn: str) -> str:
    """Z's bucket accepts copies made by Z's reader role in account A."""
    return doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": role_arn},
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }
    )
