"""The AWS managed policies trailgate ships: AdministratorAccess, AmazonS3FullAccess,
AmazonS3ReadOnlyAccess, IAMReadOnlyAccess, under arn:aws:iam::aws:policy/.

Documents, default version ids, descriptions and dates are AWS's (AWS Managed Policy Reference
Guide, checked Nov 2026); only the current default version is kept. `ensure_aws_managed_policies`
runs at start-up and is idempotent: it inserts missing policies and moves one whose shipped
version changed to the new version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from trailgate.services.accounts import bump_generation
from trailgate.services.iam import entities
from trailgate.services.iam.common import AWS_OWNER, policy_arn
from trailgate.services.iam.managed_policies import insert_policy, version_document
from trailgate.store.schema_iam import iam_managed_policies, iam_policy_versions


@dataclass(frozen=True)
class AwsManagedPolicy:
    name: str
    policy_id: str
    description: str
    created_at: datetime
    version_id: str
    version_created_at: datetime
    document: dict[str, Any]

    @property
    def arn(self) -> str:
        return policy_arn(AWS_OWNER, "/", self.name)

    @property
    def text(self) -> str:
        # IAM serves AWS managed documents pretty-printed with four-space indents.
        return json.dumps(self.document, indent=4)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _allow_everywhere(action: str | list[str]) -> dict[str, Any]:
    """The shape of every shipped document: one Allow statement on Resource "*"."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
    }


AWS_MANAGED_POLICIES: tuple[AwsManagedPolicy, ...] = (
    AwsManagedPolicy(
        name="AdministratorAccess",
        policy_id="ANPAIWMBCKSKIEE64ZLYK",
        description="Provides full access to AWS services and resources.",
        created_at=_at("2015-02-06T18:39:46"),
        version_id="v1",
        version_created_at=_at("2015-02-06T18:39:46"),
        document=_allow_everywhere("*"),
    ),
    AwsManagedPolicy(
        name="AmazonS3FullAccess",
        policy_id="ANPAIFIR6V6BVTRAHWINE",
        description="Provides full access to all buckets via the AWS Management Console.",
        created_at=_at("2015-02-06T18:40:58"),
        version_id="v2",
        version_created_at=_at("2021-09-27T20:16:37"),
        document=_allow_everywhere(["s3:*", "s3-object-lambda:*"]),
    ),
    AwsManagedPolicy(
        name="AmazonS3ReadOnlyAccess",
        policy_id="ANPAIZTJ4DXE7G6AGAE6M",
        description="Provides read only access to all buckets via the AWS Management Console.",
        created_at=_at("2015-02-06T18:40:59"),
        version_id="v3",
        version_created_at=_at("2023-08-10T21:31:39"),
        document=_allow_everywhere(
            [
                "s3:Get*",
                "s3:List*",
                "s3:Describe*",
                "s3-object-lambda:Get*",
                "s3-object-lambda:List*",
            ]
        ),
    ),
    AwsManagedPolicy(
        name="IAMReadOnlyAccess",
        policy_id="ANPAJKSO7NDY4T57MWDSQ",
        description="Provides read only access to IAM via the AWS Management Console.",
        created_at=_at("2015-02-06T18:40:59"),
        version_id="v4",
        version_created_at=_at("2018-01-25T19:11:27"),
        document=_allow_everywhere(
            [
                "iam:GenerateCredentialReport",
                "iam:GenerateServiceLastAccessedDetails",
                "iam:Get*",
                "iam:List*",
                "iam:SimulateCustomPolicy",
                "iam:SimulatePrincipalPolicy",
            ]
        ),
    ),
)


def ensure_aws_managed_policies(conn: Connection) -> int:
    """Make the shipped AWS managed policies present and current; returns how many changed."""
    changed = 0
    for spec in AWS_MANAGED_POLICIES:
        existing = entities.find_policy(conn, spec.arn)
        if existing is None:
            insert_policy(
                conn,
                account_id=AWS_OWNER,
                name=spec.name,
                path="/",
                document=spec.text,
                description=spec.description,
                created_at=spec.created_at,
                policy_id=spec.policy_id,
                version_id=spec.version_id,
                version_created_at=spec.version_created_at,
            )
            changed += 1
            continue
        if existing.default_version == spec.version_id and version_document(
            conn, spec.arn, spec.version_id
        ) is not None:
            continue
        if version_document(conn, spec.arn, spec.version_id) is None:
            conn.execute(
                iam_policy_versions.insert().values(
                    policy_arn=spec.arn,
                    version_id=spec.version_id,
                    document=spec.text,
                    created_at=spec.version_created_at,
                )
            )
        conn.execute(
            iam_managed_policies.update()
            .where(iam_managed_policies.c.arn == spec.arn)
            .values(default_version=spec.version_id, updated_at=spec.version_created_at)
        )
        changed += 1
    if changed:
        bump_generation(conn)
    return changed
