"""Console password hashing and the default password policy.

Passwords are stored only as salted scrypt hashes, the parameters inside the stored string
(`scrypt$<n>$<r>$<p>$<salt>$<hash>`, base64 parts) so they can be raised later without
invalidating existing hashes. Verification compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
N = 2**14
R = 8
P = 1
SALT_BYTES = 16
KEY_BYTES = 32
_MAXMEM = 64 * 1024 * 1024

MIN_LENGTH = 8
_SYMBOLS = set("!@#$%^&*()_+-=[]{}|'")
POLICY_VIOLATION = "Password does not conform to the account password policy."


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=_MAXMEM
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _derive(password, salt, N, R, P, KEY_BYTES)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(digest)}"


# A hash of a random password: checking against it costs what a real check costs, so a
# missing user cannot be told apart from a wrong password by timing.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def check_password(password: str, stored: str | None) -> bool:
    """True if `password` matches the stored hash; always does the full scrypt work."""
    target = stored or _DUMMY_HASH
    try:
        scheme, n, r, p, salt_b64, digest_b64 = target.split("$")
        if scheme != SCHEME:
            raise ValueError(scheme)
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(digest_b64)
        actual = _derive(password, salt, int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected) and stored is not None


def policy_problem(password: str, forbidden: tuple[str, ...] = ()) -> bool:
    """True if the password breaks IAM's default password policy.

    The default (IAM User Guide, "Set an account password policy for IAM users"): at least 8
    characters, at least three of upper case, lower case, digits and the symbols
    ! @ # $ % ^ & * ( ) _ + - = [ ] { } | ', and not the account name or email.
    """
    if len(password) < MIN_LENGTH:
        return True
    classes = [
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(c in _SYMBOLS for c in password),
    ]
    if sum(classes) < 3:
        return True
    lowered = password.lower()
    return any(value and lowered == value.lower() for value in forbidden)
