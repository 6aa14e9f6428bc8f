"""Sealing of stored secrets (access-key secrets) with the instance's master key, AES-256-GCM.

The master key comes from `TRAILGATE_MASTER_KEY` (base64 of 32 bytes; set the same value on every
node that shares a PostgreSQL database) or from `<data-dir>/master.key`, created on first use with
mode 0600. Losing it makes stored secrets unusable, by design.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MASTER_KEY_ENV = "TRAILGATE_MASTER_KEY"
MASTER_KEY_FILE = "master.key"
_NONCE = 12


class Sealer:
    """Encrypts and decrypts small secrets; the associated data binds a secret to its row."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: str, bound_to: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), bound_to.encode())

    def open(self, sealed: bytes, bound_to: str) -> str:
        nonce, body = sealed[:_NONCE], sealed[_NONCE:]
        return self._aead.decrypt(nonce, body, bound_to.encode()).decode()


def load_master_key(data_dir: Path) -> bytes:
    env = os.environ.get(MASTER_KEY_ENV)
    if env:
        return base64.b64decode(env)
    path = data_dir / MASTER_KEY_FILE
    if path.exists():
        return base64.b64decode(path.read_bytes().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=256)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(key))
        fh.flush()
        os.fsync(fh.fileno())
    try:
        # link() fails if another process created the key first; then we use theirs.
        os.link(tmp, path)
    except FileExistsError:
        return base64.b64decode(path.read_bytes().strip())
    finally:
        tmp.unlink(missing_ok=True)
    return key
