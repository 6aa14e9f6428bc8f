"""Per-process state shared by every request: store, sealer, clock, caches.

Caches hold authorization data (credentials, compiled policies). Every write that can change an
authorization outcome bumps the `auth` generation in the database (services.accounts
.bump_generation); a worker re-reads that counter at most every `GENERATION_TTL` seconds and
drops its caches when it moved. Writes made by this process clear its caches at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trailgate.clock import Clock
from trailgate.config import Config, env_switch
from trailgate.store.db import Database, open_database
from trailgate.store.migrations import migrate
from trailgate.store.sealing import Sealer, load_master_key

if TYPE_CHECKING:
    from trailgate.policy import CompiledPolicy, PolicyKind

SERVE_ON_LOOP_ENV = "TRAILGATE_SERVE_ON_LOOP"


def serve_on_loop_by_env() -> bool:
    """TRAILGATE_SERVE_ON_LOOP=off runs every request in a worker thread (A/B measurements)."""
    return bool(env_switch(SERVE_ON_LOOP_ENV, True))


# How stale another worker's view of keys and policies may be, at most (IAM itself is
# eventually consistent over seconds; this is well inside that).
GENERATION_TTL = 0.5


class LruCache:
    """A small thread-safe LRU map."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


@dataclass
class Runtime:
    config: Config
    db: Database
    sealer: Sealer
    clock: Clock
    management_account_id: str
    # Compiled policies by (kind, document text): documents are immutable once stored.
    policies: LruCache = field(default_factory=lambda: LruCache(20_000))
    # Authorization data that a write can change (credentials, principals' policy sets).
    auth_cache: LruCache = field(default_factory=lambda: LruCache(50_000))
    # The CloudTrail recorder (trail.recorder); set by Runtime.open, None in bare unit tests.
    recorder: Any = None
    # The CloudTrail delivery worker (trail.delivery); started by Runtime.open, stopped by close.
    delivery: Any = None
    # Whether the server may serve short requests on its event loop (server.py): SQLite only,
    # whose statements take microseconds; PostgreSQL's network round trips would stall the loop.
    serve_on_loop: bool = False
    _generation: int = -1
    _generation_checked: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, config: Config) -> Runtime:
        from trailgate.services import accounts

        db = open_database(config.database_url, config.data_dir)
        migrate(db)
        sealer = Sealer(load_master_key(config.data_dir))
        boot = accounts.ensure_bootstrapped(db, sealer, config.data_dir)
        runtime = cls(config, db, sealer, Clock(), boot.management_account_id)
        runtime.serve_on_loop = db.is_sqlite and serve_on_loop_by_env()
        if db.wal_sync is not None:
            db.wal_sync.choose_sync_on_loop(config.workers)
        runtime._start_cloudtrail()
        return runtime

    def _start_cloudtrail(self) -> None:
        from trailgate.trail.delivery import DeliveryWorker
        from trailgate.trail.recorder import Recorder

        self.recorder = Recorder(self)
        self.delivery = DeliveryWorker(self)
        self.delivery.start()

    def close(self) -> None:
        # The worker releases its delivery lease and the recorder commits what it holds, both
        # before the database goes away.
        if self.delivery is not None:
            self.delivery.stop()
        if self.recorder is not None:
            self.recorder.close()
        self.db.dispose()

    def compile(self, document: str, kind: PolicyKind, name: str = "") -> CompiledPolicy:
        from trailgate.policy import compile_policy

        key = (kind, name, document)
        compiled = self.policies.get(key)
        if compiled is None:
            compiled = compile_policy(document, kind, name=name)
            self.policies.put(key, compiled)
        return compiled

    def fresh_auth_cache(self) -> LruCache:
        """The auth cache, emptied first if another worker changed authorization data."""
        now = time.monotonic()
        if now - self._generation_checked >= GENERATION_TTL:
            from trailgate.services.accounts import read_generation

            with self.db.read() as conn:
                generation = read_generation(conn)
            with self._lock:
                self._generation_checked = now
                if generation != self._generation:
                    self._generation = generation
                    self.auth_cache.clear()
        return self.auth_cache

    def auth_changed(self) -> None:
        """Called after this process committed a change to keys, principals or policies."""
        self.auth_cache.clear()
        self._generation_checked = 0.0
