"""An example of testing your own cross-account design with the `trailgate` pytest fixture.

Run it with `pytest examples/test_my_design.py` after `pip install trailgate[test]`: the fixture
starts a real server once per session; every test makes its own accounts.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from trailgate.testing import Trailgate

READ_SHARED = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared-*/*"}
    ],
}


def allow_assume(role_arn: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}],
    }


def test_partner_reads_through_the_role_only(trailgate: Trailgate) -> None:
    owner = trailgate.management
    partner = trailgate.create_account("partner")
    s3 = owner.client("s3")
    bucket = f"shared-{owner.id}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="report.csv", Body=b"a,b\n1,2\n")

    role = owner.create_role(
        f"PartnerRead{partner.id}",
        trust_accounts=[partner.id],
        external_id="partner-xid",
        policy=READ_SHARED,
    )
    alice = partner.create_user(f"alice{partner.id}", policy=allow_assume(role.arn))

    # Directly, alice (another account) cannot read the bucket: no bucket policy names her.
    with pytest.raises(ClientError) as denied:
        alice.client("s3").get_object(Bucket=bucket, Key="report.csv")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"

    # Through the role, with the external ID, she can.
    session = alice.assume_role(role.arn, external_id="partner-xid")
    body = session.client("s3").get_object(Bucket=bucket, Key="report.csv")["Body"].read()
    assert body == b"a,b\n1,2\n"
