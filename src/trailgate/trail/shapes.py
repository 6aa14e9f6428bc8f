"""Turning an operation's parameters and output into CloudTrail's requestParameters and
responseElements, guided by the botocore shapes.

CloudTrail writes structure members in camelCase (`userName`, `roleSessionName`,
`s3BucketName`), keeps map keys as they are, writes timestamps the way AWS's Java services print
them ("May 1, 2024, 11:05:12 AM"), leaves out blobs and streams, and withholds secrets
(redaction.py). S3 names its parameters by their wire names (`bucketName`, `key`,
`x-amz-acl`, `prefix`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from botocore.model import Shape

from trailgate.protocol.timestamps import MONTH_ABBREVIATIONS
from trailgate.trail.redaction import REDACTED, is_secret_name

_SKIP = object()
_camel_cache: dict[str, str] = {}


def camel(name: str) -> str:
    """`UserName` -> `userName`, `S3BucketName` -> `s3BucketName`, `KMSKeyId` -> `kmsKeyId`."""
    cached = _camel_cache.get(name)
    if cached is not None:
        return cached
    run = 0
    while run < len(name) and (name[run].isupper() or name[run].isdigit()):
        run += 1
    if run == 0:
        result = name
    elif run == len(name):
        result = name.lower()
    elif run == 1:
        result = name[0].lower() + name[1:]
    else:
        # The last capital of a run starts the next word: KMSKeyId -> kms + KeyId.
        result = name[: run - 1].lower() + name[run - 1 :]
    if len(_camel_cache) < 20_000:
        _camel_cache[name] = result
    return result


def aws_time(moment: datetime) -> str:
    """The timestamp text AWS services put in CloudTrail records."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return (
        f"{MONTH_ABBREVIATIONS[moment.month - 1]} {moment.day}, {moment.year}, "
        f"{hour}:{moment.minute:02d}:{moment.second:02d} {half}"
    )




def _sensitive(member: Shape) -> bool:
    return bool(member.metadata.get("sensitive"))


def convert(shape: Shape | None, value: Any) -> Any:
    """`value` (shaped by `shape`) as CloudTrail writes it; `_SKIP` for what it leaves out."""
    if value is None:
        return _SKIP
    if shape is None:
        return _generic(value)
    type_name = shape.type_name
    if type_name == "structure":
        if not isinstance(value, dict):
            return _generic(value)
        out: dict[str, Any] = {}
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None:
                continue
            key = camel(name)
            if is_secret_name(name) or _sensitive(member):
                out[key] = REDACTED
                continue
            converted = convert(member, item)
            if converted is not _SKIP:
                out[key] = converted
        return out
    if type_name == "list":
        if not isinstance(value, list | tuple):
            return _generic(value)
        items = [convert(shape.member, item) for item in value]
        return [item for item in items if item is not _SKIP]
    if type_name == "map":
        if not isinstance(value, dict):
            return _generic(value)
        entries: dict[str, Any] = {}
        for key, item in value.items():
            if is_secret_name(str(key)):
                entries[str(key)] = REDACTED
                continue
            converted = convert(shape.value, item)
            if converted is not _SKIP:
                entries[str(key)] = converted
        return entries
    if type_name == "blob" or shape.serialization.get("streaming"):
        return _SKIP
    if _sensitive(shape):
        return REDACTED
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if isinstance(value, datetime):
        return aws_time(value)
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _SKIP
    return _generic(value)


def _generic(value: Any) -> Any:
    """Values that do not follow their shape: keep JSON-able data, still redacted by name."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if is_secret_name(name):
                out[camel(name)] = REDACTED
                continue
            converted = _generic(item)
            if converted is not _SKIP:
                out[camel(name)] = converted
        return out
    if isinstance(value, list | tuple):
        items = [_generic(item) for item in value]
        return [item for item in items if item is not _SKIP]
    if value is None or isinstance(value, bool | int | str | float | datetime):
        return _SKIP if value is None else _scalar(value)
    return _SKIP


def convert_plain(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Elements of a service without a botocore model: names kept, secrets still withheld."""
    if not value:
        return None
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = str(key)
        if is_secret_name(name):
            out[name] = REDACTED
            continue
        converted = convert_plain(item) if isinstance(item, dict) else _generic(item)
        if converted is not _SKIP and converted is not None:
            out[name] = converted
    return out or None


def convert_top(shape: Shape | None, value: dict[str, Any] | None) -> dict[str, Any] | None:
    """requestParameters / responseElements of a query or json operation (None if empty)."""
    if not value:
        return None
    converted = convert(shape, value)
    if converted is _SKIP or not converted:
        return None
    return converted if isinstance(converted, dict) else None


def convert_s3(
    shape: Shape | None,
    value: dict[str, Any] | None,
    *,
    locations: tuple[str, ...] = ("uri", "querystring", "header", "headers"),
) -> dict[str, Any]:
    """S3 parameters by wire name (`x-amz-acl`, `prefix`, `uploadId`); Bucket and Key are
    written by the caller as `bucketName` and `key`."""
    out: dict[str, Any] = {}
    if not value or shape is None:
        return out
    for name, item in value.items():
        if name in ("Bucket", "Key") or item is None:
            continue
        member = shape.members.get(name)
        if member is None:
            continue
        serialization = member.serialization
        location = serialization.get("location")
        if location not in locations:
            # The payload (bodies, XML configurations) is left out, as AWS does for large ones.
            continue
        wire = serialization.get("name", name)
        if is_secret_name(name) or is_secret_name(wire) or _sensitive(member):
            out[wire] = REDACTED
            continue
        if location == "headers" and isinstance(item, dict):
            # x-amz-meta-* user metadata: each key is its own header.
            prefix = wire
            for key, meta in item.items():
                header = f"{prefix}{key}"
                out[header] = REDACTED if is_secret_name(str(key)) else _scalar(meta)
            continue
        converted = convert(member, item)
        if converted is not _SKIP:
            out[wire] = converted
    return out


def is_skipped(value: Any) -> bool:
    return value is _SKIP
