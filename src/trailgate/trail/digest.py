"""Digest files: their keys, their JSON document and its signature.

A digest lists the log files a trail delivered for one source region during
[digestStartTime, digestEndTime] with the SHA-256 of each file's *uncompressed* bytes, and
chains to the previous digest by its location, the SHA-256 of its uncompressed bytes and its
signature. The signature covers

    digestEndTime \\n digestS3Bucket/digestS3Object \\n hex SHA-256(uncompressed digest) \\n
    previousDigestSignature (or "null")

and travels as S3 user metadata `signature` / `signature-algorithm` on the digest object (this is
what `aws cloudtrail validate-logs` checks; see awscli/customizations/cloudtrail/validation.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trailgate.clock import iso_z
from trailgate.trail.keys import SIGNATURE_ALGORITHM, SigningKey
from trailgate.trail.writer import sha256_hex

HASH_ALGORITHM = "SHA-256"


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return iso_z(moment)


def digest_key(
    prefix_path: str,
    account_id: str,
    region: str,
    trail_name: str,
    home_region: str,
    end: datetime,
) -> str:
    moment = end.astimezone(UTC)
    return (
        f"{prefix_path}AWSLogs/{account_id}/CloudTrail-Digest/{region}/{moment:%Y/%m/%d}/"
        f"{account_id}_CloudTrail-Digest_{region}_{trail_name}_{home_region}_"
        f"{moment:%Y%m%dT%H%M%SZ}.json.gz"
    )


@dataclass(frozen=True)
class LogFileEntry:
    bucket: str
    key: str
    sha256: str
    oldest: datetime
    newest: datetime


@dataclass(frozen=True)
class Previous:
    bucket: str
    key: str
    hash: str
    signature: str


@dataclass(frozen=True)
class SignedDigest:
    body: bytes  # uncompressed JSON
    sha256: str
    signature: str
    fingerprint: str


def build(
    *,
    account_id: str,
    start: datetime,
    end: datetime,
    bucket: str,
    key: str,
    signing_key: SigningKey,
    log_files: Sequence[LogFileEntry],
    previous: Previous | None,
) -> SignedDigest:
    newest = max((f.newest for f in log_files), default=None)
    oldest = min((f.oldest for f in log_files), default=None)
    document: dict[str, Any] = {
        "awsAccountId": account_id,
        "digestStartTime": iso(start),
        "digestEndTime": iso(end),
        "digestS3Bucket": bucket,
        "digestS3Object": key,
        "digestPublicKeyFingerprint": signing_key.public.fingerprint,
        "digestSignatureAlgorithm": SIGNATURE_ALGORITHM,
        "newestEventTime": iso(newest),
        "oldestEventTime": iso(oldest),
        "previousDigestS3Bucket": previous.bucket if previous else None,
        "previousDigestS3Object": previous.key if previous else None,
        "previousDigestHashValue": previous.hash if previous else None,
        "previousDigestHashAlgorithm": HASH_ALGORITHM if previous else None,
        "previousDigestSignature": previous.signature if previous else None,
        "logFiles": [
            {
                "s3Bucket": f.bucket,
                "s3Object": f.key,
                "hashValue": f.sha256,
                "hashAlgorithm": HASH_ALGORITHM,
                "newestEventTime": iso(f.newest),
                "oldestEventTime": iso(f.oldest),
            }
            for f in log_files
        ],
    }
    body = json.dumps(document, separators=(",", ":")).encode("utf-8")
    digest_hash = sha256_hex(body)
    to_sign = "\n".join(
        [
            document["digestEndTime"],
            f"{bucket}/{key}",
            digest_hash,
            previous.signature if previous else "null",
        ]
    ).encode("utf-8")
    signature = signing_key.sign(to_sign)
    return SignedDigest(body, digest_hash, signature, signing_key.public.fingerprint)


def metadata(signature: str) -> dict[str, str]:
    """The S3 user metadata a digest object carries."""
    return {"signature": signature, "signature-algorithm": SIGNATURE_ALGORITHM}
