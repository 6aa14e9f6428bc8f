"""Authentication failures and the exact AWS error (code, status, message) each one becomes.

AWS answers the same failure differently per protocol family: S3 (rest-xml) has its own codes and
wording, the query services (IAM, STS) another set, and the JSON services (CloudTrail,
Organizations) suffix their codes with ``Exception``. `auth_error(kind, service)` is the one place
that knows those tables; everything else in `auth` raises by *kind*.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from trailgate.errors import AwsError


class AuthErrorKind(StrEnum):
    """Why authentication failed, independent of how a given service words it."""

    MISSING_AUTH = "missing_auth"
    MALFORMED = "malformed"
    MALFORMED_QUERY = "malformed_query"
    UNSUPPORTED_AUTH = "unsupported_auth"
    MULTIPLE_AUTH = "multiple_auth"
    UNKNOWN_KEY = "unknown_key"
    INACTIVE_KEY = "inactive_key"
    MISSING_TOKEN = "missing_token"
    INVALID_TOKEN = "invalid_token"
    EXPIRED_TOKEN = "expired_token"
    SIGNATURE_MISMATCH = "signature_mismatch"
    TIME_SKEWED = "time_skewed"
    MISSING_DATE = "missing_date"
    REQUEST_EXPIRED = "request_expired"
    REQUEST_NOT_YET_VALID = "request_not_yet_valid"
    INVALID_EXPIRES = "invalid_expires"
    MISSING_CONTENT_SHA256 = "missing_content_sha256"
    INVALID_CONTENT_SHA256 = "invalid_content_sha256"
    CONTENT_SHA256_MISMATCH = "content_sha256_mismatch"
    HEADERS_NOT_SIGNED = "headers_not_signed"
    INCOMPLETE_BODY = "incomplete_body"
    DECODED_LENGTH_MISMATCH = "decoded_length_mismatch"
    BAD_DIGEST = "bad_digest"
    INVALID_TRAILER = "invalid_trailer"


class ServiceFamily(StrEnum):
    S3 = "s3"
    QUERY = "query"
    JSON = "json"


_JSON_SERVICES = frozenset({"cloudtrail", "organizations", "cloudtrail-data", "kms", "logs"})
_S3_SERVICES = frozenset({"s3", "s3-object-lambda"})


def service_family(service: str | None) -> ServiceFamily:
    """The error dialect of a service; unknown services speak the query dialect (like IAM/STS)."""
    name = (service or "").lower()
    if name in _S3_SERVICES:
        return ServiceFamily.S3
    if name in _JSON_SERVICES:
        return ServiceFamily.JSON
    return ServiceFamily.QUERY


@dataclass
class AuthError(AwsError):
    """An authentication failure, already carrying the wire error for the service that saw it."""

    kind: AuthErrorKind = AuthErrorKind.SIGNATURE_MISMATCH
    service: str | None = None


_K = AuthErrorKind

_SIG_MISMATCH_QUERY = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
_INVALID_TOKEN_QUERY = "The security token included in the request is invalid."
_EXPIRED_TOKEN_QUERY = "The security token included in the request is expired"
_INCOMPLETE = "The request signature does not conform to AWS standards."

# kind -> (code, status, default message)
_S3: dict[AuthErrorKind, tuple[str, int, str]] = {
    _K.MISSING_AUTH: ("AccessDenied", 403, "Access Denied"),
    _K.MALFORMED: (
        "AuthorizationHeaderMalformed",
        400,
        "The authorization header is malformed; the authorization header requires three "
        "components: Credential, SignedHeaders, and Signature.",
    ),
    _K.MALFORMED_QUERY: (
        "AuthorizationQueryParametersError",
        400,
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
        "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
    ),
    _K.UNSUPPORTED_AUTH: ("InvalidArgument", 400, "Unsupported Authorization Type"),
    _K.MULTIPLE_AUTH: (
        "InvalidArgument",
        400,
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
        "query string parameter or the Authorization header should be specified",
    ),
    _K.UNKNOWN_KEY: (
        "InvalidAccessKeyId",
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    _K.INACTIVE_KEY: (
        "InvalidAccessKeyId",
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    _K.MISSING_TOKEN: (
        "InvalidAccessKeyId",
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    _K.INVALID_TOKEN: (
        "InvalidToken",
        400,
        "The provided token is malformed or otherwise invalid.",
    ),
    _K.EXPIRED_TOKEN: ("ExpiredToken", 400, "The provided token has expired."),
    _K.SIGNATURE_MISMATCH: (
        "SignatureDoesNotMatch",
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    _K.TIME_SKEWED: (
        "RequestTimeTooSkewed",
        403,
        "The difference between the request time and the current time is too large.",
    ),
    _K.MISSING_DATE: (
        "AccessDenied",
        403,
        "AWS authentication requires a valid Date or x-amz-date header",
    ),
    _K.REQUEST_EXPIRED: ("AccessDenied", 403, "Request has expired"),
    _K.REQUEST_NOT_YET_VALID: ("AccessDenied", 403, "Request is not yet valid"),
    _K.INVALID_EXPIRES: (
        "AuthorizationQueryParametersError",
        400,
        "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
        "must be less than 604800 seconds",
    ),
    _K.MISSING_CONTENT_SHA256: (
        "InvalidRequest",
        400,
        "Missing required header for this request: x-amz-content-sha256",
    ),
    _K.INVALID_CONTENT_SHA256: (
        "InvalidArgument",
        400,
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a "
        "valid sha256 value.",
    ),
    _K.CONTENT_SHA256_MISMATCH: (
        "XAmzContentSHA256Mismatch",
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ),
    _K.HEADERS_NOT_SIGNED: (
        "AccessDenied",
        403,
        "There were headers present in the request which were not signed",
    ),
    _K.INCOMPLETE_BODY: ("IncompleteBody", 400, "The request body terminated unexpectedly"),
    _K.DECODED_LENGTH_MISMATCH: (
        "IncompleteBody",
        400,
        "You did not provide the number of bytes specified by the Content-Length HTTP header",
    ),
    _K.BAD_DIGEST: (
        "BadDigest",
        400,
        "The Content-MD5 or checksum value that you specified did not match what the server "
        "received.",
    ),
    _K.INVALID_TRAILER: ("InvalidRequest", 400, "The trailing header value is invalid."),
}

_QUERY: dict[AuthErrorKind, tuple[str, int, str]] = {
    _K.MISSING_AUTH: ("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
    _K.MALFORMED: ("IncompleteSignature", 400, _INCOMPLETE),
    _K.MALFORMED_QUERY: ("IncompleteSignature", 400, _INCOMPLETE),
    _K.UNSUPPORTED_AUTH: ("IncompleteSignature", 400, _INCOMPLETE),
    _K.MULTIPLE_AUTH: ("IncompleteSignature", 400, _INCOMPLETE),
    _K.UNKNOWN_KEY: ("InvalidClientTokenId", 403, _INVALID_TOKEN_QUERY),
    _K.INACTIVE_KEY: ("InvalidClientTokenId", 403, _INVALID_TOKEN_QUERY),
    _K.MISSING_TOKEN: ("InvalidClientTokenId", 403, _INVALID_TOKEN_QUERY),
    _K.INVALID_TOKEN: ("InvalidClientTokenId", 403, _INVALID_TOKEN_QUERY),
    _K.EXPIRED_TOKEN: ("ExpiredToken", 403, _EXPIRED_TOKEN_QUERY),
    _K.SIGNATURE_MISMATCH: ("SignatureDoesNotMatch", 403, _SIG_MISMATCH_QUERY),
    _K.TIME_SKEWED: ("SignatureDoesNotMatch", 403, "Signature expired"),
    _K.MISSING_DATE: (
        "IncompleteSignature",
        400,
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    ),
    _K.REQUEST_EXPIRED: ("SignatureDoesNotMatch", 403, "Signature expired"),
    _K.REQUEST_NOT_YET_VALID: ("SignatureDoesNotMatch", 403, "Signature not yet current"),
    _K.INVALID_EXPIRES: (
        "IncompleteSignature",
        400,
        "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
        "must be less than 604800 seconds",
    ),
    _K.CONTENT_SHA256_MISMATCH: ("SignatureDoesNotMatch", 403, _SIG_MISMATCH_QUERY),
    _K.INVALID_CONTENT_SHA256: ("SignatureDoesNotMatch", 403, _SIG_MISMATCH_QUERY),
}

_JSON: dict[AuthErrorKind, tuple[str, int, str]] = {
    _K.MISSING_AUTH: (
        "MissingAuthenticationTokenException",
        400,
        "Request is missing Authentication Token",
    ),
    _K.MALFORMED: ("IncompleteSignatureException", 400, _INCOMPLETE),
    _K.MALFORMED_QUERY: ("IncompleteSignatureException", 400, _INCOMPLETE),
    _K.UNSUPPORTED_AUTH: ("IncompleteSignatureException", 400, _INCOMPLETE),
    _K.MULTIPLE_AUTH: ("IncompleteSignatureException", 400, _INCOMPLETE),
    _K.UNKNOWN_KEY: ("UnrecognizedClientException", 400, _INVALID_TOKEN_QUERY),
    _K.INACTIVE_KEY: ("UnrecognizedClientException", 400, _INVALID_TOKEN_QUERY),
    _K.MISSING_TOKEN: ("UnrecognizedClientException", 400, _INVALID_TOKEN_QUERY),
    _K.INVALID_TOKEN: ("UnrecognizedClientException", 400, _INVALID_TOKEN_QUERY),
    _K.EXPIRED_TOKEN: ("ExpiredTokenException", 400, _EXPIRED_TOKEN_QUERY),
    _K.SIGNATURE_MISMATCH: ("InvalidSignatureException", 400, _SIG_MISMATCH_QUERY),
    _K.TIME_SKEWED: ("InvalidSignatureException", 400, "Signature expired"),
    _K.MISSING_DATE: (
        "IncompleteSignatureException",
        400,
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    ),
    _K.REQUEST_EXPIRED: ("InvalidSignatureException", 400, "Signature expired"),
    _K.REQUEST_NOT_YET_VALID: ("InvalidSignatureException", 400, "Signature not yet current"),
    _K.INVALID_EXPIRES: ("IncompleteSignatureException", 400, _INCOMPLETE),
    _K.CONTENT_SHA256_MISMATCH: ("InvalidSignatureException", 400, _SIG_MISMATCH_QUERY),
    _K.INVALID_CONTENT_SHA256: ("InvalidSignatureException", 400, _SIG_MISMATCH_QUERY),
}

_TABLES = {ServiceFamily.S3: _S3, ServiceFamily.QUERY: _QUERY, ServiceFamily.JSON: _JSON}


def auth_error(
    kind: AuthErrorKind | str,
    service: str | None,
    *,
    message: str | None = None,
    extra: dict[str, str] | None = None,
) -> AuthError:
    """Build the error AWS returns for `kind` on `service` (an S3/query/JSON service name).

    `message` replaces the default wording where AWS puts request details in it (skew times,
    checksum algorithm). Kinds that only exist for S3 uploads fall back to S3's wording.
    """
    kind = AuthErrorKind(kind)
    table = _TABLES[service_family(service)]
    code, status, default = table.get(kind) or _S3[kind]
    return AuthError(
        code=code,
        message=message if message is not None else default,
        status=status,
        sender_fault=True,
        extra=dict(extra or {}),
        kind=kind,
        service=service,
    )
