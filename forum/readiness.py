"""Is this process ready to serve: database reachable, migrations applied, Redis answering.

Used by `/readyz` (a load balancer's probe) and by `forum doctor`. Each check returns None when
all is well, or a short reason fit to show an operator: never a URL, password or exception text
that might carry one.
"""

from __future__ import annotations

import asyncio
import pkgutil
from typing import Any

from forum.db import APP, MIGRATIONS


def migrations_on_disk() -> list[str]:
    """The names of the committed migrations (`0001_initial`, ...), in order."""
    import importlib

    package = importlib.import_module(MIGRATIONS)
    names = [m.name for m in pkgutil.iter_modules(package.__path__) if m.name[:4].isdigit()]
    return sorted(names)


async def database_problem(conn: Any | None = None) -> str | None:
    """None if the default connection answers a query within 3 seconds."""
    from tortoise import connections

    try:
        conn = conn or connections.get("default")
        await asyncio.wait_for(conn.execute_query("SELECT 1"), 3)
    except TimeoutError:
        return "the database did not answer within 3 s"
    except Exception as exc:
        return f"the database is not reachable ({type(exc).__name__})"
    return None


async def pending_migrations(conn: Any | None = None) -> list[str] | None:
    """Committed migrations not yet applied to the database (None: could not tell)."""
    from tortoise import connections

    try:
        conn = conn or connections.get("default")
        _, rows = await asyncio.wait_for(
            conn.execute_query(
                "SELECT name FROM tortoise_migrations WHERE app = "
                + ("$1" if conn.capabilities.dialect == "postgres" else "?"),
                [APP],
            ),
            3,
        )
    except Exception:
        return None
    applied = {row["name"] for row in rows}
    return [name for name in migrations_on_disk() if name not in applied]


async def migrations_problem() -> str | None:
    pending = await pending_migrations()
    if pending is None:
        return "the migrations table cannot be read (run `forum migrate`)"
    if pending:
        return (
            f"{len(pending)} migration(s) not applied: {', '.join(pending)} (run `forum migrate`)"
        )
    return None


async def redis_problem(redis_url: str | None) -> str | None:
    """None if Redis answers PING within 2 seconds (or no Redis is configured)."""
    if not redis_url:
        return None
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        await asyncio.wait_for(client.ping(), 3)
    except Exception as exc:
        return f"Redis is not reachable ({type(exc).__name__})"
    finally:
        await client.aclose()
    return None


async def readiness(redis_url: str | None) -> dict[str, str]:
    """Each part's state: "ok" or the reason it is not."""
    database = await database_problem()
    migrations = "not checked" if database else await migrations_problem()
    redis = await redis_problem(redis_url)
    return {
        "database": database or "ok",
        "migrations": migrations or "ok",
        "redis": (redis or "ok") if redis_url else "not configured",
    }
