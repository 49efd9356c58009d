"""Database configuration for tortoise, and applying the committed migrations."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.migrations.api import migrate as migrate_api

APP = "forum"
MODELS = ["forum.models"]
MIGRATIONS = "forum.migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The tortoise config for a database URL: SQLite (WAL, busy timeout) or PostgreSQL."""
    # tortoise caches each model's INSERT statement by connection *name*, not dialect; a process
    # that opens SQLite and then PostgreSQL under the name "default" (the test suite does) would
    # reuse SQLite's "?" placeholders. Starting every configuration with an empty cache avoids it.
    EXECUTOR_CACHE.clear()
    scheme = urlsplit(database_url).scheme
    connection: dict[str, Any] | str
    if scheme == "sqlite":
        path = database_url.split("://", 1)[1].split("?", 1)[0] or ":memory:"
        connection = {
            "engine": "tortoise.backends.sqlite",
            "credentials": {
                "file_path": path,
                "journal_mode": "WAL",
                # Wait for another writer instead of failing at once with "database is locked".
                "busy_timeout": 5000,
                "synchronous": "NORMAL",
                "foreign_keys": "ON",
            },
        }
    elif scheme in ("postgres", "postgresql", "asyncpg"):
        connection = "asyncpg://" + database_url.split("://", 1)[1]
    else:
        raise ValueError(
            f"unsupported database URL scheme {scheme!r}: use sqlite:// or postgres://"
        )
    return {
        "connections": {"default": connection},
        "apps": {
            APP: {"models": MODELS, "default_connection": "default", "migrations": MIGRATIONS}
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def for_dialect(sql: str, dialect: str) -> str:
    """Hand-written SQL uses "?" for parameters; PostgreSQL (asyncpg) numbers them: $1, $2..."""
    if dialect != "postgres":
        return sql
    pieces = sql.split("?")
    return pieces[0] + "".join(f"${n}{rest}" for n, rest in enumerate(pieces[1:], 1))


def sql_for(conn: Any, sql: str) -> str:
    """`sql` with its parameters marked as the connection's database expects."""
    return for_dialect(sql, conn.capabilities.dialect)


async def apply_migrations(database_url: str) -> None:
    """Apply every committed migration to the database (creating its tables on first run)."""
    config = tortoise_config(database_url)
    try:
        await migrate_api(config=config)
    finally:
        await Tortoise.close_connections()


# For `tortoise -c forum.db.TORTOISE_ORM makemigrations`: the models, not a real database.
TORTOISE_ORM = tortoise_config("sqlite://:memory:")
