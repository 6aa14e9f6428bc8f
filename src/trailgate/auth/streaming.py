"""Incremental decoding and verification of S3 upload bodies.

`AwsChunkedDecoder` handles the three aws-chunked payload modes:

- STREAMING-AWS4-HMAC-SHA256-PAYLOAD: every chunk is signed, each signature chained from the
  previous one starting at the request's seed signature;
- STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: the same, plus trailing headers signed with
  ``x-amz-trailer-signature``;
- STREAMING-UNSIGNED-PAYLOAD-TRAILER: unsigned chunks whose integrity rests on a trailing
  ``x-amz-checksum-*`` header.

Bytes are fed as they arrive and decoded bytes come back, so a large upload never sits in memory.
Signed chunks are held back until their signature is verified (up to `HOLD_LIMIT` bytes per
chunk; beyond that bytes flow before the chunk ends). A consumer must therefore discard what it
wrote if `feed` or `finish` raises - which it has to do anyway, because trailing checksums and the
decoded length are only known at the end.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

from trailgate.auth.checksums import algorithm_from_header, is_valid_encoded, new_checksum
from trailgate.auth.errors import AuthError, AuthErrorKind, auth_error

if TYPE_CHECKING:
    from trailgate.auth.checksums import Checksum
    from trailgate.auth.result import ChunkSigningContext, PayloadMode

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_LINE = 4096
HOLD_LIMIT = 8 * 1024 * 1024
TRAILER_SIGNATURE = "x-amz-trailer-signature"

_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class AwsChunkedDecoder:
    """Feed raw aws-chunked bytes, get the decoded payload back; `finish()` at end of body."""

    def __init__(
        self,
        *,
        mode: PayloadMode,
        decoded_length: int | None = None,
        trailer_names: Iterable[str] = (),
        signing: ChunkSigningContext | None = None,
        service: str = "s3",
    ) -> None:
        from trailgate.auth.result import PayloadMode

        if not mode.is_streaming:
            raise ValueError(f"{mode} is not an aws-chunked mode")
        self._signed = mode in (PayloadMode.STREAMING_SIGNED, PayloadMode.STREAMING_SIGNED_TRAILER)
        self._trailer_signed = mode is PayloadMode.STREAMING_SIGNED_TRAILER
        if self._signed and signing is None:
            raise ValueError("signed aws-chunked payloads need the request's signing context")
        self._signing = signing
        self._previous = signing.seed_signature if signing else ""
        self._service = service
        self._decoded_length = decoded_length
        self._declared = tuple(name.lower() for name in trailer_names)
        self._checksums: dict[str, tuple[str, Checksum]] = {}
        for name in self._declared:
            algorithm = algorithm_from_header(name)
            if algorithm is not None:
                self._checksums[name] = (algorithm, new_checksum(algorithm))

        self._buf = bytearray()
        self._pos = 0
        self._state = _SIZE
        self._remaining = 0
        self._chunk_signature = ""
        self._chunk_hash = hashlib.sha256()
        self._held: list[bytes] = []
        self._held_size = 0
        self._produced = 0
        self._trailer_lines: list[tuple[str, str]] = []
        self.trailers: dict[str, str] = {}

    @property
    def done(self) -> bool:
        return self._state == _DONE

    @property
    def bytes_decoded(self) -> int:
        return self._produced

    def feed(self, data: bytes) -> bytes:
        """Consume more of the body; return whatever payload bytes are now known good."""
        if data:
            self._buf += data
        out: list[bytes] = []
        while self._step(out):
            pass
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        return b"".join(out)

    def finish(self) -> dict[str, str]:
        """Declare the end of the body; check that it was complete. Returns the trailers."""
        if self._state == _TRAILER and not self._trailer_lines and self._pos >= len(self._buf):
            # Some clients end the body right after the final chunk's line, without the CRLF.
            self._complete()
        if self._state != _DONE:
            raise self._incomplete()
        return dict(self.trailers)

    # -- parsing ---------------------------------------------------------------------------

    def _error(
        self,
        kind: AuthErrorKind,
        *,
        message: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> AuthError:
        return auth_error(kind, self._service, message=message, extra=extra)

    def _incomplete(self) -> AuthError:
        return self._error(AuthErrorKind.INCOMPLETE_BODY)

    def _line(self) -> str | None:
        end = self._buf.find(b"\r\n", self._pos)
        if end < 0:
            if len(self._buf) - self._pos > MAX_LINE:
                raise self._incomplete()
            return None
        if end - self._pos > MAX_LINE:
            raise self._incomplete()
        raw = bytes(self._buf[self._pos : end])
        self._pos = end + 2
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self._incomplete() from None

    def _step(self, out: list[bytes]) -> bool:
        if self._state == _SIZE:
            line = self._line()
            if line is None:
                return False
            self._start_chunk(line)
            return True
        if self._state == _DATA:
            available = len(self._buf) - self._pos
            if available == 0:
                return False
            take = min(available, self._remaining)
            piece = bytes(self._buf[self._pos : self._pos + take])
            self._pos += take
            self._remaining -= take
            self._accept(piece, out)
            if self._remaining == 0:
                self._state = _DATA_END
            return True
        if self._state == _DATA_END:
            if len(self._buf) - self._pos < 2:
                return False
            if self._buf[self._pos : self._pos + 2] != b"\r\n":
                raise self._incomplete()
            self._pos += 2
            self._end_chunk(out)
            self._state = _SIZE
            return True
        if self._state == _TRAILER:
            line = self._line()
            if line is None:
                return False
            if line == "":
                self._complete()
            else:
                name, sep, value = line.partition(":")
                if not sep or not name.strip():
                    raise self._incomplete()
                self._trailer_lines.append((name.strip().lower(), value.strip()))
            return True
        # _DONE: only stray line breaks may follow.
        if self._buf[self._pos :].strip(b"\r\n"):
            raise self._incomplete()
        self._pos = len(self._buf)
        return False

    def _start_chunk(self, line: str) -> None:
        size_text, _, extensions = line.partition(";")
        size_text = size_text.strip()
        if not size_text or len(size_text) > 16:
            raise self._incomplete()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise self._incomplete() from None
        if self._signed:
            key, _, signature = extensions.strip().partition("=")
            if key.strip() != "chunk-signature" or len(signature.strip()) != 64:
                raise self._error(AuthErrorKind.SIGNATURE_MISMATCH)
            self._chunk_signature = signature.strip().lower()
            self._chunk_hash = hashlib.sha256()
        if size == 0:
            if self._signed:
                self._verify_chunk()
            self._state = _TRAILER
        else:
            self._remaining = size
            self._state = _DATA

    def _accept(self, piece: bytes, out: list[bytes]) -> None:
        self._produced += len(piece)
        if self._decoded_length is not None and self._produced > self._decoded_length:
            raise self._length_error()
        for _, checksum in self._checksums.values():
            checksum.update(piece)
        if not self._signed:
            out.append(piece)
            return
        self._chunk_hash.update(piece)
        self._held.append(piece)
        self._held_size += len(piece)
        if self._held_size > HOLD_LIMIT:
            out.extend(self._held)
            self._held.clear()
            self._held_size = 0

    def _end_chunk(self, out: list[bytes]) -> None:
        if self._signed:
            self._verify_chunk()
            out.extend(self._held)
            self._held.clear()
            self._held_size = 0

    def _sign(self, string_to_sign: str) -> str:
        assert self._signing is not None
        return hmac.new(
            self._signing.signing_key, string_to_sign.encode("utf-8"), hashlib.sha256
        ).hexdigest()

    def _verify_chunk(self) -> None:
        assert self._signing is not None
        expected = self._sign(
            "\n".join(
                [
                    "AWS4-HMAC-SHA256-PAYLOAD",
                    self._signing.timestamp,
                    self._signing.scope,
                    self._previous,
                    EMPTY_SHA256,
                    self._chunk_hash.hexdigest(),
                ]
            )
        )
        if not hmac.compare_digest(expected.encode(), self._chunk_signature.encode()):
            raise self._error(AuthErrorKind.SIGNATURE_MISMATCH)
        self._previous = expected

    def _length_error(self) -> AuthError:
        return self._error(
            AuthErrorKind.DECODED_LENGTH_MISMATCH,
            extra={
                "NumberBytesExpected": str(self._decoded_length),
                "NumberBytesProvided": str(self._produced),
            },
        )

    def _complete(self) -> None:
        received = dict(self._trailer_lines)
        signature = received.pop(TRAILER_SIGNATURE, None)
        if self._trailer_signed and (received or self._declared):
            canonical = "".join(f"{name}:{received[name]}\n" for name in sorted(received))
            assert self._signing is not None
            expected = self._sign(
                "\n".join(
                    [
                        "AWS4-HMAC-SHA256-TRAILER",
                        self._signing.timestamp,
                        self._signing.scope,
                        self._previous,
                        hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
                    ]
                )
            )
            if signature is None or not hmac.compare_digest(
                expected.encode(), signature.strip().lower().encode()
            ):
                raise self._error(AuthErrorKind.SIGNATURE_MISMATCH)

        for name in received:
            if algorithm_from_header(name) is not None and name not in self._checksums:
                raise self._error(
                    AuthErrorKind.INVALID_TRAILER,
                    message=f"The trailing header {name} was not declared in x-amz-trailer.",
                )
        for name in self._declared:
            if name not in received:
                raise self._error(
                    AuthErrorKind.INVALID_TRAILER,
                    message=f"The {name} trailing header was declared but not sent.",
                )
        for name, (algorithm, checksum) in self._checksums.items():
            value = received[name]
            if not is_valid_encoded(algorithm, value):
                raise self._error(
                    AuthErrorKind.INVALID_TRAILER,
                    message=f"Value for {name} trailing header is invalid.",
                )
            if not hmac.compare_digest(base64.b64decode(value), checksum.digest()):
                raise self._error(
                    AuthErrorKind.BAD_DIGEST,
                    message=(
                        f"The {algorithm.upper()} you specified did not match the calculated "
                        "checksum."
                    ),
                )
        if self._decoded_length is not None and self._produced != self._decoded_length:
            raise self._length_error()
        self.trailers = received
        self._state = _DONE


class PayloadHashVerifier:
    """Checks a streamed body against the SHA-256 its signed x-amz-content-sha256 promised."""

    def __init__(self, expected_hex: str, *, service: str | None = "s3") -> None:
        self._expected = expected_hex.lower()
        self._hash = hashlib.sha256()
        self._service = service

    def feed(self, data: bytes) -> bytes:
        self._hash.update(data)
        return data

    def finish(self) -> None:
        computed = self._hash.hexdigest()
        if computed != self._expected:
            raise auth_error(
                AuthErrorKind.CONTENT_SHA256_MISMATCH,
                self._service,
                extra={
                    "ClientComputedContentSHA256": self._expected,
                    "S3ComputedContentSHA256": computed,
                },
            )


async def decode_stream(
    chunks: AsyncIterator[bytes], decoder: AwsChunkedDecoder | PayloadHashVerifier
) -> AsyncIterator[bytes]:
    """Wrap a body stream: yields verified payload bytes, raises AuthError on any failure."""
    async for piece in chunks:
        decoded = decoder.feed(piece)
        if decoded:
            yield decoded
    decoder.finish()
