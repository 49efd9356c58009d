"""The operator's commands: `forum doctor` on a good and a broken configuration, and
`forum backup` / `forum restore` round trips on SQLite and PostgreSQL, the report key kept apart."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from forum.app import create_app
from forum.services.demo import DEMO_PASSWORD
from forum.settings import Settings
from tests.conftest import (
    BASE,
    create_postgres_database,
    drop_postgres_database,
    free_port,
    login,
    make_client,
    postgres_copy,
)

SECRET = "s" * 48
TOKEN = "metrics-token-0123456789"


def forum(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
    return subprocess.run(
        [sys.executable, "-m", "forum", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


# ---- forum doctor --------------------------------------------------------------------------


def test_doctor_is_green_on_a_production_configuration(
    postgres_template: str, redis_url: str
) -> None:
    from forum.services.reports_crypto import new_key
    from tests.mail import SmtpSink

    sink = SmtpSink().start()
    try:
        with postgres_copy(postgres_template) as database:
            done = forum(
                "doctor",
                FORUM_DATABASE_URL=database,
                FORUM_REDIS_URL=redis_url,
                FORUM_BASE_URL="https://forum.example.org",
                FORUM_SECRET_KEY=SECRET,
                FORUM_TRUSTED_PROXIES="127.0.0.1",
                FORUM_METRICS_TOKEN=TOKEN,
                FORUM_EMAIL_URL=sink.url,
                FORUM_EMAIL_FROM="forum@forum.example.org",
                FORUM_REPORTS_KEY=new_key(),
            )
    finally:
        sink.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout and "WARN" not in done.stdout
    topics = ("base URL", "secret key", "database", "migrations", "Redis", "reverse proxy")
    for topic in (*topics, "email", "reports key"):
        assert f"ok    {topic}:" in done.stdout
    assert sink.messages == []  # the check speaks to the relay but sends nothing
    assert "Ready to go live" in done.stdout
    assert SECRET not in done.stdout and TOKEN not in done.stdout


def test_doctor_names_each_problem_of_a_broken_configuration_and_its_fix(tmp_path: Path) -> None:
    done = forum(
        "doctor",
        FORUM_DATABASE_URL=f"sqlite://{tmp_path / 'missing.sqlite3'}",
        FORUM_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        FORUM_TRUSTED_PROXIES="*",
        FORUM_EMAIL_URL=f"smtp://127.0.0.1:{free_port()}",
    )
    assert done.returncode == 1
    assert "FAIL  email: smtp://127.0.0.1:" in done.stdout and "does not answer" in done.stdout
    assert "FAIL  reports key: no key file at" in done.stdout
    out = done.stdout
    assert "FAIL  base URL: FORUM_BASE_URL is not set" in out
    assert "FAIL  secret key: FORUM_SECRET_KEY is not set" in out
    assert "FAIL  database: no SQLite database at" in out
    assert "run `forum migrate`" in out
    assert "FAIL  Redis: Redis is not reachable" in out
    assert "WARN  reverse proxy: FORUM_TRUSTED_PROXIES is *" in out
    assert "WARN  metrics: FORUM_METRICS_TOKEN is not set" in out
    assert out.count("fix: ") >= 6
    assert "problem(s) to fix before going live" in out

    # https without a trusted proxy, a plain-http public address, and a migration not applied.
    db = tmp_path / "behind.sqlite3"
    assert forum("migrate", FORUM_DATABASE_URL=f"sqlite://{db}").returncode == 0
    with sqlite3.connect(db) as conn:
        last = conn.execute("SELECT max(name) FROM tortoise_migrations").fetchone()[0]
        conn.execute("DELETE FROM tortoise_migrations WHERE name = ?", (last,))
    conn.close()
    done = forum(
        "doctor",
        FORUM_DATABASE_URL=f"sqlite://{db}",
        FORUM_BASE_URL="https://forum.example.org",
        FORUM_SECRET_KEY="short",
    )
    assert done.returncode == 1
    assert "FAIL  reverse proxy: FORUM_BASE_URL is https but FORUM_TRUSTED_PROXIES is empty" in (
        done.stdout
    )
    assert f"FAIL  migrations: 1 migration(s) not applied: {last}" in done.stdout
    assert "FAIL  secret key: FORUM_SECRET_KEY is 5 characters long" in done.stdout
    plain = forum("doctor", FORUM_BASE_URL="http://forum.example.org", FORUM_SECRET_KEY=SECRET)
    assert "FAIL  base URL: FORUM_BASE_URL is http://" in plain.stdout


# ---- backup and restore ---------------------------------------------------------------------


def sqlite_rows(path: Path) -> dict[str, list[Any]]:
    """Every row of every table, in a stable order."""
    with sqlite3.connect(path) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        rows = {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"'))) for t in tables}
    conn.close()
    return rows


async def postgres_rows(url: str) -> dict[str, list[Any]]:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE'"
        )
        out = {}
        for t in tables:
            name = t["table_name"]
            rows = await conn.fetch(f'SELECT * FROM "{name}"')
            out[name] = sorted(repr(tuple(r.values())) for r in rows)
        return out
    finally:
        await conn.close()


async def reads_the_demo(database_url: str) -> None:
    """The restored forum works: a demo member signs in and reads the demo thread's replies."""
    settings = Settings(database_url=database_url, base_url=BASE, secret_key="test")
    app = create_app(settings)
    async with app.router.lifespan_context(app), make_client(app) as client:
        assert (await login(client, "amara", DEMO_PASSWORD)).status_code == 303
        home = await client.get("/c/statements")
        assert "On the dissolution" in home.text
        thread = home.text.split('href="/t/', 1)[1].split('"', 1)[0]
        page = await client.get(f"/t/{thread}")
        assert "The line about caucuses being suppressed is the heart of it" in page.text


def test_sqlite_backup_restores_everything_and_keeps_the_report_key_apart(
    tmp_path: Path, template_db: Path
) -> None:
    db = tmp_path / "live" / "forum.sqlite3"
    db.parent.mkdir()
    shutil.copy(template_db, db)
    url = f"sqlite://{db}"
    assert forum("demo", FORUM_DATABASE_URL=url).returncode == 0
    # The demo made the reports key beside the database, and a confidential case under it.
    key = Path(f"{db}.reports-key").read_bytes()
    assert key

    # Without --key-out the key stays out, and the operator is told to keep it elsewhere.
    plain = forum("backup", str(tmp_path / "plain"), FORUM_DATABASE_URL=url)
    assert plain.returncode == 0, plain.stderr
    assert "is not in the backup" in plain.stdout
    # The key may not be written into the backup itself.
    inside = forum(
        "backup",
        str(tmp_path / "b2"),
        "--key-out",
        str(tmp_path / "b2" / "k"),
        FORUM_DATABASE_URL=url,
    )
    assert inside.returncode == 1 and "outside the backup directory" in inside.stderr

    backup_dir, key_file = tmp_path / "backup", tmp_path / "secrets" / "reports-key"
    key_file.parent.mkdir()
    done = forum("backup", str(backup_dir), "--key-out", str(key_file), FORUM_DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in backup_dir.iterdir()) == ["forum.sqlite3", "manifest.json"]
    assert key not in (backup_dir / "forum.sqlite3").read_bytes()
    assert key_file.read_bytes() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert manifest["database"] == "sqlite" and manifest["report_key"] == "kept apart"

    # A second backup into the same directory is refused rather than mixed in.
    again = forum("backup", str(backup_dir), FORUM_DATABASE_URL=url)
    assert again.returncode == 1 and "not empty" in again.stderr

    new = tmp_path / "restored" / "forum.sqlite3"
    new.parent.mkdir()
    new_url = f"sqlite://{new}"
    done = forum("restore", str(backup_dir), "--key-in", str(key_file), FORUM_DATABASE_URL=new_url)
    assert done.returncode == 0, done.stderr
    assert "migrations applied" in done.stdout
    assert sqlite_rows(new) == sqlite_rows(db)
    assert Path(f"{new}.reports-key").read_bytes() == key
    asyncio.run(reads_the_demo(new_url))
    # The restored case log still verifies, entry by entry.
    verified = forum("verify-reports", FORUM_DATABASE_URL=new_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # Restoring over a forum that has data is refused; so is a backup that was altered.
    over = forum("restore", str(backup_dir), FORUM_DATABASE_URL=url)
    assert over.returncode == 1 and "exists" in over.stderr
    with open(backup_dir / "forum.sqlite3", "ab") as f:
        f.write(b"tampered")
    bad = forum("restore", str(backup_dir), FORUM_DATABASE_URL=f"sqlite://{tmp_path / 'x.db'}")
    assert bad.returncode == 1 and "does not match" in bad.stderr


@pytest.mark.postgres
def test_postgres_backup_restores_everything_into_an_empty_database(
    tmp_path: Path, postgres_template: str
) -> None:
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is not installed (postgresql-client)")
    with postgres_copy(postgres_template) as live:
        assert forum("demo", FORUM_DATABASE_URL=live).returncode == 0
        backup_dir = tmp_path / "backup"
        done = forum("backup", str(backup_dir), FORUM_DATABASE_URL=live)
        assert done.returncode == 0, done.stderr
        assert json.loads((backup_dir / "manifest.json").read_text())["database"] == "postgresql"
        empty = asyncio.run(create_postgres_database())
        try:
            done = forum("restore", str(backup_dir), FORUM_DATABASE_URL=empty)
            assert done.returncode == 0, done.stderr
            assert asyncio.run(postgres_rows(empty)) == asyncio.run(postgres_rows(live))
            asyncio.run(reads_the_demo(empty))
            # The database now has tables: a second restore into it is refused.
            again = forum("restore", str(backup_dir), FORUM_DATABASE_URL=empty)
            assert again.returncode == 1 and "restore into an empty database" in again.stderr
        finally:
            asyncio.run(drop_postgres_database(empty))
