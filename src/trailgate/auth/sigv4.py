"""Signature Version 4 (AWS4-HMAC-SHA256) in the Authorization header and in presigned URLs.

The canonical request is rebuilt from the raw request and the client's own credential scope
(whatever region and service it signed for, including the empty region some IAM/STS clients use
and boto 2's host-derived scopes). S3 and the other services canonicalise paths differently,
exactly as their SDK signers do.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from trailgate.auth.canonical import (
    canonical_headers,
    canonical_query_string,
    decoded_query,
    generic_canonical_path,
    s3_canonical_path,
)
from trailgate.auth.checks import (
    check_session,
    check_skew,
    iso_z,
    parse_amz_date,
    parse_http_date,
    resolve_record,
    signatures_match,
    utc,
)
from trailgate.auth.credentials import CredentialResolver
from trailgate.auth.errors import AuthErrorKind, ServiceFamily, auth_error, service_family
from trailgate.auth.result import AuthResult, ChunkSigningContext, PayloadMode
from trailgate.auth.signing_key import SigningKeyCache
from trailgate.http import HttpRequest

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_MODES = {
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": PayloadMode.STREAMING_SIGNED,
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": PayloadMode.STREAMING_SIGNED_TRAILER,
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER": PayloadMode.STREAMING_UNSIGNED_TRAILER,
}
S3_SIGNING_NAMES = frozenset({"s3", "s3-object-lambda"})
MAX_PRESIGN_EXPIRES = 604800
PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
)
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_CREDENTIAL_FORMAT = '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"'


@dataclass(frozen=True)
class Credential:
    access_key_id: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True)
class V4Claim:
    """What the client says it signed, before anything is checked."""

    credential: Credential
    signed_headers_line: str
    signature: str
    timestamp: str
    request_time: datetime
    raw_time: str
    presigned: bool
    expires: int | None
    security_token: str | None


def parse_credential(value: str) -> Credential | None:
    """Split AKID/date/region/service/aws4_request; the region may be empty."""
    parts = value.split("/")
    if len(parts) < 5 or parts[-1] != "aws4_request":
        return None
    access_key_id = "/".join(parts[:-4])
    date, region, service = parts[-4], parts[-3], parts[-2]
    if not access_key_id or not re.fullmatch(r"\d{8}", date) or not service:
        return None
    return Credential(access_key_id, date, region, service)


def query_params(raw_query: str) -> dict[str, str]:
    """Decoded query parameters; the first occurrence of a name wins."""
    params: dict[str, str] = {}
    for name, value in decoded_query(raw_query):
        params.setdefault(name.decode("utf-8", "replace"), value.decode("utf-8", "replace"))
    return params


def _malformed_header(service: str | None, header: str, missing: list[str]) -> Exception:
    if service_family(service) is ServiceFamily.S3:
        return auth_error(AuthErrorKind.MALFORMED, service)
    reasons = " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
    return auth_error(AuthErrorKind.MALFORMED, service, message=f"{reasons} Authorization={header}")


def _bad_credential(service: str | None, kind: AuthErrorKind) -> Exception:
    if service_family(service) is ServiceFamily.S3:
        if kind is AuthErrorKind.MALFORMED_QUERY:
            message = (
                "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
                f"expecting {_CREDENTIAL_FORMAT}."
            )
        else:
            message = (
                "The authorization header is malformed; the Credential is mal-formed; "
                f"expecting {_CREDENTIAL_FORMAT}."
            )
    else:
        message = f"Credential should be scoped correctly; expecting {_CREDENTIAL_FORMAT}."
    return auth_error(kind, service, message=message)


def _scope_date_mismatch(claim: V4Claim, service: str | None) -> Exception:
    if service_family(service) is ServiceFamily.S3:
        kind = AuthErrorKind.MALFORMED_QUERY if claim.presigned else AuthErrorKind.MALFORMED
        prefix = "" if claim.presigned else "The authorization header is malformed; "
        return auth_error(
            kind,
            service,
            message=f"{prefix}Invalid credential date. Date is not the same as X-Amz-Date.",
        )
    return auth_error(
        AuthErrorKind.SIGNATURE_MISMATCH,
        service,
        message=(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{claim.credential.date}' != '{claim.timestamp[:8]}', "
            f"from '{claim.timestamp}'."
        ),
    )


def parse_header_claim(request: HttpRequest, header: str, service_hint: str | None) -> V4Claim:
    _, _, rest = header.strip().partition(" ")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if sep:
            fields[key.strip()] = value.strip()
    required = ("Credential", "SignedHeaders", "Signature")
    missing = [name for name in required if not fields.get(name)]
    if missing:
        raise _malformed_header(service_hint, header, missing)
    credential = parse_credential(fields["Credential"])
    if credential is None:
        raise _bad_credential(service_hint, AuthErrorKind.MALFORMED)
    service = service_hint or credential.service

    raw_time = request.headers.get("x-amz-date")
    request_time = parse_amz_date(raw_time) if raw_time else None
    if raw_time is None:
        raw_time = request.headers.get("date")
        request_time = parse_http_date(raw_time) if raw_time else None
    if request_time is None or raw_time is None:
        raise auth_error(AuthErrorKind.MISSING_DATE, service)
    return V4Claim(
        credential=credential,
        signed_headers_line=fields["SignedHeaders"],
        signature=fields["Signature"],
        timestamp=request_time.strftime("%Y%m%dT%H%M%SZ"),
        request_time=request_time,
        raw_time=raw_time,
        presigned=False,
        expires=None,
        security_token=request.headers.get("x-amz-security-token"),
    )


def parse_presigned_claim(
    request: HttpRequest, params: dict[str, str], service_hint: str | None
) -> V4Claim:
    s3 = service_family(service_hint) is ServiceFamily.S3
    required = (*PRESIGN_PARAMS, "X-Amz-Expires") if s3 else PRESIGN_PARAMS
    if any(not params.get(name) for name in required):
        raise auth_error(AuthErrorKind.MALFORMED_QUERY, service_hint)
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise auth_error(
            AuthErrorKind.MALFORMED_QUERY,
            service_hint,
            message=f'X-Amz-Algorithm only supports "{ALGORITHM}"',
        )
    credential = parse_credential(params["X-Amz-Credential"])
    if credential is None:
        raise _bad_credential(service_hint, AuthErrorKind.MALFORMED_QUERY)
    service = service_hint or credential.service
    raw_time = params["X-Amz-Date"]
    request_time = parse_amz_date(raw_time)
    if request_time is None:
        raise auth_error(
            AuthErrorKind.MALFORMED_QUERY,
            service,
            message="X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
        )
    raw_expires = params.get("X-Amz-Expires")
    expires = 900
    if raw_expires is not None:
        try:
            expires = int(raw_expires)
        except ValueError:
            raise auth_error(
                AuthErrorKind.MALFORMED_QUERY, service, message="X-Amz-Expires should be a number"
            ) from None
        if expires < 0:
            raise auth_error(
                AuthErrorKind.MALFORMED_QUERY,
                service,
                message="X-Amz-Expires must be non-negative",
            )
        if expires > MAX_PRESIGN_EXPIRES:
            raise auth_error(AuthErrorKind.INVALID_EXPIRES, service)
    token = params.get("X-Amz-Security-Token") or request.headers.get("x-amz-security-token")
    return V4Claim(
        credential=credential,
        signed_headers_line=params["X-Amz-SignedHeaders"],
        signature=params["X-Amz-Signature"],
        timestamp=raw_time,
        request_time=request_time,
        raw_time=raw_time,
        presigned=True,
        expires=expires,
        security_token=token,
    )


def _check_presign_window(claim: V4Claim, now: datetime, service: str | None) -> None:
    now = utc(now)
    expires = claim.expires or 0
    expiry = claim.request_time + timedelta(seconds=expires)
    s3 = service_family(service) is ServiceFamily.S3
    if claim.request_time - now > timedelta(minutes=15):
        extra = (
            {"X-Amz-Date": claim.raw_time, "Expires": iso_z(expiry), "ServerTime": iso_z(now)}
            if s3
            else None
        )
        message = None
        if not s3:
            message = (
                f"Signature not yet current: {claim.timestamp} is still later than "
                f"{(now + timedelta(minutes=15)).strftime('%Y%m%dT%H%M%SZ')} "
                f"({now.strftime('%Y%m%dT%H%M%SZ')} + 15 min.)"
            )
        raise auth_error(AuthErrorKind.REQUEST_NOT_YET_VALID, service, message=message, extra=extra)
    if now > expiry:
        extra = (
            {"X-Amz-Expires": str(expires), "Expires": iso_z(expiry), "ServerTime": iso_z(now)}
            if s3
            else None
        )
        message = None
        if not s3:
            message = (
                f"Signature expired: {claim.timestamp} is now earlier than "
                f"{(now - timedelta(seconds=expires)).strftime('%Y%m%dT%H%M%SZ')} "
                f"({now.strftime('%Y%m%dT%H%M%SZ')} - {expires} sec.)"
            )
        raise auth_error(AuthErrorKind.REQUEST_EXPIRED, service, message=message, extra=extra)


def _payload_value(
    request: HttpRequest, claim: V4Claim, params: dict[str, str], is_s3: bool, service: str | None
) -> str:
    header_value = request.headers.get("x-amz-content-sha256")
    if claim.presigned:
        signed = {name.strip().lower() for name in claim.signed_headers_line.split(";")}
        if params.get("X-Amz-Content-Sha256"):
            return params["X-Amz-Content-Sha256"].strip()
        if header_value is not None and "x-amz-content-sha256" in signed:
            return header_value.strip()
        if is_s3:
            return UNSIGNED_PAYLOAD
    elif header_value is not None:
        return header_value.strip()
    elif is_s3:
        raise auth_error(AuthErrorKind.MISSING_CONTENT_SHA256, service)
    if request.body is None:
        raise ValueError("the request body must be read before authenticating a non-S3 request")
    return hashlib.sha256(request.body).hexdigest()


def _classify_payload(value: str, has_body: bool, service: str | None) -> PayloadMode:
    if value == UNSIGNED_PAYLOAD:
        return PayloadMode.UNSIGNED
    if value in STREAMING_MODES:
        return STREAMING_MODES[value]
    if _HEX64.match(value):
        return PayloadMode.SIGNED if has_body else PayloadMode.SHA256_DEFERRED
    raise auth_error(AuthErrorKind.INVALID_CONTENT_SHA256, service)


def build_canonical_request(
    request: HttpRequest, claim: V4Claim, payload_value: str, *, s3_paths: bool
) -> str:
    signed = [name.strip().lower() for name in claim.signed_headers_line.split(";")]
    path = (s3_canonical_path if s3_paths else generic_canonical_path)(request.raw_path)
    query = canonical_query_string(
        request.query_string, exclude=("X-Amz-Signature",) if claim.presigned else ()
    )
    return "\n".join(
        [
            request.method.upper(),
            path,
            query,
            canonical_headers(request.headers, signed, host_fallback=request.absolute_host),
            claim.signed_headers_line,
            payload_value,
        ]
    )


def string_to_sign(timestamp: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def verify_v4(
    request: HttpRequest,
    claim: V4Claim,
    resolver: CredentialResolver,
    *,
    now: datetime,
    service_hint: str | None,
    keys: SigningKeyCache,
    params: dict[str, str],
) -> AuthResult:
    credential = claim.credential
    service = service_hint or credential.service
    s3 = service_family(service) is ServiceFamily.S3
    is_s3_signer = credential.service in S3_SIGNING_NAMES

    if credential.date != claim.timestamp[:8]:
        raise _scope_date_mismatch(claim, service)
    if claim.presigned:
        _check_presign_window(claim, now, service)
    else:
        check_skew(claim.request_time, now, service, raw_time=claim.raw_time)

    signed = {name.strip().lower() for name in claim.signed_headers_line.split(";")}
    if "host" not in signed:
        # An unsigned Host would let a request be replayed against another virtual-hosted bucket.
        raise auth_error(AuthErrorKind.SIGNATURE_MISMATCH, service)
    if s3:
        unsigned = sorted(
            name
            for name in request.headers.keys_lower()
            if name.startswith("x-amz-") and name not in signed
        )
        if unsigned:
            raise auth_error(
                AuthErrorKind.HEADERS_NOT_SIGNED,
                service,
                extra={"HeadersNotSigned": ", ".join(unsigned)},
            )

    record = resolve_record(resolver, credential.access_key_id, service)
    check_session(record, claim.security_token, now, service)

    payload_value = _payload_value(request, claim, params, is_s3_signer, service)
    mode = _classify_payload(payload_value, request.body is not None, service)

    canonical_request = build_canonical_request(
        request, claim, payload_value, s3_paths=is_s3_signer
    )
    to_sign = string_to_sign(claim.timestamp, credential.scope, canonical_request)
    signing_key = keys.get(
        record.secret_access_key, credential.date, credential.region, credential.service
    )
    expected = hmac.digest(signing_key, to_sign.encode("utf-8"), "sha256").hex()
    if not signatures_match(expected, claim.signature):
        extra = None
        if s3:
            extra = {
                "AWSAccessKeyId": credential.access_key_id,
                "StringToSign": to_sign,
                "SignatureProvided": claim.signature,
                "CanonicalRequest": canonical_request,
            }
        raise auth_error(AuthErrorKind.SIGNATURE_MISMATCH, service, extra=extra)

    if mode is PayloadMode.SIGNED:
        assert request.body is not None
        computed = hashlib.sha256(request.body).hexdigest()
        if computed != payload_value.lower():
            extra = (
                {"ClientComputedContentSHA256": payload_value, "S3ComputedContentSHA256": computed}
                if s3
                else None
            )
            raise auth_error(AuthErrorKind.CONTENT_SHA256_MISMATCH, service, extra=extra)

    decoded_length: int | None = None
    trailer_names: tuple[str, ...] = ()
    chunk_signing: ChunkSigningContext | None = None
    if mode.is_streaming:
        raw_length = request.headers.get("x-amz-decoded-content-length")
        if raw_length is not None:
            if not raw_length.strip().isdigit():
                raise auth_error(
                    AuthErrorKind.MALFORMED,
                    service,
                    message="x-amz-decoded-content-length must be a non-negative integer",
                )
            decoded_length = int(raw_length)
        trailer_names = tuple(
            name.strip().lower()
            for value in request.headers.get_all("x-amz-trailer")
            for name in value.split(",")
            if name.strip()
        )
        chunk_signing = ChunkSigningContext(
            signing_key=signing_key,
            timestamp=claim.timestamp,
            scope=credential.scope,
            seed_signature=claim.signature.strip().lower(),
        )

    return AuthResult(
        record=record,
        signature_version="v4",
        presigned=claim.presigned,
        region=credential.region,
        service=credential.service,
        payload_mode=mode,
        access_key_id=credential.access_key_id,
        expected_payload_sha256=(
            payload_value.lower() if mode is PayloadMode.SHA256_DEFERRED else None
        ),
        decoded_content_length=decoded_length,
        trailer_names=trailer_names,
        chunk_signing=chunk_signing,
        error_service=service,
        signed_at=claim.request_time,
    )
