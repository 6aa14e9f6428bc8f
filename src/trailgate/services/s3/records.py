"""S3's view of the store: buckets and object versions as values, the reads every operation
shares, and the blob store of a runtime.

A bucket's authorization facts (owner, policy, existence) are cached in the runtime's auth
cache; every write that changes them bumps the auth generation, so other workers see it within
`GENERATION_TTL`. Object rows are always read fresh.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, RowMapping, select

from trailgate.store.blobs import BlobStore
from trailgate.store.raw import db_time as raw_db_time
from trailgate.store.schema_s3 import s3_buckets, s3_object_versions, s3_objects, s3_parts

if TYPE_CHECKING:
    from trailgate.policy import CompiledPolicy
    from trailgate.runtime import Runtime

NULL_VERSION = "null"


@dataclass(frozen=True)
class Bucket:
    name: str
    owner_account: str
    region: str
    created_at: datetime
    versioning: str | None
    object_ownership: str | None
    policy: str | None
    acl: str | None
    tags: str | None
    compiled_policy: CompiledPolicy | None = field(default=None, compare=False)

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.name}"

    @property
    def acls_enabled(self) -> bool:
        return self.object_ownership != "BucketOwnerEnforced"


@dataclass
class ObjectVersion:
    """One version of a key: the current object, a noncurrent version or a delete marker."""

    bucket: str
    key: str
    version_id: str
    seq: int
    size: int
    etag: str
    last_modified: datetime
    headers: dict[str, str]
    user_metadata: dict[str, str]
    blob: str | None
    upload_id: str | None
    parts_count: int | None
    checksum_algorithm: str | None
    checksum_value: str | None
    tags: list[dict[str, str]]
    acl: str | None
    owner_account: str
    storage_class: str
    is_delete_marker: bool = False
    is_current: bool = False
    # The whole body when it is kept in the row (small PutObject bodies); else `blob`/parts.
    body: bytes | None = field(default=None, repr=False)

    @property
    def quoted_etag(self) -> str:
        return f'"{self.etag}"'

    def tag_map(self) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.tags}

    def row(self) -> dict[str, Any]:
        """The columns shared by both object tables."""
        return {
            "bucket": self.bucket,
            "key": self.key,
            "version_id": self.version_id,
            "seq": self.seq,
            "size": self.size,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "headers": json.dumps(self.headers) if self.headers else None,
            "user_metadata": json.dumps(self.user_metadata) if self.user_metadata else None,
            "blob": self.blob,
            "upload_id": self.upload_id,
            "parts_count": self.parts_count,
            "checksum_algorithm": self.checksum_algorithm,
            "checksum_value": self.checksum_value,
            "tags": json.dumps(self.tags) if self.tags else None,
            "acl": self.acl,
            "owner_account": self.owner_account,
            "storage_class": self.storage_class,
            "body": self.body,
        }


def version_from_row(m: RowMapping, *, current: bool) -> ObjectVersion:
    return ObjectVersion(
        bucket=m["bucket"],
        key=m["key"],
        version_id=m["version_id"],
        seq=m["seq"],
        size=m["size"],
        etag=m["etag"],
        last_modified=m["last_modified"],
        headers=json.loads(m["headers"]) if m["headers"] else {},
        user_metadata=json.loads(m["user_metadata"]) if m["user_metadata"] else {},
        blob=m["blob"],
        upload_id=m["upload_id"],
        parts_count=m["parts_count"],
        checksum_algorithm=m["checksum_algorithm"],
        checksum_value=m["checksum_value"],
        tags=json.loads(m["tags"]) if m["tags"] else [],
        acl=m["acl"],
        owner_account=m["owner_account"],
        storage_class=m["storage_class"],
        is_delete_marker=bool(m.get("is_delete_marker", False)),
        is_current=current,
        body=None if m.get("body") is None else bytes(m["body"]),
    )


def canonical_id(account_id: str) -> str:
    """The S3 canonical user id of an account: 64 hex characters, stable per account."""
    return hashlib.sha256(f"trailgate-s3-canonical-user:{account_id}".encode()).hexdigest()


def owner_of(account_id: str) -> dict[str, str]:
    return {"DisplayName": account_id, "ID": canonical_id(account_id)}


def new_version_id() -> str:
    return secrets.token_urlsafe(24)


_last_seq = 0
_seq_lock = threading.Lock()


def next_seq() -> int:
    """Strictly increasing in this process, and across processes as far as the clock allows."""
    global _last_seq
    with _seq_lock:
        value = max(time.time_ns(), _last_seq + 1)
        _last_seq = value
        return value


# --- driver-level statements ---------------------------------------------------------------
#
# The hot statements (bucket row, current object row, inserting and removing the current row)
# are plain SQL strings handed to the driver: building and compiling a SQLAlchemy expression per
# request cost more than running the query. Written with "?" and translated once per dialect.

_translated: dict[tuple[str, str], str] = {}


def sql(conn: Connection, template: str) -> str:
    dialect = conn.dialect.name
    text = _translated.get((dialect, template))
    if text is None:
        text = template if dialect == "sqlite" else template.replace("?", "%s")
        _translated[(dialect, template)] = text
    return text


def driver_execute(conn: Connection, template: str, params: tuple[Any, ...]) -> Any:
    """Run one statement on the transaction's own DB-API connection and return its cursor
    (the caller closes it). SQLAlchemy's result objects cost more than these statements."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql(conn, template), params)
    except BaseException:
        cursor.close()
        raise
    return cursor


def driver_first(conn: Connection, template: str, params: tuple[Any, ...]) -> Any:
    """The first row of a query run by `driver_execute`, or None."""
    cursor = driver_execute(conn, template, params)
    try:
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return rows[0] if rows else None


def db_time(conn: Connection, moment: datetime) -> Any:
    """A timestamp as UtcDateTime stores it (naive UTC text on SQLite, aware on PostgreSQL)."""
    return raw_db_time(conn.dialect.name == "sqlite", moment)


def _columns(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


_OBJECT_COLUMNS = [c.name for c in s3_objects.columns]
_CURRENT_SQL = {
    style: "SELECT {} FROM s3_objects WHERE bucket = {} AND \"key\" = {}".format(
        ", ".join(f'"{name}"' for name in _OBJECT_COLUMNS), mark, mark
    )
    for style, mark in (("qmark", "?"), ("format", "%s"))
}


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_BUCKET_COLUMNS = [c.name for c in s3_buckets.columns]
_SELECT_BUCKET = f"SELECT {_columns(_BUCKET_COLUMNS)} FROM s3_buckets WHERE name = ?"


# --- buckets -------------------------------------------------------------------------------


def _bucket_from_row(runtime: Runtime, m: RowMapping) -> Bucket:
    compiled = None
    if m["policy"]:
        from trailgate.policy import PolicyKind

        compiled = runtime.compile(
            m["policy"], PolicyKind.RESOURCE, name=f"bucket-policy/{m['name']}"
        )
    return Bucket(
        name=m["name"],
        owner_account=m["owner_account"],
        region=m["region"],
        created_at=m["created_at"],
        versioning=m["versioning"],
        object_ownership=m["object_ownership"],
        policy=m["policy"],
        acl=m["acl"],
        tags=m["tags"],
        compiled_policy=compiled,
    )


def read_bucket(
    runtime: Runtime, conn: Connection, name: str, *, lock: bool = False
) -> Bucket | None:
    """The bucket row; `lock` also locks it on PostgreSQL (SQLite writers are serialised by
    BEGIN IMMEDIATE already), so writes to one bucket never race its deletion."""
    template = _SELECT_BUCKET + (" FOR UPDATE" if lock and conn.dialect.name != "sqlite" else "")
    row = driver_first(conn, template, (name,))
    if row is None:
        return None
    m = dict(zip(_BUCKET_COLUMNS, row, strict=True))
    m["created_at"] = _as_utc(m["created_at"])
    return _bucket_from_row(runtime, m)  # type: ignore[arg-type]


def cached_bucket(runtime: Runtime, name: str) -> Bucket | None:
    """The bucket as authorization sees it (cached; None if it does not exist)."""
    cache = runtime.fresh_auth_cache()
    key = ("s3-bucket", name)
    bucket = cache.get(key)
    if bucket is not None:
        return bucket  # type: ignore[no-any-return]
    with runtime.db.read() as conn:
        bucket = read_bucket(runtime, conn, name)
    if bucket is not None:
        cache.put(key, bucket)
    return bucket


@contextmanager
def write(runtime: Runtime, *, durable: bool = True) -> Iterator[Connection]:
    """A write transaction (`Database.begin`: writers of every thread and worker queue on the
    store's writer lock, and the commit is durable before the call is acknowledged)."""
    with runtime.db.begin(durable=durable) as conn:
        yield conn


class _Job:
    __slots__ = ("done", "error", "point", "result", "work")

    def __init__(self, work: Callable[[Connection], Any]) -> None:
        self.work = work
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None
        # The shared commit's point (Database.commit_point); each caller makes it durable.
        self.point: int | None = None


class _GroupCommit:
    """Group commit for short metadata transactions (object installs and deletes).

    Concurrent writers hand in their transaction bodies; one of them (the leader) runs every
    waiting body in one transaction, each inside its own savepoint so that a body that raises
    undoes only itself, and commits once. Every writer returns (or raises) only after that
    commit, so an acknowledged write is still durable, while N concurrent writers share one
    fsync of the database log instead of queueing N of them.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._cond = threading.Condition()
        self._queue: list[_Job] = []
        self._leading = False

    def run(self, work: Callable[[Connection], Any]) -> Any:
        job = _Job(work)
        with self._cond:
            self._queue.append(job)
            while not job.done:
                if self._leading:
                    self._cond.wait()
                    continue
                self._leading = True
                batch, self._queue = self._queue, []
                self._cond.release()
                try:
                    self._commit(batch)
                finally:
                    self._cond.acquire()
                    self._leading = False
                    self._cond.notify_all()
        if job.error is not None:
            raise job.error
        # Leader and followers alike wait for (or, served for the loop, defer) the fsync.
        self._runtime.db.make_durable(job.point)
        return job.result

    def _commit(self, batch: list[_Job]) -> None:
        if len(batch) == 1:
            self._commit_alone(batch[0])
            return
        try:
            with write(self._runtime, durable=False) as conn:
                for job in batch:
                    savepoint = conn.begin_nested()
                    try:
                        job.result = job.work(conn)
                    except BaseException as exc:
                        savepoint.rollback()
                        job.error = exc
                    else:
                        savepoint.commit()
        except BaseException as exc:
            for job in batch:
                if job.error is None:
                    job.error = exc
        point = self._runtime.db.commit_point()
        for job in batch:
            job.point = point
            job.done = True

    def _commit_alone(self, job: _Job) -> None:
        """A batch of one needs no savepoint: its transaction is rolled back if it raises."""
        try:
            with write(self._runtime, durable=False) as conn:
                job.result = job.work(conn)
        except BaseException as exc:
            job.error = exc
        job.point = self._runtime.db.commit_point()
        job.done = True


_group_commits: dict[int, _GroupCommit] = {}
_group_commits_lock = threading.Lock()


def commit_grouped(runtime: Runtime, work: Callable[[Connection], Any]) -> Any:
    """Run `work(conn)` in a write transaction shared with concurrent writers; returns its
    result (or raises its error) once the shared transaction committed."""
    group = _group_commits.get(id(runtime))
    if group is None or group._runtime is not runtime:
        with _group_commits_lock:
            group = _group_commits.get(id(runtime))
            if group is None or group._runtime is not runtime:
                group = _group_commits[id(runtime)] = _GroupCommit(runtime)
    return group.run(work)


def bucket_changed(runtime: Runtime, conn: Connection) -> None:
    """Inside the transaction that changed a bucket's existence, owner or policy."""
    from trailgate.services.accounts import bump_generation

    bump_generation(conn)


# --- objects -------------------------------------------------------------------------------


_readers = threading.local()


def _sqlite_reader(path: str) -> sqlite3.Connection:
    """This thread's read-only SQLite connection. Under many concurrent GETs the engine's pool
    would open and close overflow connections (each paying the connect pragmas) per request;
    a thread keeps this one for its life."""
    readers: dict[str, sqlite3.Connection] | None = getattr(_readers, "by_path", None)
    if readers is None:
        readers = _readers.by_path = {}
    conn = readers.get(path)
    if conn is None:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA query_only=ON")
        readers[path] = conn
    return conn


def read_current(runtime: Runtime, bucket: str, key: str) -> ObjectVersion | None:
    """The current version of `key`, read with one statement on a pooled DBAPI connection.

    GetObject's hot path: building and compiling an expression per request costs more than the
    query itself. A single SELECT is atomic on its own, so no explicit transaction is needed.
    """
    db = runtime.db
    if db.is_sqlite and db.engine.url.database not in (None, "", ":memory:"):
        # fetchall drains the statement, ending its read transaction at once (a pending one
        # would hold back WAL checkpoints).
        rows = _sqlite_reader(db.engine.url.database).execute(
            _CURRENT_SQL["qmark"], (bucket, key)
        ).fetchall()
        row = rows[0] if rows else None
    else:
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(_CURRENT_SQL["format"], (bucket, key))
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            raw.close()
    return None if row is None else _current_from_row(row)


def _current_from_row(row: Any) -> ObjectVersion:
    """A row of `_CURRENT_SQL` (read through the driver) as the current version."""
    m = dict(zip(_OBJECT_COLUMNS, row, strict=True))
    m["last_modified"] = _as_utc(m["last_modified"])
    return version_from_row(m, current=True)  # type: ignore[arg-type]


def current_object(conn: Connection, bucket: str, key: str) -> ObjectVersion | None:
    row = driver_first(conn, _CURRENT_SQL["qmark"], (bucket, key))
    return None if row is None else _current_from_row(row)


_INSERT_CURRENT = "INSERT INTO s3_objects ({}) VALUES ({})".format(
    _columns(_OBJECT_COLUMNS), ", ".join("?" for _ in _OBJECT_COLUMNS)
)
_DELETE_CURRENT = 'DELETE FROM s3_objects WHERE bucket = ? AND "key" = ?'


def insert_current(conn: Connection, version: ObjectVersion) -> None:
    row = version.row()
    row["last_modified"] = db_time(conn, version.last_modified)
    driver_execute(conn, _INSERT_CURRENT, tuple(row[c] for c in _OBJECT_COLUMNS)).close()


def delete_current(conn: Connection, bucket: str, key: str) -> None:
    driver_execute(conn, _DELETE_CURRENT, (bucket, key)).close()


def latest_noncurrent(conn: Connection, bucket: str, key: str) -> ObjectVersion | None:
    t = s3_object_versions
    row = conn.execute(
        select(t).where(t.c.bucket == bucket, t.c.key == key).order_by(t.c.seq.desc()).limit(1)
    ).first()
    return version_from_row(row._mapping, current=False) if row else None


def find_version(conn: Connection, bucket: str, key: str, version_id: str) -> ObjectVersion | None:
    """The version `version_id` of `key`, current or not; is_current tells which."""
    current = current_object(conn, bucket, key)
    if current is not None and current.version_id == version_id:
        return current
    t = s3_object_versions
    row = conn.execute(
        select(t).where(t.c.bucket == bucket, t.c.key == key, t.c.version_id == version_id)
    ).first()
    if row is None:
        return None
    found = version_from_row(row._mapping, current=False)
    if current is None and found.is_delete_marker:
        latest = latest_noncurrent(conn, bucket, key)
        found.is_current = latest is not None and latest.version_id == found.version_id
    return found


def latest_version(conn: Connection, bucket: str, key: str) -> ObjectVersion | None:
    """The current object, else the newest delete marker if it is the latest version."""
    current = current_object(conn, bucket, key)
    if current is not None:
        return current
    latest = latest_noncurrent(conn, bucket, key)
    if latest is not None and latest.is_delete_marker:
        latest.is_current = True
        return latest
    return None


Segment = tuple[str | bytes, int]


def single_segment(version: ObjectVersion) -> list[Segment]:
    """The body of a version that is not multipart: its blob, or the body kept in its row."""
    if version.body is not None:
        return [(version.body, version.size)]
    return [(version.blob, version.size)] if version.blob else []


def segments(conn: Connection, version: ObjectVersion) -> list[Segment]:
    """The pieces of a body in order, with their sizes: blob names, or the bytes of a body
    kept in the row."""
    if version.upload_id is None:
        return single_segment(version)
    rows = conn.execute(
        select(s3_parts.c.blob, s3_parts.c.size)
        .where(s3_parts.c.upload_id == version.upload_id)
        .order_by(s3_parts.c.part_number)
    ).all()
    return [(r.blob, r.size) for r in rows]


# --- the blob store of a runtime -------------------------------------------------------------

_stores: dict[str, BlobStore] = {}
_stores_lock = threading.Lock()


def _open_store(runtime: Runtime) -> tuple[BlobStore, int | None]:
    """The runtime's blob store, and how many files the sweep of its first use removed."""
    key = str(runtime.config.data_dir)
    store = _stores.get(key)
    if store is not None:
        return store, None
    with _stores_lock:
        store = _stores.get(key)
        if store is not None:
            return store, None
        store = BlobStore(runtime.config.data_dir, before_unlink=runtime.db.sync_now)
        removed = _sweep(runtime, store)
        _stores[key] = store
        return store, removed


def blob_store(runtime: Runtime) -> BlobStore:
    """The runtime's blob store; the first use in a process sweeps debris of dead writers."""
    return _open_store(runtime)[0]


def referenced_blobs(runtime: Runtime, names: list[str]) -> set[str]:
    found: set[str] = set()
    with runtime.db.read() as conn:
        for column in (s3_objects.c.blob, s3_object_versions.c.blob, s3_parts.c.blob):
            rows = conn.execute(select(column).where(column.in_(names))).all()
            found.update(r[0] for r in rows)
    return found


def _sweep(runtime: Runtime, store: BlobStore) -> int:
    return store.sweep(lambda names: referenced_blobs(runtime, names))


def cleanup_orphans(runtime: Runtime) -> int:
    """Remove temporary files and unreferenced blobs left by crashed writers; returns the count.

    Safe while other workers serve requests: only files of processes that are gone are touched.
    """
    store, removed = _open_store(runtime)
    return removed if removed is not None else _sweep(runtime, store)
