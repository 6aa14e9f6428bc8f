"""Whether a trail may deliver into a bucket: CreateTrail and UpdateTrail ask S3, as the service
principal cloudtrail.amazonaws.com with the trail's aws:SourceArn / aws:SourceAccount, whether
GetBucketAcl on the bucket and PutObject (with x-amz-acl: bucket-owner-full-control) under
`[prefix/]AWSLogs/<account>/` would be allowed. S3's own authorization answers, so the bucket
policy decides exactly as it will for every delivery.
"""

from __future__ import annotations

from trailgate.auth.principal import Principal
from trailgate.errors import AwsError
from trailgate.runtime import Runtime
from trailgate.services.cloudtrail.common import error
from trailgate.trail.delivery import SERVICE_PRINCIPAL

DELIVERY_ACL = "bucket-owner-full-control"


def bucket_missing(bucket: str) -> AwsError:
    return error("S3BucketDoesNotExistException", f"S3 bucket {bucket} does not exist!")


def insufficient_policy(bucket: str) -> AwsError:
    return error(
        "InsufficientS3BucketPolicyException",
        f"Incorrect S3 bucket policy is detected for bucket: {bucket}",
    )


def check_delivery_allowed(
    runtime: Runtime, *, bucket: str, prefix: str | None, account_id: str, trail_arn: str,
    region: str,
) -> None:
    """Raise S3BucketDoesNotExistException or InsufficientS3BucketPolicyException, or pass."""
    from trailgate.services.s3.internal import get_bucket_acl_as, may_put_object_as
    from trailgate.services.s3.records import cached_bucket

    if cached_bucket(runtime, bucket) is None:
        raise bucket_missing(bucket)
    principal = Principal.aws_service(SERVICE_PRINCIPAL)
    keys = {"aws:SourceArn": trail_arn, "aws:SourceAccount": account_id}
    prefix_path = f"{prefix}/" if prefix else ""
    try:
        get_bucket_acl_as(runtime, principal, bucket, context=keys)
        allowed = may_put_object_as(
            runtime,
            principal,
            bucket,
            f"{prefix_path}AWSLogs/{account_id}/CloudTrail/{region}/",
            acl=DELIVERY_ACL,
            context=keys,
        )
    except AwsError as err:
        if err.code == "NoSuchBucket":
            raise bucket_missing(bucket) from err
        if err.code == "AccessDenied":
            raise insufficient_policy(bucket) from err
        raise
    if not allowed:
        raise insufficient_policy(bucket)
