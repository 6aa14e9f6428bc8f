"""The RSA key pairs that sign digest files, one current pair per region, and ListPublicKeys.

Keys are RSA-2048; signatures are PKCS#1 v1.5 over SHA-256 ("SHA256withRSA"). The public half is
published as DER-encoded PKCS#1 RSAPublicKey (what `aws cloudtrail validate-logs` loads) with
the hex MD5 of those bytes as fingerprint; the private half is stored sealed with the
instance's master key. A key stays listable for its whole validity window, so digests signed
before a rotation still verify.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import Connection, insert, select

from trailgate.store.db import Database
from trailgate.store.schema_trail import trail_signing_keys
from trailgate.store.sealing import Sealer

SIGNATURE_ALGORITHM = "SHA256withRSA"
KEY_BITS = 2048
VALIDITY = timedelta(days=365)
# A new key is made this long before the current one expires, so signing never lacks one.
ROTATE_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class PublicKey:
    fingerprint: str
    region: str
    der: bytes
    valid_from: datetime
    valid_to: datetime


@dataclass(frozen=True)
class SigningKey:
    public: PublicKey
    private: rsa.RSAPrivateKey

    def sign(self, data: bytes) -> str:
        """The hex signature of `data`."""
        return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256()).hex()


def fingerprint_of(der: bytes) -> str:
    return hashlib.md5(der, usedforsecurity=False).hexdigest()


def _bound(fingerprint: str) -> str:
    return f"trail-signing-key/{fingerprint}"


def _public(row: object) -> PublicKey:
    m = row._mapping  # type: ignore[attr-defined]
    return PublicKey(m["fingerprint"], m["region"], bytes(m["public_der"]), m["valid_from"],
                     m["valid_to"])


class KeyRing:
    """Signing keys of this instance, private halves unsealed once per process."""

    def __init__(self, db: Database, sealer: Sealer) -> None:
        self._db = db
        self._sealer = sealer
        self._lock = threading.Lock()
        self._private: dict[str, rsa.RSAPrivateKey] = {}

    def current(self, region: str, now: datetime) -> SigningKey:
        """The key that signs `region`'s digests at `now`, created when there is none."""
        with self._db.read() as conn:
            row = self._current_row(conn, region, now)
        if row is None:
            with self._db.begin() as conn:
                row = self._current_row(conn, region, now)
                if row is None:
                    self._create(conn, region, now)
                    row = self._current_row(conn, region, now)
        assert row is not None
        public = _public(row)
        return SigningKey(public, self._private_key(public.fingerprint, bytes(row.private_sealed)))

    def _current_row(self, conn: Connection, region: str, now: datetime) -> object | None:
        k = trail_signing_keys.c
        return conn.execute(
            select(trail_signing_keys)
            .where(k.region == region, k.valid_from <= now, k.valid_to > now + ROTATE_BEFORE)
            .order_by(k.valid_from.desc())
            .limit(1)
        ).first()

    def _create(self, conn: Connection, region: str, now: datetime) -> None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        der = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )
        fingerprint = fingerprint_of(der)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        # Backdated a little: a digest's period may begin before the key was made.
        valid_from = now.replace(microsecond=0) - timedelta(days=1)
        conn.execute(
            insert(trail_signing_keys).values(
                fingerprint=fingerprint,
                region=region,
                public_der=der,
                private_sealed=self._sealer.seal(pem, _bound(fingerprint)),
                valid_from=valid_from,
                valid_to=valid_from + VALIDITY,
            )
        )
        with self._lock:
            self._private[fingerprint] = private

    def _private_key(self, fingerprint: str, sealed: bytes) -> rsa.RSAPrivateKey:
        with self._lock:
            known = self._private.get(fingerprint)
        if known is not None:
            return known
        pem = self._sealer.open(sealed, _bound(fingerprint))
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("a stored CloudTrail signing key is not an RSA key")
        with self._lock:
            self._private[fingerprint] = key
        return key


def public_keys(
    conn: Connection, region: str, start: datetime, end: datetime
) -> list[PublicKey]:
    """Keys of `region` valid at some moment of [start, end], oldest first."""
    k = trail_signing_keys.c
    rows = conn.execute(
        select(trail_signing_keys)
        .where(k.region == region, k.valid_from <= end, k.valid_to >= start)
        .order_by(k.valid_from, k.fingerprint)
    )
    return [_public(r) for r in rows]
