"""The seed's own boto 2 example (CloudTrail User Guide, "Assuming a Role"), changed only in its
connection parameters so that it talks to trailgate instead of AWS.

Environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of an IAM user allowed to assume the role
(STSConnection discovers them, as in the seed), TRAILGATE_HOST, TRAILGATE_PORT, ROLE_ARN, BUCKET.
STS is signed with SigV4 using the scope boto 2 derives from the host name; S3 uses SigV2, boto 2's
default.
"""

import os

import boto  # noqa: F401 - as in the seed
from boto.regioninfo import RegionInfo
from boto.s3.connection import OrdinaryCallingFormat, S3Connection
from boto.sts import STSConnection

host = os.environ["TRAILGATE_HOST"]
port = int(os.environ["TRAILGATE_PORT"])
bucketname = os.environ["BUCKET"]

# The calls to AWS STS AssumeRole must be signed using the access key ID and secret
# access key of an IAM user or using existing temporary credentials. (You cannot call
# AssumeRole using the access key for an account.) The credentials can be in
# environment variables or in a configuration file and will be discovered automatically
# by the STSConnection() function.
sts_connection = STSConnection(
    region=RegionInfo(name="us-east-1", endpoint=host), port=port, is_secure=False
)
assumedRoleObject = sts_connection.assume_role(
    role_arn=os.environ["ROLE_ARN"],
    role_session_name="AssumeRoleSession1",
)

# Use the temporary credentials returned by AssumeRole to call Amazon S3
# and list the bucket in the account that owns the role (the trusting account)
s3_connection = S3Connection(
    aws_access_key_id=assumedRoleObject.credentials.access_key,
    aws_secret_access_key=assumedRoleObject.credentials.secret_key,
    security_token=assumedRoleObject.credentials.session_token,
    host=host,
    port=port,
    is_secure=False,
    calling_format=OrdinaryCallingFormat(),
)
bucket = s3_connection.get_bucket(bucketname)
print(bucket.name)

# Beyond the seed: read the log files under this account's prefix, if one is given.
prefix = os.environ.get("LOG_PREFIX")
if prefix:
    for key in bucket.list(prefix=prefix):
        print(key.name, len(key.get_contents_as_string()))
