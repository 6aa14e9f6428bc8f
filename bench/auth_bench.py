"""Signature verifications per second on one core (no timed assertions).

(a) SigV4 header auth of an STS POST (form body hashed) with the signing-key cache warm;
(b) the same with the cache cold (a fresh cache per request: four extra HMACs each);
(c) an S3 GET signed with S3SigV4Auth (x-amz-content-sha256, no body);
(d) aws-chunked decoding throughput of a signed 8 MiB upload in 64 KiB chunks.

Requests are signed once by botocore; the loop measures only `authenticate`.

    python bench/auth_bench.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from trailgate.auth import (
    AwsChunkedDecoder,
    ChunkSigningContext,
    CredentialRecord,
    PayloadMode,
    Principal,
    SigningKeyCache,
    authenticate,
    derive_signing_key,
)
from trailgate.http import Headers, HttpRequest

KEY, SECRET = "AKIABENCHEXAMPLE0001", "bench/secret+key"
RECORDS = {
    KEY: CredentialRecord(KEY, SECRET, Principal.iam_user("123456789012", "bench", "AIDABENCH"))
}


def _received(request: AWSRequest) -> HttpRequest:
    parts = urlsplit(request.url)
    items = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
    items.append(("Host", parts.netloc))
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    return HttpRequest(request.method, parts.path or "/", parts.query, Headers(items), body=body)


def _rate(label: str, seconds: float, action: Callable[[], object], unit: str = "req") -> None:
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        action()
        count += 1
    elapsed = time.perf_counter() - started
    print(f"{label:<46} {count / elapsed:>12,.0f} {unit}/s")


def _signed_body(size: int, chunk: int) -> tuple[bytes, ChunkSigningContext]:
    context = ChunkSigningContext(
        signing_key=derive_signing_key(SECRET, "20240101", "us-east-1", "s3"),
        timestamp="20240101T000000Z",
        scope="20240101/us-east-1/s3/aws4_request",
        seed_signature="0" * 64,
    )
    empty = hashlib.sha256(b"").hexdigest()
    previous, out = context.seed_signature, bytearray()
    block = bytes(range(256)) * (chunk // 256)
    for piece in [block] * (size // chunk) + [b""]:
        text = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                context.timestamp,
                context.scope,
                previous,
                empty,
                hashlib.sha256(piece).hexdigest(),
            ]
        )
        previous = hmac.new(context.signing_key, text.encode(), hashlib.sha256).hexdigest()
        out += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece + b"\r\n"
    return bytes(out), context


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    credentials = Credentials(KEY, SECRET)

    sts = AWSRequest("POST", "http://127.0.0.1:9000/", data=b"Action=GetCallerIdentity")
    SigV4Auth(credentials, "sts", "us-east-1").add_auth(sts)
    sts_request = _received(sts)
    s3 = AWSRequest("GET", "http://127.0.0.1:9000/bucket/some%20key?versionId=3")
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(s3)
    s3_request = _received(s3)
    resolver = RECORDS.get
    warm = SigningKeyCache()

    def at() -> datetime:
        return datetime.now(UTC)

    _rate(
        "SigV4 header, STS POST, warm key cache",
        args.seconds,
        lambda: authenticate(
            sts_request, resolver, now=at(), service_hint="sts", signing_keys=warm
        ),
    )
    _rate(
        "SigV4 header, STS POST, cold key cache",
        args.seconds,
        lambda: authenticate(
            sts_request, resolver, now=at(), service_hint="sts", signing_keys=SigningKeyCache()
        ),
    )
    _rate(
        "SigV4 header, S3 GET, warm key cache",
        args.seconds,
        lambda: authenticate(s3_request, resolver, now=at(), service_hint="s3", signing_keys=warm),
    )

    size, chunk = 8 * 1024 * 1024, 64 * 1024
    body, context = _signed_body(size, chunk)

    def decode() -> None:
        decoder = AwsChunkedDecoder(
            mode=PayloadMode.STREAMING_SIGNED, decoded_length=size, signing=context
        )
        for offset in range(0, len(body), chunk + 100):
            decoder.feed(body[offset : offset + chunk + 100])
        decoder.finish()

    started = time.perf_counter()
    rounds = 0
    while time.perf_counter() - started < args.seconds:
        decode()
        rounds += 1
    mib_per_s = rounds * size / (1024 * 1024) / (time.perf_counter() - started)
    print(f"{'aws-chunked signed decode, 64 KiB chunks':<46} {mib_per_s:>12,.0f} MiB/s")


if __name__ == "__main__":
    main()
