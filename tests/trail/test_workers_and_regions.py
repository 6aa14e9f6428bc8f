"""Several server processes share one store (one delivery worker among them, by lease), and
trails of one region or of all regions with their region folders and digest chains."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import boto3
from trail_support import (
    NO_RETRY,
    client,
    delivered,
    delivery_policy,
    list_keys,
    read_log,
    root_of,
    trail_arn,
    wait_for,
    wait_for_records,
)

from trailgate.testing.server import ServerProcess


def regional(server: ServerProcess, service: str, creds: dict[str, str], region: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        config=NO_RETRY,
    )


def test_two_worker_processes_deliver_each_event_once(server_factory: object) -> None:
    args = ["--workers", "2", "--trail-delivery-interval", "1", "--digest-interval", "2"]
    server: ServerProcess = server_factory(extra_args=args)  # type: ignore[operator]
    root = root_of(server)
    account = server.management_account_id
    bucket = f"two-workers-{account}"
    arn = trail_arn(account, "main")
    s3 = client(server, "s3", root)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=delivery_policy(bucket, [(account, arn)]))
    ct = client(server, "cloudtrail", root)
    ct.create_trail(Name="main", S3BucketName=bucket)
    ct.start_logging(Name="main")
    data = f"two-workers-data-{account}"
    s3.create_bucket(Bucket=data)
    # Set in whichever process answers; every process must apply it to S3 data events.
    ct.put_event_selectors(
        TrailName="main",
        EventSelectors=[{"DataResources": [{"Type": "AWS::S3::Object",
                                            "Values": [f"arn:aws:s3:::{data}/"]}]}],
    )  # fmt: skip
    time.sleep(1)
    iam = client(server, "iam", root)
    for n in range(20):
        iam.create_user(UserName=f"w-{n}")
        s3.put_object(Bucket=data, Key=f"k{n}", Body=b"x")
    wait_for_records(s3, bucket, account, lambda r: r["eventName"] == "CreateUser", count=20)
    wait_for_records(s3, bucket, account, lambda r: r["eventName"] == "PutObject", count=20)
    time.sleep(2.5)
    records = delivered(s3, bucket, account)
    assert max(Counter(r["eventID"] for r in records).values()) == 1
    names = Counter(r["eventName"] for r in records)
    assert names["CreateUser"] == 20 and names["PutObject"] == 20


def test_single_and_multi_region_trails(fast_server: ServerProcess) -> None:
    server = fast_server
    root = root_of(server)
    account = server.management_account_id
    bucket = f"regions-{account}"
    east, world = trail_arn(account, "east-only"), trail_arn(account, "everywhere")
    s3 = client(server, "s3", root)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(
        Bucket=bucket, Policy=delivery_policy(bucket, [(account, east), (account, world)])
    )
    ct = client(server, "cloudtrail", root)
    ct.create_trail(Name="east-only", S3BucketName=bucket)
    out = ct.create_trail(Name="everywhere", S3BucketName=bucket, IsMultiRegionTrail=True,
                          EnableLogFileValidation=True)
    assert out["IsMultiRegionTrail"] is True
    for name in ("east-only", "everywhere"):
        ct.start_logging(Name=name)
    # The multi-region trail shows in every region; the other only in its home region.
    paris_ct = regional(server, "cloudtrail", root, "eu-west-3")
    assert [t["Name"] for t in paris_ct.describe_trails()["trailList"]] == ["everywhere"]
    assert paris_ct.describe_trails(includeShadowTrails=False)["trailList"] == []
    assert paris_ct.get_trail(Name="everywhere")["Trail"]["HomeRegion"] == "us-east-1"

    paris = regional(server, "sts", root, "eu-west-3").get_caller_identity()
    virginia = client(server, "sts", root).get_caller_identity()
    paris_id = paris["ResponseMetadata"]["RequestId"]
    virginia_id = virginia["ResponseMetadata"]["RequestId"]
    folder = f"AWSLogs/{account}/CloudTrail/eu-west-3/"
    wait_for(lambda: list_keys(s3, bucket, folder))
    # Only the multi-region trail takes eu-west-3's event, into the eu-west-3 folder...
    [in_paris] = [r for r in delivered(s3, bucket, account) if r["requestID"] == paris_id]
    assert in_paris["awsRegion"] == "eu-west-3"
    for key in list_keys(s3, bucket, folder):
        for record in read_log(s3, bucket, key):
            assert record["awsRegion"] == "eu-west-3"
    # ... while both trails deliver us-east-1's, each its own copy, in the us-east-1 folder.
    wait_for(lambda: len([r for r in delivered(s3, bucket, account)
                          if r["requestID"] == virginia_id]) == 2)
    # The multi-region trail keeps a digest chain per source region.
    wait_for(lambda: list_keys(s3, bucket, f"AWSLogs/{account}/CloudTrail-Digest/eu-west-3/"))
    wait_for(lambda: list_keys(s3, bucket, f"AWSLogs/{account}/CloudTrail-Digest/us-east-1/"))

    # Event history is regional.
    def request_ids(cloudtrail: Any) -> set[str]:
        events = cloudtrail.lookup_events(MaxResults=50)["Events"]
        return {json.loads(e["CloudTrailEvent"])["requestID"] for e in events}

    assert paris_id in request_ids(paris_ct) and virginia_id not in request_ids(paris_ct)
    assert virginia_id in request_ids(ct) and paris_id not in request_ids(ct)
