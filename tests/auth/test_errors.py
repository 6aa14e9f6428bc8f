"""The AWS error each authentication failure becomes, per service dialect."""

from __future__ import annotations

import pytest

from trailgate.auth import AuthError, AuthErrorKind, ServiceFamily, auth_error
from trailgate.auth.errors import service_family
from trailgate.errors import AwsError

CASES = [
    ("s3", AuthErrorKind.SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403),
    ("s3", AuthErrorKind.UNKNOWN_KEY, "InvalidAccessKeyId", 403),
    ("s3", AuthErrorKind.EXPIRED_TOKEN, "ExpiredToken", 400),
    ("s3", AuthErrorKind.INVALID_TOKEN, "InvalidToken", 400),
    ("s3", AuthErrorKind.TIME_SKEWED, "RequestTimeTooSkewed", 403),
    ("s3", AuthErrorKind.REQUEST_EXPIRED, "AccessDenied", 403),
    ("s3", AuthErrorKind.INVALID_EXPIRES, "AuthorizationQueryParametersError", 400),
    ("s3", AuthErrorKind.CONTENT_SHA256_MISMATCH, "XAmzContentSHA256Mismatch", 400),
    ("s3", AuthErrorKind.BAD_DIGEST, "BadDigest", 400),
    ("s3", AuthErrorKind.INCOMPLETE_BODY, "IncompleteBody", 400),
    ("iam", AuthErrorKind.SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403),
    ("sts", AuthErrorKind.UNKNOWN_KEY, "InvalidClientTokenId", 403),
    ("sts", AuthErrorKind.EXPIRED_TOKEN, "ExpiredToken", 403),
    ("sts", AuthErrorKind.MISSING_AUTH, "MissingAuthenticationToken", 403),
    ("iam", AuthErrorKind.MALFORMED, "IncompleteSignature", 400),
    ("cloudtrail", AuthErrorKind.SIGNATURE_MISMATCH, "InvalidSignatureException", 400),
    ("cloudtrail", AuthErrorKind.UNKNOWN_KEY, "UnrecognizedClientException", 400),
    ("organizations", AuthErrorKind.EXPIRED_TOKEN, "ExpiredTokenException", 400),
    ("organizations", AuthErrorKind.MISSING_AUTH, "MissingAuthenticationTokenException", 400),
]


@pytest.mark.parametrize(("service", "kind", "code", "status"), CASES)
def test_dialects(service: str, kind: AuthErrorKind, code: str, status: int) -> None:
    error = auth_error(kind, service)
    assert isinstance(error, AwsError) and isinstance(error, AuthError)
    assert (error.code, error.status, error.kind) == (code, status, kind)
    assert error.message and error.sender_fault


def test_messages_and_overrides() -> None:
    assert auth_error("invalid_token", "sts").message == (
        "The security token included in the request is invalid."
    )
    custom = auth_error(AuthErrorKind.BAD_DIGEST, "s3", message="m", extra={"A": "1"})
    assert (custom.message, custom.extra) == ("m", {"A": "1"})
    assert str(custom) == "BadDigest: m"


def test_service_families() -> None:
    assert service_family("S3") is ServiceFamily.S3
    assert service_family("cloudtrail") is ServiceFamily.JSON
    assert service_family("iam") is ServiceFamily.QUERY
    assert service_family(None) is ServiceFamily.QUERY
    # S3-only failures keep S3's wording whichever service reports them.
    assert auth_error(AuthErrorKind.INCOMPLETE_BODY, "iam").code == "IncompleteBody"
