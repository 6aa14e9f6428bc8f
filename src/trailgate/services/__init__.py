"""Service operations (accounts, IAM, STS, S3, CloudTrail) as plain functions over the store."""
