"""Versioned schema migrations and the check that runs them at start-up.

The database records its version in `settings['schema_version']`. Each step moves it one up inside
one transaction, so a crash mid-migration leaves the previous version intact (PostgreSQL has
transactional DDL; on SQLite, CREATE TABLE is transactional too).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, LargeBinary, inspect, select

from trailgate.store import (  # noqa: F401 - register tables
    schema,
    schema_console,
    schema_iam,
    schema_s3,
    schema_trail,
)
from trailgate.store.db import Database

Step = Callable[[Connection], None]


def _create_tables_since(version: int) -> Step:
    def step(conn: Connection) -> None:
        tables = [t for t in schema.metadata.sorted_tables if t.info.get("since") == version]
        schema.metadata.create_all(conn, tables=tables)

    return step


def _add_inline_bodies(conn: Connection) -> None:
    """Version 6: object rows may hold a small body (`body`). Tables created at version 3 by
    this trailgate already have the column."""
    blob_type = LargeBinary().compile(dialect=conn.dialect)
    for table in ("s3_objects", "s3_object_versions"):
        columns = {c["name"] for c in inspect(conn).get_columns(table)}
        if "body" not in columns:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN body {blob_type}")


# Index i holds the step that takes the schema from version i to i + 1.
STEPS: list[Step] = [
    _create_tables_since(1),
    _create_tables_since(2),
    _create_tables_since(3),
    _create_tables_since(4),
    _create_tables_since(5),
    _add_inline_bodies,
]

LATEST = len(STEPS)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer trailgate; running would corrupt it."""


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("settings"):
        return 0
    row = conn.execute(
        select(schema.settings.c.value).where(schema.settings.c.key == "schema_version")
    ).first()
    return int(row[0]) if row else 0


def _set_version(conn: Connection, version: int) -> None:
    table = schema.settings
    updated = conn.execute(
        table.update().where(table.c.key == "schema_version").values(value=str(version))
    )
    if updated.rowcount == 0:
        conn.execute(table.insert().values(key="schema_version", value=str(version)))


def migrate(db: Database) -> int:
    """Bring the schema to LATEST; safe to call from several processes at once."""
    while True:
        with db.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                # Serialises concurrent migrators; released at commit.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7478210001)")
            version = current_version(conn)
            if version > LATEST:
                raise SchemaTooNew(
                    f"database schema version {version} is newer than this trailgate ({LATEST})"
                )
            if version == LATEST:
                return version
            STEPS[version](conn)
            _set_version(conn, version + 1)
