"""S3 flexible checksums against their published check values."""

from __future__ import annotations

import base64

import pytest

from trailgate.auth import checksums
from trailgate.auth.checksums import checksum_b64, is_valid_encoded, new_checksum

CHECK = b"123456789"


@pytest.mark.parametrize(
    ("algorithm", "value"),
    [
        ("crc32", 0xCBF43926),
        ("crc32c", 0xE3069283),
        ("crc64nvme", 0xAE8B14860A799888),
    ],
)
def test_crc_check_values(algorithm: str, value: int) -> None:
    size = 8 if algorithm == "crc64nvme" else 4
    assert checksum_b64(algorithm, CHECK) == base64.b64encode(value.to_bytes(size, "big")).decode()


def test_incremental_equals_one_shot() -> None:
    data = bytes(range(256)) * 41
    for algorithm in checksums.ALGORITHMS:
        checksum = new_checksum(algorithm)
        for offset in range(0, len(data), 97):
            checksum.update(data[offset : offset + 97])
        assert base64.b64encode(checksum.digest()).decode() == checksum_b64(algorithm, data)


def test_pure_python_crc32c_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checksums, "_crc32c_ext", None)
    value = 0xE3069283
    assert checksum_b64("crc32c", CHECK) == base64.b64encode(value.to_bytes(4, "big")).decode()


def test_encoded_value_validation() -> None:
    assert is_valid_encoded("crc32", "AAAAAA==")
    assert not is_valid_encoded("crc32", "AAAAAAAA")
    assert not is_valid_encoded("sha256", "AAAAAA==")
    assert not is_valid_encoded("crc32", "not base64!")
    with pytest.raises(ValueError):
        new_checksum("md5")
