"""Crash safety: SIGKILL the server while clients overwrite keys, restart it, and check that every
key holds exactly its old or its new full body, and that no temporary file or unreferenced blob
is left behind; for bodies in blob files and for small bodies kept in their object rows. Also
the blob store's own sweep rules, on a directory."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import kill_under_load
from tests.s3.conftest import make_client

from trailgate.config import Config
from trailgate.runtime import Runtime
from trailgate.services.s3.bodies import ROW_BODY_LIMIT
from trailgate.services.s3.records import referenced_blobs
from trailgate.store.blobs import TMP_DIR, BlobStore
from trailgate.testing.server import ServerProcess

MIB = 1024 * 1024
GENERATIONS = 20


def body_for(key: str, generation: str, size: int) -> bytes:
    seed = hashlib.sha256(f"{key}:{generation}".encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def blob_files(data_dir: Path) -> tuple[list[str], list[str]]:
    root = data_dir / "blobs"
    temps = [p.name for p in (root / TMP_DIR).iterdir()]
    blobs = [p.name for sub in root.iterdir() if sub.is_dir() and sub.name != TMP_DIR
             for p in sub.iterdir()]
    return temps, blobs


# Bodies of 1-4 MiB go to blob files; bodies up to ROW_BODY_LIMIT are kept in the object's row.
SIZES = {
    "blob files": {f"key-{i}": (i % 4 + 1) * MIB + i for i in range(12)},
    "rows": {f"key-{i}": (i % 4) * 16 * 1024 + i for i in range(12)},
}


@pytest.mark.postgres
@pytest.mark.parametrize("storage", list(SIZES))
def test_kill_during_uploads_leaves_old_or_new(
    crash_server: Callable[..., ServerProcess], storage: str
) -> None:
    server = crash_server()
    client = make_client(server, server.root["RootAccessKeyId"], server.root["RootSecretAccessKey"])
    client.create_bucket(Bucket="crash")
    sizes = SIZES[storage]
    assert all(size <= ROW_BODY_LIMIT for size in sizes.values()) == (storage == "rows")
    for key, size in sizes.items():
        client.put_object(Bucket="crash", Key=key, Body=body_for(key, "old", size))

    keys = list(sizes)

    def writer(index: int, stop: threading.Event) -> None:
        own = make_client(server, server.root["RootAccessKeyId"],
                          server.root["RootSecretAccessKey"])
        for generation in range(GENERATIONS):
            for key in keys[index::4]:
                if stop.is_set():
                    return
                try:
                    own.put_object(Bucket="crash", Key=key,
                                   Body=body_for(key, f"new{generation}", sizes[key]))
                except Exception:  # the server is being killed under us
                    return

    kill_under_load(server, writer, threads=4, delay=(0.1, 0.5))

    debris = blob_files(server.data_dir)
    print("debris at kill:", len(debris[0]), "temps,", len(debris[1]), "blobs")
    server = server.restart()
    client = make_client(server, server.root["RootAccessKeyId"], server.root["RootSecretAccessKey"])
    outcomes = {"old": 0, "new": 0}
    for key, size in sizes.items():
        body = client.get_object(Bucket="crash", Key=key)["Body"].read()
        if body == body_for(key, "old", size):
            outcomes["old"] += 1
        else:
            complete = {body_for(key, f"new{g}", size) for g in range(GENERATIONS)}
            assert body in complete, f"{key} is torn"
            outcomes["new"] += 1
    print("outcomes:", outcomes)
    assert sum(outcomes.values()) == len(sizes)

    temps, blobs = blob_files(server.data_dir)
    assert temps == []
    runtime = Runtime.open(Config(data_dir=server.data_dir, database_url=server.database_url))
    try:
        assert referenced_blobs(runtime, blobs) == set(blobs)
    finally:
        runtime.close()
    assert len(blobs) == (len(sizes) if storage == "blob files" else 0)


def test_sweep_keeps_live_writers_and_referenced_blobs(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    kept = store.put(b"referenced")
    orphan = store.put(b"orphan")
    dead_pid = 2**22 + 12345  # above pid_max on Linux: no such process
    dead = store.path(orphan).with_name(f"{orphan.split('.')[0]}.{dead_pid}")
    os.rename(store.path(orphan), dead)
    (store.root / TMP_DIR / f"abc.{dead_pid}.tmp").write_bytes(b"partial")
    live_tmp = store.writer()
    live_tmp.write(b"in flight")
    removed = store.sweep(lambda names: {kept} & set(names))
    assert removed == 2
    assert store.path(kept).exists()
    assert not dead.exists()
    assert (store.root / TMP_DIR / f"{live_tmp.name}.tmp").exists()
    name = live_tmp.commit()
    assert store.open(name).read() == b"in flight"


def test_writer_abort_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(RuntimeError), store.writer() as writer:
        writer.write(b"half")
        raise RuntimeError("client went away")
    assert list((store.root / TMP_DIR).iterdir()) == []


def test_deleted_blobs_are_unlinked_in_the_background(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    names = [store.put(f"body {i}".encode()) for i in range(20)]
    store.delete(names[:15])
    assert store.flush_deletes()
    assert [n for n in names if store.path(n).exists()] == names[15:]
