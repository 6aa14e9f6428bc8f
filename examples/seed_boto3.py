"""The seed's flow with boto3: assume the role in account A, then list and read the log files.

Environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of the IAM user, AWS_ENDPOINT_URL of the
trailgate server, ROLE_ARN, BUCKET, optional LOG_PREFIX and EXTERNAL_ID.
"""

import os

import boto3

sts = boto3.client("sts", region_name="us-east-1")
params = {"RoleArn": os.environ["ROLE_ARN"], "RoleSessionName": "AssumeRoleSession1"}
if os.environ.get("EXTERNAL_ID"):
    params["ExternalId"] = os.environ["EXTERNAL_ID"]
credentials = sts.assume_role(**params)["Credentials"]

s3 = boto3.client(
    "s3",
    region_name="us-east-1",
    aws_access_key_id=credentials["AccessKeyId"],
    aws_secret_access_key=credentials["SecretAccessKey"],
    aws_session_token=credentials["SessionToken"],
)
bucket = os.environ["BUCKET"]
s3.head_bucket(Bucket=bucket)
print(bucket)
listing = s3.list_objects_v2(Bucket=bucket, Prefix=os.environ.get("LOG_PREFIX", ""))
for item in listing.get("Contents", []):
    body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    print(item["Key"], len(body))
