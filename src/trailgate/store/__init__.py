"""Persistence: SQLAlchemy Core metadata store (SQLite or PostgreSQL) and the durable blob store."""
