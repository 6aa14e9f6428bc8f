"""STS: GetCallerIdentity, AssumeRole and GetSessionToken."""

from trailgate.services.sts import operations  # noqa: F401 - registers the operations
