"""Which values never reach a CloudTrail record: secrets are recognised by their key name.

The rule is deliberately broad and service-independent, so an operation added later cannot leak
a secret by forgetting to declare it: any member or map key whose name (case and punctuation
ignored) contains one of `SECRET_MARKERS` is replaced by `REDACTED`, and so is any member the
botocore model marks `sensitive`.
"""

from __future__ import annotations

import re

# AWS's own placeholder for values it withholds from CloudTrail.
REDACTED = "HIDDEN_DUE_TO_SECURITY_REASONS"

SECRET_MARKERS: tuple[str, ...] = (
    "password",
    "secret",
    "sessiontoken",
    "securitytoken",
    "identitytoken",
    "samlassertion",
    "privatekey",
    "customerkey",
    "authenticationcode",
    "tokencode",
)

_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_cache: dict[str, bool] = {}


def is_secret_name(name: str) -> bool:
    """True if a value stored under `name` must be withheld (SecretAccessKey, x-amz-security-token,
    NewPassword, SessionToken, ...)."""
    known = _cache.get(name)
    if known is None:
        flat = _NOT_ALNUM.sub("", name.lower())
        known = any(marker in flat for marker in SECRET_MARKERS)
        if len(_cache) < 10_000:
            _cache[name] = known
    return known
