"""`authenticate`: find how a request is signed, verify it, and say who sent it.

Pure: the caller passes the request, a credential resolver and the current time. Supported:
SigV4 (Authorization header and presigned query), SigV2 for S3 (header and query) and the
query-protocol SignatureVersion=2. Requests with no signature at all are anonymous.
"""

from __future__ import annotations

from datetime import datetime

from trailgate.auth.credentials import CredentialResolver
from trailgate.auth.errors import AuthErrorKind, ServiceFamily, auth_error, service_family
from trailgate.auth.result import AuthResult, PayloadMode
from trailgate.auth.signing_key import DEFAULT_SIGNING_KEYS, SigningKeyCache
from trailgate.auth.sigv2 import form_params, verify_query_v2, verify_s3_header, verify_s3_query
from trailgate.auth.sigv4 import (
    ALGORITHM,
    parse_header_claim,
    parse_presigned_claim,
    query_params,
    verify_v4,
)
from trailgate.http import HttpRequest

_V4_QUERY_MARKERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")


def authenticate(
    request: HttpRequest,
    resolver: CredentialResolver,
    *,
    now: datetime,
    service_hint: str | None = None,
    virtual_host_bucket: str | None = None,
    require_auth: bool = False,
    signing_keys: SigningKeyCache | None = None,
) -> AuthResult:
    """Verify `request` and return who made it; raise `AuthError` if it can't be trusted.

    `service_hint` is the routed service name (e.g. "s3", "iam", "sts", "cloudtrail"); it picks
    the error dialect. `virtual_host_bucket` is the bucket named by the Host header of a
    virtual-hosted S3 request (SigV2 signs it as part of the resource). `require_auth` turns an
    unsigned request into MissingAuthenticationToken instead of an anonymous result.
    """
    keys = DEFAULT_SIGNING_KEYS if signing_keys is None else signing_keys
    header = (request.headers.get("authorization") or "").strip()
    params = query_params(request.query_string)
    has_v4_query = any(name in params for name in _V4_QUERY_MARKERS)
    has_s3_v2_query = (
        "AWSAccessKeyId" in params and "Signature" in params and "SignatureVersion" not in params
    )

    if header:
        if has_v4_query or has_s3_v2_query:
            raise auth_error(AuthErrorKind.MULTIPLE_AUTH, service_hint)
        scheme = header.split(" ", 1)[0]
        if scheme == ALGORITHM:
            claim = parse_header_claim(request, header, service_hint)
            return verify_v4(
                request,
                claim,
                resolver,
                now=now,
                service_hint=service_hint,
                keys=keys,
                params=params,
            )
        if scheme == "AWS":
            return verify_s3_header(
                request,
                header,
                resolver,
                now=now,
                service=service_hint or "s3",
                virtual_host_bucket=virtual_host_bucket,
            )
        raise auth_error(
            AuthErrorKind.UNSUPPORTED_AUTH,
            service_hint,
            extra=(
                {"ArgumentName": "Authorization", "ArgumentValue": header}
                if service_family(service_hint) is ServiceFamily.S3
                else None
            ),
        )

    if has_v4_query:
        claim = parse_presigned_claim(request, params, service_hint)
        return verify_v4(
            request,
            claim,
            resolver,
            now=now,
            service_hint=service_hint,
            keys=keys,
            params=params,
        )
    if has_s3_v2_query:
        return verify_s3_query(
            request,
            params,
            resolver,
            now=now,
            service=service_hint or "s3",
            virtual_host_bucket=virtual_host_bucket,
        )
    if service_family(service_hint) is not ServiceFamily.S3:
        form = form_params(request)
        names = {name for name, _ in form}
        if {"AWSAccessKeyId", "Signature", "SignatureVersion"} <= names:
            return verify_query_v2(request, form, resolver, now=now, service=service_hint)

    if require_auth:
        raise auth_error(AuthErrorKind.MISSING_AUTH, service_hint)
    return _anonymous(request, service_hint)


def _anonymous(request: HttpRequest, service_hint: str | None) -> AuthResult:
    # Unsigned clients may still frame an upload as aws-chunked with a checksum trailer.
    content_sha = (request.headers.get("x-amz-content-sha256") or "").strip()
    mode = PayloadMode.UNSIGNED
    decoded_length: int | None = None
    trailers: tuple[str, ...] = ()
    if content_sha == "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
        mode = PayloadMode.STREAMING_UNSIGNED_TRAILER
        raw_length = (request.headers.get("x-amz-decoded-content-length") or "").strip()
        decoded_length = int(raw_length) if raw_length.isdigit() else None
        trailers = tuple(
            name.strip().lower()
            for value in request.headers.get_all("x-amz-trailer")
            for name in value.split(",")
            if name.strip()
        )
    return AuthResult(
        record=None,
        signature_version=None,
        presigned=False,
        region=None,
        service=service_hint,
        payload_mode=mode,
        decoded_content_length=decoded_length,
        trailer_names=trailers,
        error_service=service_hint,
    )
