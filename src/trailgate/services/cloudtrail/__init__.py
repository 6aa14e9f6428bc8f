"""The CloudTrail API (awsJson 1.1): trails, logging, event selectors, tags, event history and
public keys. Importing the package registers its operations."""

from trailgate.services.cloudtrail import (  # noqa: F401 - register operations
    history,
    selectors,
    status,
    tags,
    trails,
)
