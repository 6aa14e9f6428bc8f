"""Identifiers in AWS's formats: account ids, access key ids, secrets, unique ids, request ids."""

from __future__ import annotations

import os
import secrets
import threading

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
    return uuid4_text()


# Random bytes for version-4 UUIDs, read from the CSPRNG a page at a time: every API call takes
# two or three ids (request, event), and one getrandom call each cost more than the rest of
# making them.
_RANDOM_PAGE = 4096
_random = bytearray()
_random_lock = threading.Lock()


def _forget_random() -> None:
    # A forked worker must never hand out the ids its parent's buffer still holds.
    global _random
    _random = bytearray()


os.register_at_fork(after_in_child=_forget_random)


def uuid4_text() -> str:
    """A random (version 4) UUID in its 36-character text form, like str(uuid.uuid4())."""
    with _random_lock:
        if len(_random) < 16:
            _random[:] = os.urandom(_RANDOM_PAGE)
        raw = bytes(_random[-16:])
        del _random[-16:]
    h = raw.hex()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


def create_account_request_id() -> str:
    return "car-" + secrets.token_hex(16)
