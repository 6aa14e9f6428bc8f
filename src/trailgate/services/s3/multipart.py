"""Multipart uploads: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts and
ListMultipartUploads.

Each part is its own durable blob. Completing an upload moves no data: the object's body is the
chosen parts in order (their rows stay, keyed by the upload id); parts left out are deleted.
The ETag is the MD5 of the concatenated part MD5s, then "-" and the part count, as S3 computes it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from itertools import pairwise
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select

from trailgate.errors import AwsError
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.services.s3 import bodies, errors
from trailgate.services.s3.authz import bucket_check, object_check, require_bucket
from trailgate.services.s3.copy import copy_bytes, copy_source_version, source_checks
from trailgate.services.s3.listing import check_encoding, encoder, list_condition_keys, rolls_up
from trailgate.services.s3.objects import (
    check_key,
    check_write_conditions,
    object_acl,
    object_owner,
    version_output,
    write_condition_keys,
)
from trailgate.services.s3.records import (
    NULL_VERSION,
    ObjectVersion,
    blob_store,
    current_object,
    owner_of,
    read_bucket,
    write,
)
from trailgate.services.s3.tagging import tags_from_header
from trailgate.services.s3.writes import acl_text, install, system_headers, user_metadata
from trailgate.store.schema_s3 import s3_parts, s3_uploads

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10000
MAX_UPLOAD_PARTS = 1000


def _new_upload_id() -> str:
    return secrets.token_urlsafe(48)


def _authorize_write(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [object_check(ctx, bucket, params["Key"], "s3:PutObject",
                         write_condition_keys(ctx, params))]


@operation("s3", "CreateMultipartUpload", authorize=_authorize_write)
def create_multipart_upload(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    key = check_key(params["Key"])
    bucket = require_bucket(ctx, params["Bucket"])
    acl = object_acl(ctx, bucket, params)
    tags = tags_from_header(params.get("Tagging"))
    headers = system_headers(params)
    headers.setdefault("ContentType", "binary/octet-stream")
    upload_id = _new_upload_id()
    principal = ctx.principal
    with write(ctx.runtime) as conn:
        if read_bucket(ctx.runtime, conn, bucket.name, lock=True) is None:
            raise errors.no_such_bucket(bucket.name)
        conn.execute(
            insert(s3_uploads).values(
                upload_id=upload_id,
                bucket=bucket.name,
                key=key,
                initiated=ctx.now,
                owner_account=object_owner(ctx, bucket, acl),
                initiator_arn=principal.arn or "anonymous",
                initiator_id=principal.principal_id or "anonymous",
                headers=json.dumps(headers),
                user_metadata=json.dumps(user_metadata(params)),
                acl=acl_text(acl),
                tags=json.dumps(tags) if tags else None,
                checksum_algorithm=(params.get("ChecksumAlgorithm") or "").lower() or None,
                storage_class=params.get("StorageClass") or "STANDARD",
            )
        )
    output: dict[str, Any] = {"Bucket": bucket.name, "Key": key, "UploadId": upload_id}
    if params.get("ChecksumAlgorithm"):
        output["ChecksumAlgorithm"] = params["ChecksumAlgorithm"]
    return output


def _upload(conn: Any, bucket: str, key: str, upload_id: str) -> Any:
    row = conn.execute(select(s3_uploads).where(s3_uploads.c.upload_id == upload_id)).first()
    if row is None or row.bucket != bucket or row.key != key:
        raise errors.no_such_upload(upload_id)
    return row


def _check_part_number(number: int) -> None:
    if not 1 <= number <= MAX_PART_NUMBER:
        raise errors.invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive", "partNumber",
            str(number),
        )


def _store_part(
    ctx: CallContext, params: dict[str, Any], blob: str, size: int, md5_hex: str,
    checksum: str | None,
) -> None:
    runtime = ctx.runtime
    store = blob_store(runtime)
    garbage: list[str] = []
    try:
        with write(runtime) as conn:
            if read_bucket(runtime, conn, params["Bucket"], lock=True) is None:
                raise errors.no_such_bucket(params["Bucket"])
            _upload(conn, params["Bucket"], params["Key"], params["UploadId"])
            key = (s3_parts.c.upload_id == params["UploadId"]) & (
                s3_parts.c.part_number == params["PartNumber"]
            )
            old = conn.execute(select(s3_parts.c.blob).where(key)).first()
            if old is not None:
                garbage.append(old.blob)
                conn.execute(delete(s3_parts).where(key))
            conn.execute(
                insert(s3_parts).values(
                    upload_id=params["UploadId"], part_number=params["PartNumber"], blob=blob,
                    size=size, etag=md5_hex, last_modified=ctx.now, checksum_value=checksum,
                )
            )
    except BaseException:
        store.delete([blob])
        raise
    store.delete(garbage)


@operation("s3", "UploadPart", authorize=_authorize_write)
def upload_part(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    _check_part_number(params["PartNumber"])
    with ctx.runtime.db.read() as conn:
        _upload(conn, params["Bucket"], params["Key"], params["UploadId"])
    received = bodies.receive(
        ctx, params.get("Body"), blob_store(ctx.runtime),
        content_md5=params.get("ContentMD5"),
        checksum_algorithm=params.get("ChecksumAlgorithm"),
    )
    assert received.blob is not None  # parts are never kept in a row
    _store_part(ctx, params, received.blob, received.size, received.md5_hex,
                received.checksum_value)
    output: dict[str, Any] = {"ETag": f'"{received.md5_hex}"'}
    if received.checksum_algorithm and received.checksum_value:
        output[f"Checksum{received.checksum_algorithm.upper()}"] = received.checksum_value
    return output


def _authorize_part_copy(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    checks = source_checks(ctx, params["CopySource"])
    checks.append(object_check(ctx, bucket, params["Key"], "s3:PutObject",
                               write_condition_keys(ctx, params)))
    return checks


def _copy_range(header: str | None, size: int) -> tuple[int, int]:
    if header is None:
        return 0, size - 1
    text = header.strip()
    if text.startswith("bytes="):
        first, sep, last = text[len("bytes="):].partition("-")
        if sep and first.isdigit() and last.isdigit():
            start, end = int(first), int(last)
            if start <= end < size:
                return start, end
    raise errors.invalid_argument(
        f"Range specified is not valid for source object of size: {size}",
        "x-amz-copy-source-range", header,
    )


@operation("s3", "UploadPartCopy", authorize=_authorize_part_copy, per_item=True)
def upload_part_copy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    _check_part_number(params["PartNumber"])
    with ctx.runtime.db.read() as conn:
        _upload(conn, params["Bucket"], params["Key"], params["UploadId"])
    source, version = copy_source_version(ctx, params)
    start, end = _copy_range(params.get("CopySourceRange"), version.size)
    blob, size, md5_hex = copy_bytes(ctx, version, start, end)
    _store_part(ctx, params, blob, size, md5_hex, None)
    output: dict[str, Any] = {"CopyPartResult": {"ETag": f'"{md5_hex}"',
                                                 "LastModified": ctx.now}}
    if source.version_id is not None or version.version_id != NULL_VERSION:
        output["CopySourceVersionId"] = version.version_id
    return output


def _invalid_part(upload_id: str, number: int, etag: str) -> AwsError:
    return AwsError(
        "InvalidPart",
        "One or more of the specified parts could not be found.  The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag.",
        400,
        extra={"UploadId": upload_id, "PartNumber": str(number), "ETag": etag},
    )


@operation("s3", "CompleteMultipartUpload", authorize=_authorize_write)
def complete_multipart_upload(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name, key, upload_id = params["Bucket"], params["Key"], params["UploadId"]
    listed = (params.get("MultipartUpload") or {}).get("Parts") or []
    if not listed:
        raise errors.malformed_xml()
    numbers = [p.get("PartNumber") for p in listed]
    if any(n is None for n in numbers):
        raise errors.malformed_xml()
    if any(b <= a for a, b in pairwise(numbers)):
        raise AwsError(
            "InvalidPartOrder",
            "The list of parts was not in ascending order. Parts must be ordered by part "
            "number.",
            400,
            extra={"UploadId": upload_id},
        )
    runtime = ctx.runtime
    store = blob_store(runtime)
    with write(runtime) as conn:
        bucket = read_bucket(runtime, conn, name, lock=True)
        if bucket is None:
            raise errors.no_such_bucket(name)
        upload = _upload(conn, name, key, upload_id)
        stored = {
            r.part_number: r
            for r in conn.execute(select(s3_parts).where(s3_parts.c.upload_id == upload_id))
        }
        md5s = b""
        total = 0
        for index, part in enumerate(listed):
            number = part["PartNumber"]
            etag = str(part.get("ETag") or "").strip().strip('"')
            row = stored.get(number)
            if row is None or row.etag != etag:
                raise _invalid_part(upload_id, number, str(part.get("ETag") or ""))
            if index < len(listed) - 1 and row.size < MIN_PART_SIZE:
                raise AwsError(
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed object size.",
                    400,
                    extra={"ProposedSize": str(row.size), "MinSizeAllowed": str(MIN_PART_SIZE),
                           "PartNumber": str(number), "ETag": row.etag},
                )
            md5s += bytes.fromhex(row.etag)
            total += row.size
        if total > bodies.MAX_OBJECT_SIZE * 1000:
            raise errors.entity_too_large(total, bodies.MAX_OBJECT_SIZE * 1000)
        check_write_conditions(current_object(conn, name, key), params, key)
        unused = [n for n in stored if n not in set(numbers)]
        garbage = [stored[n].blob for n in unused]
        if unused:
            conn.execute(
                delete(s3_parts).where(s3_parts.c.upload_id == upload_id,
                                       s3_parts.c.part_number.in_(unused))
            )
        conn.execute(delete(s3_uploads).where(s3_uploads.c.upload_id == upload_id))
        etag = f"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(listed)}"
        version = ObjectVersion(
            bucket=name, key=key, version_id=NULL_VERSION, seq=0, size=total, etag=etag,
            last_modified=ctx.now,
            headers=json.loads(upload.headers) if upload.headers else {},
            user_metadata=json.loads(upload.user_metadata) if upload.user_metadata else {},
            blob=None, upload_id=upload_id, parts_count=len(listed), checksum_algorithm=None,
            checksum_value=None, tags=json.loads(upload.tags) if upload.tags else [],
            acl=upload.acl, owner_account=upload.owner_account,
            storage_class=upload.storage_class,
        )
        garbage += install(conn, bucket, version)
    store.delete(garbage)
    location = f"http://{ctx.request.host}/{name}/{key}" if ctx.request else f"/{name}/{key}"
    return {
        "Location": location,
        "Bucket": name,
        "Key": key,
        "ETag": version.quoted_etag,
        **version_output(bucket, version.version_id),
    }


def _authorize_abort(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [object_check(ctx, bucket, params["Key"], "s3:AbortMultipartUpload")]


@operation("s3", "AbortMultipartUpload", authorize=_authorize_abort)
def abort_multipart_upload(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    upload_id = params["UploadId"]
    runtime = ctx.runtime
    with write(runtime) as conn:
        if read_bucket(runtime, conn, params["Bucket"], lock=True) is None:
            raise errors.no_such_bucket(params["Bucket"])
        _upload(conn, params["Bucket"], params["Key"], upload_id)
        blobs = [
            r.blob
            for r in conn.execute(select(s3_parts.c.blob).where(s3_parts.c.upload_id == upload_id))
        ]
        conn.execute(delete(s3_parts).where(s3_parts.c.upload_id == upload_id))
        conn.execute(delete(s3_uploads).where(s3_uploads.c.upload_id == upload_id))
    blob_store(runtime).delete(blobs)
    return {}


def _principal_entry(arn: str, principal_id: str) -> dict[str, str]:
    return {"ID": arn if arn != "anonymous" else "anonymous", "DisplayName": principal_id}


def _authorize_list_parts(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [object_check(ctx, bucket, params["Key"], "s3:ListMultipartUploadParts")]


@operation("s3", "ListParts", authorize=_authorize_list_parts, read_only=True)
def list_parts(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    upload_id = params["UploadId"]
    limit = params.get("MaxParts")
    limit = MAX_UPLOAD_PARTS if limit is None else max(0, min(limit, MAX_UPLOAD_PARTS))
    marker = params.get("PartNumberMarker") or 0
    with ctx.runtime.db.read() as conn:
        upload = _upload(conn, params["Bucket"], params["Key"], upload_id)
        rows = conn.execute(
            select(s3_parts)
            .where(s3_parts.c.upload_id == upload_id, s3_parts.c.part_number > marker)
            .order_by(s3_parts.c.part_number)
            .limit(limit + 1)
        ).all()
    truncated = len(rows) > limit
    rows = rows[:limit]
    output: dict[str, Any] = {
        "Bucket": params["Bucket"],
        "Key": params["Key"],
        "UploadId": upload_id,
        "PartNumberMarker": marker,
        "MaxParts": limit,
        "IsTruncated": truncated,
        "Parts": [
            {"PartNumber": r.part_number, "LastModified": r.last_modified,
             "ETag": f'"{r.etag}"', "Size": r.size}
            for r in rows
        ],
        "Initiator": _principal_entry(upload.initiator_arn, upload.initiator_id),
        "Owner": owner_of(upload.owner_account),
        "StorageClass": upload.storage_class,
    }
    if rows:
        output["NextPartNumberMarker"] = rows[-1].part_number
    if upload.checksum_algorithm:
        output["ChecksumAlgorithm"] = upload.checksum_algorithm.upper()
    return output


def _authorize_list_uploads(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [bucket_check(ctx, bucket, "s3:ListBucketMultipartUploads",
                         list_condition_keys(params, "MaxUploads"))]


@operation("s3", "ListMultipartUploads", authorize=_authorize_list_uploads, read_only=True)
def list_multipart_uploads(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    bucket = require_bucket(ctx, params["Bucket"])
    prefix = params.get("Prefix") or ""
    delimiter = params.get("Delimiter") or None
    key_marker = params.get("KeyMarker") or None
    upload_marker = params.get("UploadIdMarker") or None
    limit = params.get("MaxUploads")
    limit = MAX_UPLOAD_PARTS if limit is None else max(0, min(limit, MAX_UPLOAD_PARTS))
    enc = encoder(check_encoding(params))
    t = s3_uploads
    query = select(t).where(t.c.bucket == bucket.name, t.c.key >= prefix)
    if key_marker is not None:
        if upload_marker is not None:
            query = query.where(
                or_(t.c.key > key_marker,
                    and_(t.c.key == key_marker, t.c.upload_id > upload_marker))
            )
        else:
            query = query.where(t.c.key > key_marker)
    query = query.order_by(t.c.key, t.c.initiated, t.c.upload_id)
    uploads: list[dict[str, Any]] = []
    prefixes: list[str] = []
    truncated = False
    next_key = next_upload = None
    with ctx.runtime.db.read() as conn:
        for row in conn.execute(query):
            if not row.key.startswith(prefix):
                break
            group = rolls_up(row.key, prefix, delimiter)
            if group is not None and prefixes and prefixes[-1] == group:
                continue
            if len(uploads) + len(prefixes) >= limit:
                truncated = True
                break
            if group is not None:
                prefixes.append(group)
                next_key, next_upload = group, None
                continue
            uploads.append({
                "UploadId": row.upload_id,
                "Key": enc(row.key),
                "Initiated": row.initiated,
                "StorageClass": row.storage_class,
                "Owner": owner_of(row.owner_account),
                "Initiator": _principal_entry(row.initiator_arn, row.initiator_id),
            })
            next_key, next_upload = row.key, row.upload_id
    output: dict[str, Any] = {
        "Bucket": bucket.name,
        "KeyMarker": enc(key_marker or ""),
        "UploadIdMarker": upload_marker or "",
        "Prefix": enc(prefix),
        "MaxUploads": limit,
        "IsTruncated": truncated,
        "Uploads": uploads or None,
        "CommonPrefixes": [{"Prefix": enc(p)} for p in prefixes] or None,
    }
    if delimiter:
        output["Delimiter"] = enc(delimiter)
    if truncated:
        output["NextKeyMarker"] = enc(next_key)
        if next_upload:
            output["NextUploadIdMarker"] = next_upload
    if params.get("EncodingType"):
        output["EncodingType"] = "url"
    return {k: v for k, v in output.items() if v is not None}
