"""Log files: their S3 keys and their bytes.

Keys follow CloudTrail's layout:
`[prefix/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 letters or digits>.json.gz`, where the time is
the delivery time (minute precision, UTC). The body is the gzip of compact
`{"Records":[...]}`; compression is deterministic (no timestamp, no file name) so a file that
must be written again after a crash is written byte for byte the same.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
import string
from collections.abc import Sequence
from datetime import UTC, datetime

_UNIQUE_ALPHABET = string.ascii_letters + string.digits
UNIQUE_LENGTH = 16


def unique_suffix() -> str:
    # Letters and digits only: trailscraper's file-name pattern rejects anything else.
    return "".join(secrets.choice(_UNIQUE_ALPHABET) for _ in range(UNIQUE_LENGTH))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def log_file_key(
    prefix_path: str, account_id: str, region: str, delivered_at: datetime, unique: str
) -> str:
    moment = _utc(delivered_at)
    return (
        f"{prefix_path}AWSLogs/{account_id}/CloudTrail/{region}/{moment:%Y/%m/%d}/"
        f"{account_id}_CloudTrail_{region}_{moment:%Y%m%dT%H%MZ}_{unique}.json.gz"
    )


def log_body(records: Sequence[str]) -> bytes:
    """The uncompressed file: each record is already compact JSON text."""
    return ('{"Records":[' + ",".join(records) + "]}").encode("utf-8")


def compress(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
