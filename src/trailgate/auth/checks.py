"""Checks shared by every signature version: key lookup, session token rules, clock skew."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from trailgate.auth.credentials import CredentialRecord, CredentialResolver
from trailgate.auth.errors import AuthErrorKind, ServiceFamily, auth_error, service_family
from trailgate.clock import iso_z

MAX_SKEW = timedelta(minutes=15)
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def utc(moment: datetime) -> datetime:
    """Treat naive datetimes as UTC; convert aware ones to UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def amz_date(moment: datetime) -> str:
    return utc(moment).strftime(AMZ_DATE_FORMAT)


def parse_amz_date(value: str) -> datetime | None:
    """Parse the ISO 8601 basic form SigV4 uses (20130524T000000Z)."""
    value = value.strip()
    try:
        if (
            len(value) == 16
            and value.isascii()
            and value[:8].isdigit()
            and value[8] == "T"
            and value[9:15].isdigit()
            and value[15] == "Z"
        ):
            # Every signed request carries one: strptime costs ten times as much.
            return datetime(
                int(value[0:4]), int(value[4:6]), int(value[6:8]),
                int(value[9:11]), int(value[11:13]), int(value[13:15]), tzinfo=UTC,
            )  # fmt: skip
        return datetime.strptime(value, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_http_date(value: str) -> datetime | None:
    """Parse an HTTP date (RFC 1123 and its legacy variants), or SigV4's basic ISO form."""
    value = value.strip()
    parsed = parse_amz_date(value)
    if parsed is not None:
        return parsed
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return utc(parsed) if parsed is not None else None


def check_skew(
    request_time: datetime, now: datetime, service: str | None, *, raw_time: str
) -> None:
    """Reject requests signed more than 15 minutes away from the server clock."""
    now = utc(now)
    if abs(now - request_time) <= MAX_SKEW:
        return
    family = service_family(service)
    if family is ServiceFamily.S3:
        raise auth_error(
            AuthErrorKind.TIME_SKEWED,
            service,
            extra={
                "RequestTime": raw_time,
                "ServerTime": iso_z(now),
                "MaxAllowedSkewMilliseconds": str(int(MAX_SKEW.total_seconds() * 1000)),
            },
        )
    signed = amz_date(request_time)
    if request_time < now:
        message = (
            f"Signature expired: {signed} is now earlier than {amz_date(now - MAX_SKEW)} "
            f"({amz_date(now)} - 15 min.)"
        )
    else:
        message = (
            f"Signature not yet current: {signed} is still later than "
            f"{amz_date(now + MAX_SKEW)} ({amz_date(now)} + 15 min.)"
        )
    raise auth_error(AuthErrorKind.TIME_SKEWED, service, message=message)


def resolve_record(
    resolver: CredentialResolver, access_key_id: str, service: str | None
) -> CredentialRecord:
    """Look the key up; unknown and inactive keys fail the same way, as on AWS."""
    record = resolver(access_key_id)
    extra = {"AWSAccessKeyId": access_key_id}
    s3 = service_family(service) is ServiceFamily.S3
    if record is None or record.access_key_id != access_key_id:
        raise auth_error(AuthErrorKind.UNKNOWN_KEY, service, extra=extra if s3 else None)
    if not record.active:
        raise auth_error(AuthErrorKind.INACTIVE_KEY, service, extra=extra if s3 else None)
    return record


def check_session(
    record: CredentialRecord, token: str | None, now: datetime, service: str | None
) -> None:
    """Temporary keys need their exact session token and an unexpired session.

    A long-term key presented with any token is rejected too: AWS treats the pair as an unknown
    session.
    """
    s3 = service_family(service) is ServiceFamily.S3
    if record.session_token is None:
        if token:
            raise auth_error(AuthErrorKind.INVALID_TOKEN, service)
    else:
        if not token:
            extra = {"AWSAccessKeyId": record.access_key_id} if s3 else None
            raise auth_error(AuthErrorKind.MISSING_TOKEN, service, extra=extra)
        if not hmac.compare_digest(token.encode(), record.session_token.encode()):
            raise auth_error(AuthErrorKind.INVALID_TOKEN, service)
    expires = record.expires_at or record.principal.expires_at
    if expires is not None and utc(expires) <= utc(now):
        raise auth_error(AuthErrorKind.EXPIRED_TOKEN, service)


def signatures_match(expected: str, provided: str, *, hex_digest: bool = True) -> bool:
    """Constant-time comparison; SigV4's hex digests compare case-insensitively."""
    candidate = provided.strip()
    if hex_digest:
        candidate = candidate.lower()
    return hmac.compare_digest(expected.encode(), candidate.encode())
