"""The outcome of authenticating one request (`AuthResult`) and how its body must be verified."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from trailgate.auth.credentials import CredentialRecord
from trailgate.auth.principal import Principal

if TYPE_CHECKING:
    from trailgate.auth.streaming import AwsChunkedDecoder, PayloadHashVerifier


class PayloadMode(StrEnum):
    """How far the signature vouches for the body, and what the body reader still has to check.

    SIGNED: the body was hashed and checked during authentication.
    UNSIGNED: nothing covers the body (UNSIGNED-PAYLOAD, SigV2, anonymous).
    SHA256_DEFERRED: the signed x-amz-content-sha256 must be checked while streaming the body
        (`AuthResult.payload_verifier()`).
    STREAMING_*: the body is aws-chunked; decode it with `AuthResult.chunk_decoder()`.
    """

    SIGNED = "signed"
    UNSIGNED = "unsigned"
    SHA256_DEFERRED = "sha256-deferred"
    STREAMING_SIGNED = "streaming-signed"
    STREAMING_SIGNED_TRAILER = "streaming-signed-trailer"
    STREAMING_UNSIGNED_TRAILER = "streaming-unsigned-trailer"

    @property
    def is_streaming(self) -> bool:
        return self.value.startswith("streaming-")


@dataclass(frozen=True)
class ChunkSigningContext:
    """What per-chunk signature verification chains from: the request's seed signature."""

    signing_key: bytes = field(repr=False)
    timestamp: str
    scope: str
    seed_signature: str


@dataclass(frozen=True)
class AuthResult:
    """A verified request. `record` is None for anonymous (unsigned) requests."""

    record: CredentialRecord | None
    signature_version: Literal["v4", "v2"] | None
    presigned: bool
    region: str | None
    service: str | None
    payload_mode: PayloadMode
    access_key_id: str | None = None
    expected_payload_sha256: str | None = None
    decoded_content_length: int | None = None
    trailer_names: tuple[str, ...] = ()
    chunk_signing: ChunkSigningContext | None = field(default=None, repr=False)
    error_service: str | None = None
    # When a SigV4 request says it was signed (X-Amz-Date), for s3:signatureAge.
    signed_at: datetime | None = None

    @property
    def principal(self) -> Principal:
        return self.record.principal if self.record else Principal.anonymous()

    @property
    def is_anonymous(self) -> bool:
        return self.record is None

    def chunk_decoder(self) -> AwsChunkedDecoder:
        """A fresh incremental aws-chunked decoder for this request's body."""
        from trailgate.auth.streaming import AwsChunkedDecoder

        if not self.payload_mode.is_streaming:
            raise ValueError(f"payload mode {self.payload_mode} is not aws-chunked")
        return AwsChunkedDecoder(
            mode=self.payload_mode,
            decoded_length=self.decoded_content_length,
            trailer_names=self.trailer_names,
            signing=self.chunk_signing,
            service=self.error_service or "s3",
        )

    def payload_verifier(self) -> PayloadHashVerifier:
        """Checks a streamed body against the signed x-amz-content-sha256."""
        from trailgate.auth.streaming import PayloadHashVerifier

        if self.expected_payload_sha256 is None:
            raise ValueError("no payload hash to verify for this request")
        return PayloadHashVerifier(self.expected_payload_sha256, service=self.error_service)
