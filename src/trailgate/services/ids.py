"""Identifiers in AWS's formats: account ids, access key ids, secrets, unique ids, request ids."""

from __future__ import annotations

import secrets
import uuid

# AWS unique ids and access key ids use base32's alphabet (upper-case letters and digits 2-7).
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _pick(alphabet: str, n: int) -> str:
    # One read of the CSPRNG per id; both alphabets have a power-of-two size, so masking each
    # byte is unbiased.
    mask = len(alphabet) - 1
    return "".join(alphabet[b & mask] for b in secrets.token_bytes(n))


def _b32(n: int) -> str:
    return _pick(_B32, n)


def account_id() -> str:
    # A leading zero is legal in AWS but trips tools that parse ids as numbers; avoid it.
    return str(secrets.randbelow(9 * 10**11) + 10**11)


def access_key_id(temporary: bool = False) -> str:
    return ("ASIA" if temporary else "AKIA") + _b32(16)


def secret_access_key() -> str:
    return _pick(_SECRET_ALPHABET, 40)


def unique_id(prefix: str) -> str:
    """AIDA (user), AROA (role), AGPA (group), ANPA (managed policy) + 17 characters."""
    return prefix + _b32(17)


def request_id() -> str:
    return str(uuid.uuid4())


def create_account_request_id() -> str:
    return "car-" + secrets.token_hex(16)
