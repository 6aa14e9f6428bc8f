"""Derivation and caching of SigV4 signing keys (chained HMACs per secret, day, region, service).

The cache is keyed by a SHA-256 of the secret rather than the secret itself, so a key that ends up
in a log or a debugger never reveals a credential.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict


def derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")."""
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class SigningKeyCache:
    """A small thread-safe LRU of derived signing keys."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._max = max_entries
        self._entries: OrderedDict[tuple[bytes, str, str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, secret: str, date: str, region: str, service: str) -> bytes:
        cache_key = (hashlib.sha256(secret.encode()).digest(), date, region, service)
        with self._lock:
            found = self._entries.get(cache_key)
            if found is not None:
                self._entries.move_to_end(cache_key)
                return found
        derived = derive_signing_key(secret, date, region, service)
        with self._lock:
            self._entries[cache_key] = derived
            self._entries.move_to_end(cache_key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return derived

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


DEFAULT_SIGNING_KEYS = SigningKeyCache()
