"""Signature Version 2: S3's HMAC-SHA1 scheme (``Authorization: AWS AKID:sig`` and the
``AWSAccessKeyId``/``Signature``/``Expires`` query form) and the query-protocol SignatureVersion=2.

boto 2 signs S3 this way by default, and botocore still can (signature_version="s3").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qsl, unquote

from trailgate.auth.canonical import decode_query_component, split_query, uri_encode
from trailgate.auth.checks import (
    check_session,
    check_skew,
    iso_z,
    parse_http_date,
    resolve_record,
    signatures_match,
    utc,
)
from trailgate.auth.credentials import CredentialRecord, CredentialResolver
from trailgate.auth.errors import AuthErrorKind, auth_error
from trailgate.auth.result import AuthResult, PayloadMode
from trailgate.http import HttpRequest

# Query parameters that are part of S3's CanonicalizedResource. The union of what the SDKs that
# still sign with SigV2 (botocore's HmacV1Auth, boto 2) and the S3 documentation list: if client
# and server disagreed on one of these, every request using it would fail.
S3_SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "billing", "compose", "cors", "defaultObjectAcl",
        "delete", "encryptionConfig", "inventory", "lifecycle", "location", "logging", "metrics",
        "notification", "object-lock", "partNumber", "policy", "replication", "requestPayment",
        "response-cache-control", "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "response-expires", "restore",
        "select", "select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads",
        "userProject", "versionId", "versioning", "versions", "website", "websiteConfig",
    }
)  # fmt: skip


def _decoded_params(pairs: list[tuple[str, str, bool]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value, _ in pairs:
        key = decode_query_component(name).decode("utf-8", "replace")
        params.setdefault(key, decode_query_component(value).decode("utf-8", "replace"))
    return params


def _base64_param(value: str) -> str:
    # Form decoding turns an unescaped '+' into a space; base64 never contains spaces.
    return value.replace(" ", "+")


def s3_string_to_sign(
    request: HttpRequest,
    *,
    virtual_host_bucket: str | None,
    expires: str | None,
    resource_path: str | None = None,
) -> str:
    """METHOD, Content-MD5, Content-Type, Date (or Expires), x-amz-* headers, resource."""
    pairs = split_query(request.query_string)
    query_lower = {k.lower(): v for k, v in _decoded_params(pairs).items()}
    headers = request.headers

    def standard(name: str) -> str:
        value = headers.get(name)
        if value is None:
            value = query_lower.get(name, "")
        return value.strip()

    if expires is not None:
        date_line = expires
    elif "x-amz-date" in headers:
        date_line = ""
    else:
        date_line = standard("date")

    amz: dict[str, str] = {}
    for name in headers.keys_lower():
        if name.startswith("x-amz-"):
            amz[name] = ",".join(value.strip() for value in headers.get_all(name))
    for name, value in query_lower.items():
        if name.startswith("x-amz-") and name not in amz:
            amz[name] = value.strip()

    resource = (
        resource_path
        if resource_path is not None
        else resource_paths(request, virtual_host_bucket)[0]
    )
    subresources = [
        (name, f"{name}={unquote(value)}" if had_equals else name)
        for name, value, had_equals in pairs
        if name in S3_SUBRESOURCES
    ]
    if subresources:
        subresources.sort(key=lambda item: item[0])
        resource += "?" + "&".join(text for _, text in subresources)

    lines = [
        request.method.upper(),
        standard("content-md5"),
        standard("content-type"),
        date_line,
    ]
    lines.extend(f"{name}:{amz[name]}" for name in sorted(amz))
    lines.append(resource)
    return "\n".join(lines)


def resource_paths(request: HttpRequest, virtual_host_bucket: str | None) -> list[str]:
    """The CanonicalizedResource paths a client may have signed for this request.

    Bucket-level requests are signed as "/bucket/" (botocore and boto 2 both do, whether the
    request line says "/bucket" or "/bucket/"); "/bucket" itself is also accepted since both name
    the same bucket.
    """
    path = request.raw_path or "/"
    if virtual_host_bucket:
        return [f"/{virtual_host_bucket}{path}"]
    if path.count("/") == 1 and len(path) > 1:
        return [path + "/", path]
    return [path]


def _hmac_b64(secret: str, message: str, digest: str = "sha1") -> str:
    mac = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), getattr(hashlib, digest))
    return base64.b64encode(mac.digest()).decode("ascii")


def _matching_string_to_sign(
    request: HttpRequest,
    secret: str,
    signature: str,
    virtual_host_bucket: str | None,
    *,
    expires: str | None,
) -> str | None:
    """None when some canonical form verifies; else the primary string-to-sign, for the error."""
    first: str | None = None
    for path in resource_paths(request, virtual_host_bucket):
        to_sign = s3_string_to_sign(
            request, virtual_host_bucket=virtual_host_bucket, expires=expires, resource_path=path
        )
        if signatures_match(_hmac_b64(secret, to_sign), signature, hex_digest=False):
            return None
        first = first or to_sign
    return first


def _result(
    access_key_id: str, record: CredentialRecord, service: str | None, presigned: bool
) -> AuthResult:
    return AuthResult(
        record=record,
        signature_version="v2",
        presigned=presigned,
        region=None,
        service=service,
        payload_mode=PayloadMode.UNSIGNED,
        access_key_id=access_key_id,
        error_service=service,
    )


def verify_s3_header(
    request: HttpRequest,
    header: str,
    resolver: CredentialResolver,
    *,
    now: datetime,
    service: str | None,
    virtual_host_bucket: str | None,
) -> AuthResult:
    credentials = header.strip()[4:].strip()
    access_key_id, sep, signature = credentials.rpartition(":")
    if not sep or not access_key_id or not signature:
        raise auth_error(
            AuthErrorKind.UNSUPPORTED_AUTH,
            service,
            message="AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
        )
    raw_time = request.headers.get("x-amz-date") or request.headers.get("date")
    request_time = parse_http_date(raw_time) if raw_time else None
    if request_time is None or raw_time is None:
        raise auth_error(AuthErrorKind.MISSING_DATE, service)
    check_skew(request_time, now, service, raw_time=raw_time)

    record = resolve_record(resolver, access_key_id, service)
    check_session(record, request.headers.get("x-amz-security-token"), now, service)
    to_sign = _matching_string_to_sign(
        request, record.secret_access_key, signature, virtual_host_bucket, expires=None
    )
    if to_sign is not None:
        raise auth_error(
            AuthErrorKind.SIGNATURE_MISMATCH,
            service,
            extra={
                "AWSAccessKeyId": access_key_id,
                "StringToSign": to_sign,
                "SignatureProvided": signature,
            },
        )
    return _result(access_key_id, record, service, presigned=False)


def verify_s3_query(
    request: HttpRequest,
    params: dict[str, str],
    resolver: CredentialResolver,
    *,
    now: datetime,
    service: str | None,
    virtual_host_bucket: str | None,
) -> AuthResult:
    access_key_id = params.get("AWSAccessKeyId", "")
    signature = _base64_param(params.get("Signature", ""))
    raw_expires = params.get("Expires", "")
    if not access_key_id or not signature or not raw_expires:
        raise auth_error(
            AuthErrorKind.MISSING_AUTH,
            service,
            message="Query-string authentication requires the Signature, Expires and "
            "AWSAccessKeyId parameters",
        )
    try:
        expires_at = datetime.fromtimestamp(int(raw_expires), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise auth_error(
            AuthErrorKind.REQUEST_EXPIRED,
            service,
            message="Invalid date (should be seconds since epoch): " + raw_expires,
        ) from None
    if utc(now) > expires_at:
        raise auth_error(
            AuthErrorKind.REQUEST_EXPIRED,
            service,
            extra={"Expires": iso_z(expires_at), "ServerTime": iso_z(now)},
        )
    record = resolve_record(resolver, access_key_id, service)
    token = request.headers.get("x-amz-security-token") or params.get("x-amz-security-token")
    check_session(record, token, now, service)
    to_sign = _matching_string_to_sign(
        request, record.secret_access_key, signature, virtual_host_bucket, expires=raw_expires
    )
    if to_sign is not None:
        raise auth_error(
            AuthErrorKind.SIGNATURE_MISMATCH,
            service,
            extra={
                "AWSAccessKeyId": access_key_id,
                "StringToSign": to_sign,
                "SignatureProvided": signature,
            },
        )
    return _result(access_key_id, record, service, presigned=True)


def form_params(request: HttpRequest) -> list[tuple[str, str]]:
    """Query-protocol parameters: the query string plus a form-encoded POST body."""
    params = parse_qsl(request.query_string, keep_blank_values=True)
    content_type = (request.headers.get("content-type") or "").lower()
    if (
        request.method.upper() == "POST"
        and request.body
        and content_type.startswith("application/x-www-form-urlencoded")
    ):
        params += parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    return params


def verify_query_v2(
    request: HttpRequest,
    params: list[tuple[str, str]],
    resolver: CredentialResolver,
    *,
    now: datetime,
    service: str | None,
) -> AuthResult:
    """Query-protocol SignatureVersion 2 (HmacSHA256 or HmacSHA1 over the sorted parameters)."""
    values = dict(params)
    access_key_id = values.get("AWSAccessKeyId", "")
    signature = _base64_param(values.get("Signature", ""))
    method = values.get("SignatureMethod", "HmacSHA256")
    digest = {"HmacSHA256": "sha256", "HmacSHA1": "sha1"}.get(method)
    if not access_key_id or not signature or digest is None:
        raise auth_error(AuthErrorKind.MALFORMED_QUERY, service)
    if "Timestamp" in values:
        timestamp = _parse_iso(values["Timestamp"])
        if timestamp is None:
            raise auth_error(AuthErrorKind.MISSING_DATE, service)
        check_skew(timestamp, now, service, raw_time=values["Timestamp"])
    elif "Expires" in values:
        expires_at = _parse_iso(values["Expires"])
        if expires_at is None:
            raise auth_error(AuthErrorKind.MISSING_DATE, service)
        if utc(now) > expires_at:
            raise auth_error(
                AuthErrorKind.REQUEST_EXPIRED,
                service,
                message=f"Request has expired. Expires date is {values['Expires']}",
            )
    else:
        raise auth_error(AuthErrorKind.MISSING_DATE, service)

    record = resolve_record(resolver, access_key_id, service)
    check_session(record, values.get("SecurityToken"), now, service)
    encoded = sorted(
        (uri_encode(name.encode()), uri_encode(value.encode()))
        for name, value in params
        if name != "Signature"
    )
    canonical = "&".join(f"{name}={value}" for name, value in encoded)
    host = (request.headers.get("host") or request.absolute_host or "").lower()
    to_sign = f"{request.method.upper()}\n{host}\n{request.raw_path or '/'}\n{canonical}"
    expected = _hmac_b64(record.secret_access_key, to_sign, digest)
    if not signatures_match(expected, signature, hex_digest=False):
        raise auth_error(AuthErrorKind.SIGNATURE_MISMATCH, service)
    return _result(access_key_id, record, service, presigned=False)


def _parse_iso(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return utc(parsed)
