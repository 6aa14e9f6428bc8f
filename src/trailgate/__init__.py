"""trailgate: a self-hosted, AWS-compatible IAM, STS, S3 and CloudTrail endpoint.

The package is laid out as a one-way request pipeline; see docs/architecture.md.
"""

__version__ = "0.1.0"
