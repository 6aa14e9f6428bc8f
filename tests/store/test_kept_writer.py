"""SQLite's kept writer connection (`Database.begin`): outermost write transactions share one
connection under the writer lock; a failed transaction leaves it usable; nested write
transactions get a connection of their own."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from trailgate.store import schema
from trailgate.store.db import Database, open_database
from trailgate.store.migrations import migrate


def _value(db: Database, key: str) -> str | None:
    table = schema.settings
    with db.read() as conn:
        row = conn.execute(table.select().where(table.c.key == key)).first()
    return None if row is None else str(row.value)


def test_writers_share_one_connection_and_a_failure_rolls_back(tmp_path: Path) -> None:
    db = open_database(None, tmp_path)
    migrate(db)
    table = schema.settings
    with db.begin() as first:
        first.execute(table.insert().values(key="a", value="1"))
    with pytest.raises(RuntimeError), db.begin() as failing:
        assert failing is first
        failing.execute(table.insert().values(key="b", value="2"))
        raise RuntimeError("undo")
    with db.begin() as again:
        assert again is first
        again.execute(table.insert().values(key="c", value="3"))
    assert (_value(db, "a"), _value(db, "b"), _value(db, "c")) == ("1", None, "3")
    db.dispose()


def test_nested_write_transaction_uses_its_own_connection(tmp_path: Path) -> None:
    db = open_database(None, tmp_path)
    migrate(db)
    with db.begin() as outer, db.writing():
        # The writer lock is reentrant; a nested begin must not reuse the outer connection.
        assert db._kept_writer() is None
        assert outer is db._writer_conn
    db.dispose()


def test_concurrent_writers_all_commit(tmp_path: Path) -> None:
    db = open_database(None, tmp_path)
    migrate(db)
    table = schema.settings
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            for n in range(25):
                with db.begin() as conn:
                    conn.execute(table.insert().values(key=f"k{index}-{n}", value=str(n)))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read() as conn:
        keys = {row.key for row in conn.execute(table.select())}
    assert {f"k{i}-{n}" for i in range(8) for n in range(25)} <= keys
    db.dispose()
