"""aws-chunked uploads: AWS's documented example, bodies botocore really sends, and failures."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import tracemalloc
import zlib
from datetime import UTC, datetime

import pytest
from auth_support import USER_KEY, capture, now, resolver
from botocore.config import Config

from trailgate.auth import (
    AuthError,
    AuthErrorKind,
    AwsChunkedDecoder,
    ChunkSigningContext,
    CredentialRecord,
    PayloadMode,
    Principal,
    authenticate,
    checksum_b64,
    decode_stream,
    derive_signing_key,
)
from trailgate.http import Headers, HttpRequest

# The example in the S3 API reference, "Signature calculations for the Authorization header:
# transferring payload in multiple chunks": 65 KiB of "a" in 64 KiB chunks.
DOC_KEY = "AKIAIOSFODNN7EXAMPLE"
DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
DOC_CHUNK_SIGNATURES = (
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
)
DOC_TIME = datetime(2013, 5, 24, 0, 5, tzinfo=UTC)


def _doc_body(final_signature: str = DOC_CHUNK_SIGNATURES[2]) -> bytes:
    first, second, _ = DOC_CHUNK_SIGNATURES
    return b"".join(
        [
            f"10000;chunk-signature={first}\r\n".encode(),
            b"a" * 65536,
            b"\r\n",
            f"400;chunk-signature={second}\r\n".encode(),
            b"a" * 1024,
            b"\r\n",
            f"0;chunk-signature={final_signature}\r\n\r\n".encode(),
        ]
    )


def _doc_request(body: bytes | None) -> HttpRequest:
    headers = [
        ("Host", "s3.amazonaws.com"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        (
            "Authorization",
            f"AWS4-HMAC-SHA256 Credential={DOC_KEY}/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
            f"x-amz-decoded-content-length;x-amz-storage-class,Signature={DOC_SEED}",
        ),
        ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        ("Content-Encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
        ("Content-Length", "66824"),
    ]
    return HttpRequest("PUT", "/examplebucket/chunkObject.txt", "", Headers(headers), body=body)


def _doc_resolver():
    record = CredentialRecord(DOC_KEY, DOC_SECRET, Principal.root("111122223333"))
    return {DOC_KEY: record}.get


def _decode(decoder: AwsChunkedDecoder, body: bytes, step: int) -> bytes:
    out = bytearray()
    for offset in range(0, len(body), step):
        out += decoder.feed(body[offset : offset + step])
    decoder.finish()
    return bytes(out)


def test_aws_documented_example_verifies() -> None:
    assert len(_doc_body()) == 66824
    result = authenticate(_doc_request(None), _doc_resolver(), now=DOC_TIME, service_hint="s3")
    assert result.payload_mode is PayloadMode.STREAMING_SIGNED
    assert result.decoded_content_length == 66560
    for step in (7, 997, 4096, 65536, 70000):
        assert _decode(result.chunk_decoder(), _doc_body(), step) == b"a" * 66560


def test_aws_example_tampering() -> None:
    result = authenticate(_doc_request(None), _doc_resolver(), now=DOC_TIME, service_hint="s3")
    body = bytearray(_doc_body())
    body[1000] = ord("b")
    decoder = result.chunk_decoder()
    with pytest.raises(AuthError) as caught:
        _decode(decoder, bytes(body), 4096)
    assert caught.value.kind is AuthErrorKind.SIGNATURE_MISMATCH
    assert caught.value.code == "SignatureDoesNotMatch"

    with pytest.raises(AuthError):
        _decode(result.chunk_decoder(), _doc_body(final_signature="0" * 64), 65536)

    # Dropping a chunk breaks the chain even though every remaining signature is genuine.
    _, second, final = DOC_CHUNK_SIGNATURES
    skipped = (
        f"400;chunk-signature={second}\r\n".encode()
        + b"a" * 1024
        + f"\r\n0;chunk-signature={final}\r\n\r\n".encode()
    )
    with pytest.raises(AuthError):
        _decode(result.chunk_decoder(), skipped, 100)


def test_signed_chunks_are_held_until_verified() -> None:
    result = authenticate(_doc_request(None), _doc_resolver(), now=DOC_TIME, service_hint="s3")
    decoder = result.chunk_decoder()
    body = _doc_body()
    partial = decoder.feed(body[:60000])
    assert partial == b""  # the first chunk isn't complete, so nothing is released yet
    assert decoder.feed(body[60000:66000]) == b"a" * 65536
    assert decoder.feed(body[66000:]) == b"a" * 1024


def test_truncated_and_overlong_bodies() -> None:
    result = authenticate(_doc_request(None), _doc_resolver(), now=DOC_TIME, service_hint="s3")
    decoder = result.chunk_decoder()
    decoder.feed(_doc_body()[:-40])
    with pytest.raises(AuthError) as caught:
        decoder.finish()
    assert (caught.value.code, caught.value.message) == (
        "IncompleteBody",
        "The request body terminated unexpectedly",
    )
    decoder = result.chunk_decoder()
    with pytest.raises(AuthError):
        decoder.feed(_doc_body() + b"garbage")


def _unsigned_trailer_put(body: bytes, **params: object) -> HttpRequest:
    sent = capture(
        "s3",
        lambda c: c.put_object(Bucket="bucket", Key="k", Body=body, **params),
        endpoint="https://127.0.0.1:9000",
        config=Config(s3={"addressing_style": "path"}),
    )
    return sent[0]


@pytest.mark.parametrize("algorithm", [None, "CRC32", "SHA1", "SHA256"])
def test_botocore_unsigned_trailer_upload(algorithm: str | None) -> None:
    payload = bytes(range(256)) * 300
    params = {"ChecksumAlgorithm": algorithm} if algorithm else {}
    received = _unsigned_trailer_put(payload, **params)
    assert received.headers.get("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    result = authenticate(received, resolver(), now=now(), service_hint="s3")
    assert result.payload_mode is PayloadMode.STREAMING_UNSIGNED_TRAILER
    expected_trailer = f"x-amz-checksum-{(algorithm or 'CRC32').lower()}"
    assert result.trailer_names == (expected_trailer,)
    decoder = result.chunk_decoder()
    assert _decode(decoder, received.body or b"", 1000) == payload
    assert decoder.trailers[expected_trailer] == checksum_b64(algorithm or "crc32", payload)


def test_unsigned_trailer_bad_checksum_and_length() -> None:
    payload = b"hello world" * 100
    received = _unsigned_trailer_put(payload)
    result = authenticate(received, resolver(), now=now(), service_hint="s3")
    body = received.body or b""
    good = checksum_b64("crc32", payload)
    wrong = base64.b64encode(b"\0\0\0\0").decode()
    with pytest.raises(AuthError) as caught:
        _decode(result.chunk_decoder(), body.replace(good.encode(), wrong.encode()), 64)
    assert (caught.value.code, caught.value.message) == (
        "BadDigest",
        "The CRC32 you specified did not match the calculated checksum.",
    )
    with pytest.raises(AuthError) as caught:
        _decode(result.chunk_decoder(), body.replace(good.encode(), b"not base64!"), 64)
    assert caught.value.message == "Value for x-amz-checksum-crc32 trailing header is invalid."
    tampered = body.replace(b"hello", b"HELLO", 1)
    with pytest.raises(AuthError) as caught:
        _decode(result.chunk_decoder(), tampered, 64)
    assert caught.value.code == "BadDigest"

    short = AwsChunkedDecoder(
        mode=PayloadMode.STREAMING_UNSIGNED_TRAILER,
        decoded_length=len(payload) - 1,
        trailer_names=result.trailer_names,
    )
    with pytest.raises(AuthError) as caught:
        _decode(short, body, 64)
    assert caught.value.kind is AuthErrorKind.DECODED_LENGTH_MISMATCH
    assert caught.value.extra["NumberBytesExpected"] == str(len(payload) - 1)


def _signed_trailer_body(
    context: ChunkSigningContext, payload: bytes, chunk: int, *, checksum: str | None = None
) -> bytes:
    """Encode per the S3 trailing-header specification (independently of the decoder)."""

    def sign(kind: str, previous: str, *hashes: str) -> str:
        text = "\n".join([kind, context.timestamp, context.scope, previous, *hashes])
        return hmac.new(context.signing_key, text.encode(), hashlib.sha256).hexdigest()

    empty = hashlib.sha256(b"").hexdigest()
    previous = context.seed_signature
    out = bytearray()
    pieces = [payload[i : i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    for piece in pieces:
        previous = sign(
            "AWS4-HMAC-SHA256-PAYLOAD", previous, empty, hashlib.sha256(piece).hexdigest()
        )
        out += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece
        if piece:
            out += b"\r\n"
    value = checksum or base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    canonical = f"x-amz-checksum-crc32:{value}\n"
    trailer_signature = sign(
        "AWS4-HMAC-SHA256-TRAILER", previous, hashlib.sha256(canonical.encode()).hexdigest()
    )
    out += f"x-amz-checksum-crc32:{value}\r\n".encode()
    out += f"x-amz-trailer-signature:{trailer_signature}\r\n\r\n".encode()
    return bytes(out)


def _context() -> ChunkSigningContext:
    return ChunkSigningContext(
        signing_key=derive_signing_key("secret", "20240101", "us-east-1", "s3"),
        timestamp="20240101T000000Z",
        scope="20240101/us-east-1/s3/aws4_request",
        seed_signature="f" * 64,
    )


def test_signed_payload_with_signed_trailer() -> None:
    payload = b"0123456789" * 2000
    body = _signed_trailer_body(_context(), payload, 8192)

    def decoder() -> AwsChunkedDecoder:
        return AwsChunkedDecoder(
            mode=PayloadMode.STREAMING_SIGNED_TRAILER,
            decoded_length=len(payload),
            trailer_names=["x-amz-checksum-crc32"],
            signing=_context(),
        )

    assert _decode(decoder(), body, 333) == payload
    at = body.index(b"x-amz-trailer-signature:") + len(b"x-amz-trailer-signature:")
    flipped = b"1" if body[at : at + 1] == b"0" else b"0"
    forged = body[:at] + flipped + body[at + 1 :]
    with pytest.raises(AuthError) as caught:
        _decode(decoder(), forged, 333)
    assert caught.value.code == "SignatureDoesNotMatch"
    # A correctly signed trailer carrying the wrong checksum is still a bad digest.
    wrong = _signed_trailer_body(_context(), payload, 8192, checksum="AAAAAA==")
    with pytest.raises(AuthError) as caught:
        _decode(decoder(), wrong, 4096)
    assert caught.value.code == "BadDigest"


def test_large_upload_is_decoded_in_bounded_memory() -> None:
    size = 48 * 1024 * 1024
    block = bytes(range(256)) * 256  # 64 KiB
    crc = 0
    for _ in range(size // len(block)):
        crc = zlib.crc32(block, crc)
    trailer = base64.b64encode(crc.to_bytes(4, "big")).decode()
    decoder = AwsChunkedDecoder(
        mode=PayloadMode.STREAMING_UNSIGNED_TRAILER,
        decoded_length=size,
        trailer_names=["x-amz-checksum-crc32"],
    )
    framed = f"{len(block):x}\r\n".encode() + block + b"\r\n"
    tracemalloc.start()
    produced = 0
    for _ in range(size // len(block)):
        produced += len(decoder.feed(framed))
    decoder.feed(f"0\r\nx-amz-checksum-crc32:{trailer}\r\n\r\n".encode())
    decoder.finish()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert produced == size
    assert peak < 4 * 1024 * 1024


def test_decode_stream_wraps_an_async_body() -> None:
    payload = b"stream me " * 1000
    received = _unsigned_trailer_put(payload)
    result = authenticate(received, resolver(), now=now(), service_hint="s3")
    body = received.body or b""

    async def chunks():
        for offset in range(0, len(body), 777):
            yield body[offset : offset + 777]

    async def collect() -> bytes:
        return b"".join([piece async for piece in decode_stream(chunks(), result.chunk_decoder())])

    assert asyncio.run(collect()) == payload


def test_anonymous_unsigned_trailer_upload() -> None:
    from botocore import UNSIGNED

    payload = b"anonymous upload"
    sent = capture(
        "s3",
        lambda c: c.put_object(Bucket="b", Key="k", Body=payload),
        endpoint="https://127.0.0.1:9000",
        config=Config(signature_version=UNSIGNED, s3={"addressing_style": "path"}),
    )
    result = authenticate(sent[0], resolver(), now=now(), service_hint="s3")
    assert result.is_anonymous
    if result.payload_mode is PayloadMode.STREAMING_UNSIGNED_TRAILER:
        assert _decode(result.chunk_decoder(), sent[0].body or b"", 5) == payload
    else:
        assert sent[0].body == payload


def test_streaming_result_keeps_the_user() -> None:
    received = _unsigned_trailer_put(b"x")
    result = authenticate(received, resolver(), now=now(), service_hint="s3")
    assert result.access_key_id == USER_KEY
    with pytest.raises(ValueError):
        result.payload_verifier()
