#!/usr/bin/env bash
# The seed's flow with the AWS CLI: a profile that assumes the role by itself (role_arn,
# source_profile, external_id), then lists and copies log files.
# Environment: AWS_ENDPOINT_URL, USER_KEY_ID, USER_SECRET, ROLE_ARN, BUCKET, LOG_PREFIX,
# optional EXTERNAL_ID. Writes its profiles into a temporary AWS config, not ~/.aws.
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/credentials" <<CREDS
[log-user]
aws_access_key_id = ${USER_KEY_ID}
aws_secret_access_key = ${USER_SECRET}
CREDS
cat > "$dir/config" <<CONFIG
[profile log-user]
region = us-east-1

[profile log-reader]
region = us-east-1
role_arn = ${ROLE_ARN}
source_profile = log-user
${EXTERNAL_ID:+external_id = ${EXTERNAL_ID}}
CONFIG
export AWS_CONFIG_FILE="$dir/config" AWS_SHARED_CREDENTIALS_FILE="$dir/credentials"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
aws sts get-caller-identity --profile log-reader
aws s3 ls "s3://${BUCKET}/${LOG_PREFIX}" --recursive --profile log-reader
first=$(aws s3api list-objects-v2 --bucket "$BUCKET" --prefix "$LOG_PREFIX" \
  --query 'Contents[0].Key' --output text --profile log-reader)
aws s3 cp "s3://${BUCKET}/${first}" "$dir/log.json.gz" --profile log-reader
ls -l "$dir/log.json.gz"
