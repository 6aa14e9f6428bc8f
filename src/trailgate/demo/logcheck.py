"""Client-side validation of delivered CloudTrail logs through their digest chain.

Does what `aws cloudtrail validate-logs` does, with boto3 only: every digest's RSA signature
(SHA256withRSA over the documented string to sign) against the key ListPublicKeys returns for
its fingerprint, every referenced log file's SHA-256 (of the uncompressed bytes), and the chain
of previous-digest hashes and signatures.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

# DER of AlgorithmIdentifier{rsaEncryption, NULL}: wraps a PKCS#1 key into SubjectPublicKeyInfo.
_RSA_ALGORITHM_ID = bytes.fromhex("300d06092a864886f70d0101010500")


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def load_pkcs1_public_key(der: bytes) -> rsa.RSAPublicKey:
    bit_string = b"\x03" + _der_length(len(der) + 1) + b"\x00" + der
    body = _RSA_ALGORITHM_ID + bit_string
    spki = b"\x30" + _der_length(len(body)) + body
    key = load_der_public_key(spki)
    assert isinstance(key, rsa.RSAPublicKey)
    return key


@dataclass
class ChainReport:
    trail: str
    digests: int = 0
    log_files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems and self.digests > 0


def validate_chain(
    s3: Any, cloudtrail: Any, bucket: str, account: str, region: str, trail_arn: str
) -> ChainReport:
    report = ChainReport(trail_arn)
    trail_name = trail_arn.rsplit("/", 1)[-1]
    prefix = f"AWSLogs/{account}/CloudTrail-Digest/{region}/"
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Contents", [])
        if f"_CloudTrail-Digest_{region}_{trail_name}_" in o["Key"]
    ]
    keys.sort()
    public_keys = {
        k["Fingerprint"]: load_pkcs1_public_key(k["Value"])
        for k in cloudtrail.list_public_keys()["PublicKeyList"]
    }
    newer: dict[str, Any] | None = None
    for key in reversed(keys):
        obj = s3.get_object(Bucket=bucket, Key=key)
        raw = gzip.decompress(obj["Body"].read())
        digest = json.loads(raw)
        report.digests += 1
        signature = obj.get("Metadata", {}).get("signature")
        if digest.get("digestS3Object") != key or digest.get("digestS3Bucket") != bucket:
            report.problems.append(f"{key}: digest has been moved")
        public_key = public_keys.get(digest.get("digestPublicKeyFingerprint", ""))
        if signature is None or public_key is None:
            report.problems.append(f"{key}: no signature or unknown public key")
        else:
            to_sign = "\n".join(
                [
                    digest["digestEndTime"],
                    f"{bucket}/{key}",
                    hashlib.sha256(raw).hexdigest(),
                    digest.get("previousDigestSignature") or "null",
                ]
            ).encode()
            try:
                public_key.verify(
                    bytes.fromhex(signature), to_sign, padding.PKCS1v15(), hashes.SHA256()
                )
            except (InvalidSignature, ValueError):
                report.problems.append(f"{key}: invalid signature")
        # A digest with no predecessor starts a new chain (first one after StartLogging).
        if newer is not None and newer["digest"].get("previousDigestS3Object") is not None:
            if newer["digest"].get("previousDigestS3Object") != key:
                report.problems.append(f"{newer['key']}: chain skips {key}")
            if newer["digest"].get("previousDigestHashValue") != hashlib.sha256(raw).hexdigest():
                report.problems.append(f"{newer['key']}: previous digest hash mismatch")
            if newer["digest"].get("previousDigestSignature") != signature:
                report.problems.append(f"{newer['key']}: previous digest signature mismatch")
        for log in digest.get("logFiles", []):
            report.log_files += 1
            try:
                body = s3.get_object(Bucket=log["s3Bucket"], Key=log["s3Object"])["Body"].read()
            except Exception as exc:
                report.problems.append(f"{log['s3Object']}: not found ({exc})")
                continue
            if hashlib.sha256(gzip.decompress(body)).hexdigest() != log["hashValue"]:
                report.problems.append(f"{log['s3Object']}: hash mismatch")
        newer = {"key": key, "digest": digest}
    return report
