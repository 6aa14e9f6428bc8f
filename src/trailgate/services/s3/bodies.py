"""Object bodies in and out, from the operation's worker thread.

In: the request body (bytes the server buffered, or its async stream, pulled one chunk at a time
through `anyio.from_thread.run`) is decoded (aws-chunked with chunk signatures or trailing
checksums, or checked against the signed x-amz-content-sha256), hashed (MD5 for the ETag, the
flexible checksum asked for) and written to a blob; Content-MD5 and x-amz-checksum-* are
verified before the blob is committed. Nothing is kept in memory but the chunk in hand.

Small bodies of PutObject (up to `ROW_BODY_LIMIT`) are not written to a blob file: they are
returned in memory and stored in the object's row, in the transaction that installs the object.
A durable file needs an fsync of the file and one of its directory before the metadata commit
and its own fsync; a body in the row needs only the commit's (shared) WAL fsync, and a crash
still leaves the old object or the new one, never a torn one. Readers get such a body from the
row they read anyway (SQLite's "Internal Versus External BLOBs" measured small blobs faster in
the database than in files; object stores keep small objects with their metadata for the same
reason).

Out: small bodies are read into memory in the worker thread; larger ones become an async
iterator that reads the already-open files chunk by chunk off the event loop.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import anyio
import anyio.from_thread
import anyio.to_thread

from trailgate.auth.checksums import ALGORITHMS, is_valid_encoded, new_checksum
from trailgate.auth.result import PayloadMode
from trailgate.errors import AwsError
from trailgate.services.registry import CallContext
from trailgate.services.s3 import errors
from trailgate.store.blobs import BlobStore, BlobWriter

MAX_OBJECT_SIZE = 5 * 1024**3
# Bodies up to this size are answered from memory; larger ones are streamed.
INLINE_RESPONSE_LIMIT = 1 << 20
STREAM_CHUNK = 1 << 20
# Up to this many segments are opened before answering, so an overwrite cannot remove a part
# mid-stream; beyond it parts are opened as they are reached.
OPEN_AHEAD_SEGMENTS = 64
# PutObject bodies up to this size are kept in the object's row instead of a blob file: most
# CloudTrail log files and digests are smaller, and the database log's writes stay modest.
ROW_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class ReceivedBody:
    blob: str | None  # None: the body is `body`, to be stored in the row
    body: bytes | None
    size: int
    md5_hex: str
    checksum_algorithm: str | None
    checksum_value: str | None


async def _next_chunk(stream: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await stream.__anext__()
    except StopAsyncIteration:
        return None


def _raw_chunks(body: Any) -> Iterator[bytes]:
    if body is None:
        return
    if isinstance(body, bytes | bytearray | memoryview):
        if body:
            yield bytes(body)
        return
    while True:
        chunk = anyio.from_thread.run(_next_chunk, body)
        if chunk is None:
            return
        if chunk:
            yield chunk


def _declared_length(ctx: CallContext) -> int | None:
    request = ctx.request
    if request is None:
        return None
    auth = ctx.auth
    if auth is not None and auth.payload_mode.is_streaming:
        return auth.decoded_content_length
    raw = request.headers.get("content-length")
    return int(raw) if raw and raw.strip().isdigit() else None


def check_size(ctx: CallContext, limit: int = MAX_OBJECT_SIZE) -> None:
    declared = _declared_length(ctx)
    if declared is not None and declared > limit:
        raise errors.entity_too_large(declared, limit)


def _content_md5(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.", 400,
                       extra={"Content-MD5": value})
    return raw


def _header_checksums(ctx: CallContext) -> dict[str, str]:
    """x-amz-checksum-<algorithm> headers sent with the body (not as trailers)."""
    found: dict[str, str] = {}
    if ctx.request is None:
        return found
    for algorithm in ALGORITHMS:
        value = ctx.request.headers.get(f"x-amz-checksum-{algorithm}")
        if value is not None:
            if not is_valid_encoded(algorithm, value.strip()):
                raise errors.invalid_request(
                    f"Value for x-amz-checksum-{algorithm} header is invalid."
                )
            found[algorithm] = value.strip()
    if len(found) > 1:
        raise errors.invalid_request("Expecting a single x-amz-checksum- header. Multiple "
                                     "checksum Types are not allowed.")
    return found


def _wanted_algorithm(ctx: CallContext, requested: str | None, sent: dict[str, str]) -> str | None:
    if sent:
        return next(iter(sent))
    auth = ctx.auth
    if auth is not None:
        for name in auth.trailer_names:
            if name.startswith("x-amz-checksum-"):
                return name[len("x-amz-checksum-") :]
    if requested:
        return requested.lower()
    if ctx.request is not None:
        sdk = ctx.request.headers.get("x-amz-sdk-checksum-algorithm")
        if sdk and sdk.strip().lower() in ALGORITHMS:
            return sdk.strip().lower()
    return None


def receive(
    ctx: CallContext,
    body: Any,
    store: BlobStore,
    *,
    content_md5: str | None = None,
    checksum_algorithm: str | None = None,
    limit: int = MAX_OBJECT_SIZE,
    keep_in_row: int = 0,
) -> ReceivedBody:
    """Consume the request body into a committed blob, or, when it is at most `keep_in_row`
    bytes, into memory for the object's row; raises (and keeps nothing) on any mismatch. The
    caller deletes the blob if its metadata transaction fails."""
    check_size(ctx, limit)
    expected_md5 = _content_md5(content_md5)
    sent = _header_checksums(ctx)
    algorithm = _wanted_algorithm(ctx, checksum_algorithm, sent)
    checksum = new_checksum(algorithm) if algorithm else None
    auth = ctx.auth
    decoder: Any = None
    if auth is not None and auth.payload_mode.is_streaming:
        decoder = auth.chunk_decoder()
    elif (
        auth is not None
        and auth.payload_mode is PayloadMode.SHA256_DEFERRED
        and auth.expected_payload_sha256 is not None
    ):
        decoder = auth.payload_verifier()
    md5 = hashlib.md5(usedforsecurity=False)
    writer = _Destination(store, keep_in_row)
    try:
        for raw in _raw_chunks(body):
            data = decoder.feed(raw) if decoder is not None else raw
            if not data:
                continue
            md5.update(data)
            if checksum is not None:
                checksum.update(data)
            writer.write(data)
            if writer.size > limit:
                raise errors.entity_too_large(writer.size, limit)
        trailers: dict[str, str] = {}
        if decoder is not None:
            result = decoder.finish()
            if isinstance(result, dict):
                trailers = result
        declared = _declared_length(ctx)
        if declared is not None and writer.size != declared:
            raise AwsError(
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP "
                "header",
                400,
                extra={
                    "NumberBytesExpected": str(declared),
                    "NumberBytesProvided": str(writer.size),
                },
            )
        digest = md5.digest()
        if expected_md5 is not None and not hmac.compare_digest(digest, expected_md5):
            raise AwsError(
                "BadDigest",
                "The Content-MD5 you specified did not match what we received.",
                400,
                extra={
                    "ExpectedDigest": expected_md5.hex(),
                    "CalculatedDigest": base64.b64encode(digest).decode(),
                },
            )
        value: str | None = None
        if checksum is not None and algorithm is not None:
            value = base64.b64encode(checksum.digest()).decode()
            claimed = sent.get(algorithm) or trailers.get(f"x-amz-checksum-{algorithm}")
            if claimed is not None and claimed != value:
                raise AwsError(
                    "BadDigest",
                    f"The {algorithm.upper()} you specified did not match the calculated "
                    "checksum.",
                    400,
                )
        name, kept = writer.commit()
    except BaseException:
        writer.abort()
        raise
    return ReceivedBody(name, kept, writer.size, digest.hex(), algorithm, value)


class _Destination:
    """Where a body goes: memory while it fits in `keep_in_row` bytes, else a blob writer
    (created when the body outgrows memory, so a small body never creates a file)."""

    def __init__(self, store: BlobStore, keep_in_row: int) -> None:
        self._store = store
        self._limit = keep_in_row
        self._chunks: list[bytes] = []
        self._writer: BlobWriter | None = None if keep_in_row > 0 else store.writer()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self._writer is None and self.size <= self._limit:
            self._chunks.append(bytes(data))
            return
        if self._writer is None:
            self._writer = self._store.writer()
            for chunk in self._chunks:
                self._writer.write(chunk)
            self._chunks = []
        self._writer.write(data)

    def commit(self) -> tuple[str | None, bytes | None]:
        """(blob name, None) once the blob is durable, or (None, the body) kept in memory."""
        if self._writer is None:
            return None, b"".join(self._chunks)
        return self._writer.commit(), None

    def abort(self) -> None:
        self._chunks = []
        if self._writer is not None:
            self._writer.abort()


# --- responses -------------------------------------------------------------------------------


class _RowBody:
    """A body kept in its object row, read through the same steps as an open blob file."""

    __slots__ = ("closed", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> _RowBody:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Piece = str | bytes  # a blob's name, or the bytes of a body kept in the row
Handle = BinaryIO | _RowBody
Slice = tuple[Piece, Handle | None, int, int]


def _open(store: BlobStore, piece: Piece) -> Handle:
    return _RowBody(piece) if isinstance(piece, bytes) else store.open(piece)


def _open_slices(
    store: BlobStore, segments: Sequence[tuple[Piece, int]], start: int, end: int
) -> list[Slice]:
    """(piece, open handle or None, offset, length) covering bytes start..end inclusive."""
    slices: list[Slice] = []
    position = 0
    opened = 0
    try:
        for blob, size in segments:
            seg_start, seg_end = position, position + size - 1
            position += size
            if size == 0 or seg_end < start or seg_start > end:
                continue
            offset = max(start, seg_start) - seg_start
            length = min(end, seg_end) - max(start, seg_start) + 1
            handle = None
            if opened < OPEN_AHEAD_SEGMENTS:
                handle = _open(store, blob)
                opened += 1
            slices.append((blob, handle, offset, length))
    except BaseException:
        for _, handle, _, _ in slices:
            if handle is not None:
                handle.close()
        raise
    return slices


def _read_exact(handle: Handle, offset: int, length: int) -> bytes:
    if isinstance(handle, _RowBody):
        data = handle.data[offset : offset + length]
    else:
        data = os.pread(handle.fileno(), length, offset)
    if len(data) != length:
        raise OSError("blob shorter than its metadata says")
    return data


def body_for(
    store: BlobStore, segments: Sequence[tuple[Piece, int]], start: int, end: int
) -> bytes | AsyncIterator[bytes]:
    """Bytes start..end (inclusive) of a body made of `segments`."""
    if end < start:
        return b""
    slices = _open_slices(store, segments, start, end)
    if end - start + 1 <= INLINE_RESPONSE_LIMIT:
        parts: list[bytes] = []
        try:
            for blob, handle, offset, length in slices:
                if handle is None:
                    handle = _open(store, blob)
                with handle:
                    parts.append(_read_exact(handle, offset, length))
        finally:
            for _, handle, _, _ in slices:
                if handle is not None and not handle.closed:
                    handle.close()
        return b"".join(parts)
    return _stream(store, slices)


async def _stream(store: BlobStore, slices: list[Slice]) -> AsyncIterator[bytes]:
    try:
        for index, (blob, handle, offset, length) in enumerate(slices):
            if handle is None:
                handle = await anyio.to_thread.run_sync(_open, store, blob)
                slices[index] = (blob, handle, offset, length)
            position, remaining = offset, length
            while remaining > 0:
                size = min(STREAM_CHUNK, remaining)
                chunk = await anyio.to_thread.run_sync(_read_exact, handle, position, size)
                position += size
                remaining -= size
                yield chunk
    finally:
        for _, handle, _, _ in slices:
            if handle is not None:
                handle.close()


def read_range(
    store: BlobStore, segments: Sequence[tuple[Piece, int]], start: int, end: int
) -> Iterator[bytes]:
    """Bytes start..end (inclusive), chunk by chunk, read in the calling (worker) thread."""
    if end < start:
        return
    slices = _open_slices(store, segments, start, end)
    try:
        for index, (blob, handle, offset, length) in enumerate(slices):
            if handle is None:
                handle = _open(store, blob)
                slices[index] = (blob, handle, offset, length)
            position, remaining = offset, length
            while remaining > 0:
                size = min(STREAM_CHUNK, remaining)
                yield _read_exact(handle, position, size)
                position += size
                remaining -= size
    finally:
        for _, handle, _, _ in slices:
            if handle is not None:
                handle.close()
