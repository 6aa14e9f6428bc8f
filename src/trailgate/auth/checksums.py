"""Incremental S3 flexible checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256), base64 encoded.

CRC32 and the SHAs come from the standard library. CRC32C uses the `crc32c` extension when it is
installed and a table-driven fallback otherwise; CRC64NVME is always the fallback (correct but
slow, a few MB/s), since no standard-library or common extension provides it.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Protocol

try:  # optional accelerator
    import crc32c as _crc32c_ext  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the environment
    _crc32c_ext = None


def _reflected_table(poly: int, width: int) -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc & ((1 << width) - 1))
    return table


_CRC32C_TABLE = _reflected_table(0x82F63B78, 32)
_CRC64NVME_TABLE = _reflected_table(0x9A6C9329AC4BC9B5, 64)


def _crc_update(table: list[int], crc: int, data: bytes) -> int:
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


class Checksum(Protocol):
    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...


class _Crc32:
    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes) -> None:
        self._value = zlib.crc32(data, self._value)

    def digest(self) -> bytes:
        return (self._value & 0xFFFFFFFF).to_bytes(4, "big")


class _Crc32c:
    def __init__(self) -> None:
        self._value = 0 if _crc32c_ext is not None else 0xFFFFFFFF

    def update(self, data: bytes) -> None:
        if _crc32c_ext is not None:
            self._value = _crc32c_ext.crc32c(data, self._value)
        else:
            self._value = _crc_update(_CRC32C_TABLE, self._value, data)

    def digest(self) -> bytes:
        value = self._value if _crc32c_ext is not None else self._value ^ 0xFFFFFFFF
        return value.to_bytes(4, "big")


class _Crc64Nvme:
    def __init__(self) -> None:
        self._value = 0xFFFFFFFFFFFFFFFF

    def update(self, data: bytes) -> None:
        self._value = _crc_update(_CRC64NVME_TABLE, self._value, data)

    def digest(self) -> bytes:
        return (self._value ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


class _Hash:
    def __init__(self, name: str) -> None:
        self._hash = hashlib.new(name)

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()


ALGORITHMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")
_DIGEST_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}


def new_checksum(algorithm: str) -> Checksum:
    """A fresh incremental checksum for an S3 algorithm name (case-insensitive)."""
    name = algorithm.lower()
    if name == "crc32":
        return _Crc32()
    if name == "crc32c":
        return _Crc32c()
    if name == "crc64nvme":
        return _Crc64Nvme()
    if name in ("sha1", "sha256"):
        return _Hash(name)
    raise ValueError(f"unknown checksum algorithm: {algorithm}")


def checksum_b64(algorithm: str, data: bytes) -> str:
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return base64.b64encode(checksum.digest()).decode("ascii")


def is_valid_encoded(algorithm: str, value: str) -> bool:
    """Whether `value` is base64 of exactly the digest size the algorithm produces."""
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return False
    return len(raw) == _DIGEST_SIZES[algorithm.lower()]


def algorithm_from_header(name: str) -> str | None:
    """'x-amz-checksum-crc32' -> 'crc32' for the algorithms we know, else None."""
    prefix = "x-amz-checksum-"
    lowered = name.lower()
    if lowered.startswith(prefix) and lowered[len(prefix) :] in ALGORITHMS:
        return lowered[len(prefix) :]
    return None
