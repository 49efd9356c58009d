"""Shared fixtures: a fresh migrated SQLite database and a real app per test, members by role,
and the PostgreSQL / Redis services (skipped loudly on a laptop, required in CI)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from forum.app import create_app
from forum.db import apply_migrations
from forum.models import Member
from forum.security import PASSWORDS
from forum.services import post_rows
from forum.settings import Settings
from tests.mail import SmtpSink

PASSWORD = "correct horse battery"
# Hashing is slow by design; every test member shares one real argon2id hash of PASSWORD.
_HASH = PASSWORDS.hash(PASSWORD)
BASE = "http://testserver"
REQUIRE_SERVICES = os.environ.get("FORUM_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get("FORUM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("FORUM_TEST_REDIS", "redis://127.0.0.1:6379/0")


def pytest_report_header(config: Any) -> list[str]:
    return [f"services required: {REQUIRE_SERVICES} (FORUM_REQUIRE_SERVICES)"]


def service_missing(name: str, why: str) -> None:
    """Fail in CI, skip loudly elsewhere."""
    message = f"{name} IS NOT REACHABLE ({why}): {name} TESTS NOT RUN"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    print(f"\n*** SKIPPED: {message} ***")
    pytest.skip(message)


# ---- databases -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_page_cache() -> None:
    """Each test has its own database, so cached thread pages of another test mean nothing."""
    post_rows.forget()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating per test would be slow)."""
    path = tmp_path_factory.mktemp("template") / "forum.sqlite3"
    asyncio.run(apply_migrations(f"sqlite://{path}"))
    return path


@pytest.fixture
def database_url(tmp_path: Path, template_db: Path) -> str:
    path = tmp_path / "forum.sqlite3"
    shutil.copy(template_db, path)
    return f"sqlite://{path}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Mail goes to a folder of .eml files (see `mailbox`); tests of SMTP start an aiosmtpd sink.
    return Settings(
        database_url=database_url,
        base_url=BASE,
        secret_key="test",
        signup="invite",
        email_url=f"file://{tmp_path / 'mail'}",
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def make_client(app: Starlette, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 4321))
    return httpx.AsyncClient(transport=transport, base_url=BASE)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(app) as c:
        yield c


# ---- members and signing in ------------------------------------------------------------------


async def make_member(
    handle: str, role: str = "member", status: str = "active", display_name: str = ""
) -> Member:
    return await Member.create(
        handle=handle,
        handle_key=handle.lower(),
        display_name=display_name or handle.title(),
        password_hash=_HASH,
        role=role,
        status=status,
    )


CSRF_RE = re.compile(r'name="csrf" value="([^"]*)"')


async def csrf_token(client: httpx.AsyncClient, path: str = "/login") -> str:
    page = await client.get(path)
    if page.status_code == 303:  # e.g. /login when already signed in
        page = await client.get("/account")
    match = CSRF_RE.search(page.text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def login(client: httpx.AsyncClient, handle: str, password: str = PASSWORD) -> httpx.Response:
    token = await csrf_token(client, "/login")
    return await client.post("/login", data={"handle": handle, "password": password, "csrf": token})


async def signed_in(app: Starlette, handle: str, role: str = "member") -> httpx.AsyncClient:
    """A client signed in as a new member with this handle and role."""
    await make_member(handle, role)
    c = make_client(app)
    response = await login(c, handle)
    assert response.status_code == 303, response.text
    return c


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, str], page: str | None = None
) -> httpx.Response:
    """Submit a form the way a browser would: with the CSRF token from a page of the site."""
    token = await csrf_token(client, page or "/account")
    return await client.post(path, data={**data, "csrf": token})


# ---- services ---------------------------------------------------------------------------------


def _admin_dsn() -> str:
    return POSTGRES_URL.replace("postgres://", "postgresql://", 1)


async def create_postgres_database(template: str | None = None) -> str:
    """A new PostgreSQL database with a name of its own (a copy of `template`, a database URL,
    when given); its URL. Skips loudly, or fails in CI, when PostgreSQL is not reachable."""
    import asyncpg

    name = f"forum_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(_admin_dsn(), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        service_missing("POSTGRESQL", str(exc))
    copy = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
    try:
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await conn.close()
    return f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"


async def drop_postgres_database(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_admin_dsn(), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database of this test's own, dropped afterwards."""
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """One migrated PostgreSQL database per session, for `postgres_copy` to copy (migrating
    takes seconds; CREATE DATABASE ... TEMPLATE a tenth of one). It is migrated in a process of
    its own: tortoise's connections are process-wide, and this fixture may be set up while
    another test's app is still open."""
    url = asyncio.run(create_postgres_database())
    try:
        migrate = "import asyncio, sys; from forum.db import apply_migrations as m; "
        migrate += "asyncio.run(m(sys.argv[1]))"
        subprocess.run([sys.executable, "-c", migrate, url], check=True, timeout=300)
        yield url
    finally:
        asyncio.run(drop_postgres_database(url))


@contextlib.contextmanager
def postgres_copy(template: str) -> Iterator[str]:
    """A migrated PostgreSQL database of its own (a copy of the template), dropped afterwards.
    Synchronous, so that fixtures of any scope can use it before their event loop runs."""
    url = asyncio.run(create_postgres_database(template))
    try:
        yield url
    finally:
        asyncio.run(drop_postgres_database(url))


@pytest.fixture
def redis_url() -> str:
    host_port = REDIS_URL.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    try:
        with socket.create_connection((host, int(port or 6379)), timeout=2):
            pass
    except OSError as exc:
        service_missing("REDIS", str(exc))
    return REDIS_URL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Any]:
    """A redis-server of this test's own, on a free port, that the test may kill and restart."""
    from tests.servers import RedisProcess

    if shutil.which("redis-server") is None:
        service_missing("REDIS-SERVER BINARY", "not on PATH")
    proc = RedisProcess(free_port(), tmp_path)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def queries() -> Iterator[list[str]]:
    """Every SQL statement the app sends while the test runs."""
    seen: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger = logging.getLogger("tortoise.db_client")
    handler = Catch(logging.DEBUG)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """A local SMTP server (aiosmtpd) that keeps what it receives."""
    server = SmtpSink().start()
    try:
        yield server
    finally:
        server.stop()
