"""`forum backup DIR` and `forum restore DIR`: a consistent copy of the database, taken while
the forum runs, and putting it back into an empty database.

SQLite is copied with SQLite's online backup API (a consistent snapshot, writers carry on);
PostgreSQL with `pg_dump --format=custom`, restored with `pg_restore`. DIR holds the copy and a
`manifest.json` (database kind, file, sha256, migrations applied, time); restore checks the
hash, refuses a database that already has tables, and applies any newer migrations after.

The confidential reports' key is a separate secret and never goes into DIR: `--key-out PATH`
writes it elsewhere (mode 0600), `--key-in PATH` puts it back. Whoever holds a backup without
the key cannot read the reports in it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

from forum.settings import Settings

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_FILE = "forum.sqlite3"
PG_FILE = "forum.pgdump"


class BackupError(Exception):
    """What went wrong, for the operator; the command exits with status 1."""


def report_key_file(settings: Settings) -> Path | None:
    """Where the reports' key lives as a file: beside a SQLite database (`<path>.reports-key`).
    With PostgreSQL the key is FORUM_REPORTS_KEY, kept with the other secrets."""
    path = settings.sqlite_path
    return Path(path + ".reports-key") if path else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pg_env(database_url: str) -> dict[str, str]:
    """libpq's variables for a postgres:// URL, so no password appears on a command line."""
    url = urlsplit(database_url)
    env = {
        "PGHOST": url.hostname or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGDATABASE": unquote(url.path.lstrip("/")),
    }
    if url.username:
        env["PGUSER"] = unquote(url.username)
    if url.password:
        env["PGPASSWORD"] = unquote(url.password)
    return env


def _run(argv: list[str], database_url: str) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{argv[0]} is not installed (Debian: apt-get install postgresql-client)")
    env = {**os.environ, **pg_env(database_url)}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{argv[0]} failed: {done.stderr.strip()[-800:]}")


def _check_key_place(key_out: Path, out_dir: Path) -> None:
    if key_out.resolve().is_relative_to(out_dir.resolve()):
        raise BackupError(
            "--key-out must be outside the backup directory: the key is kept apart from the data"
        )
    if key_out.exists():
        raise BackupError(f"{key_out} exists already")


def _write_secret(source: Path, target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(source.read_bytes())


def backup(settings: Settings, out_dir: Path, key_out: Path | None = None) -> dict[str, object]:
    """Write a backup of the configured database into `out_dir` (new or empty); the manifest."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise BackupError(f"{out_dir} is not empty: give a new directory for each backup")
    key_file = report_key_file(settings)
    if key_out is not None:
        _check_key_place(key_out, out_dir)
        if key_file is None or not key_file.exists():
            raise BackupError(
                "there is no report key file to copy"
                + (f" (looked for {key_file})" if key_file else "")
                + "; with PostgreSQL the key is FORUM_REPORTS_KEY: keep it with your other secrets"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir, 0o700)
    if settings.is_postgres:
        name = PG_FILE
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                "-f",
                str(out_dir / name),
            ],
            settings.database_url,
        )
        kind = "postgresql"
    else:
        path = settings.sqlite_path
        if path is None or not os.path.exists(path):
            raise BackupError(f"no SQLite database at {path}")
        name = SQLITE_FILE
        source = sqlite3.connect(path)
        target = sqlite3.connect(out_dir / name)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
        kind = "sqlite"
    manifest: dict[str, object] = {
        "format": FORMAT,
        "database": kind,
        "file": name,
        "sha256": _sha256(out_dir / name),
        "bytes": (out_dir / name).stat().st_size,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "report_key": "kept apart" if key_out is not None else "not included",
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    if key_out is not None and key_file is not None:
        _write_secret(key_file, key_out)
    return manifest


async def _postgres_is_empty(database_url: str) -> bool:
    import asyncpg

    url = "postgresql://" + database_url.split("://", 1)[1].split("?", 1)[0]
    conn = await asyncpg.connect(url, timeout=10)
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
    return bool(count == 0)


def read_manifest(in_dir: Path) -> dict[str, object]:
    try:
        manifest = json.loads((in_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        raise BackupError(f"{in_dir} holds no readable {MANIFEST}: not a forum backup") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')!r} is not one this forum reads")
    data = in_dir / str(manifest["file"])
    if not data.exists() or _sha256(data) != manifest["sha256"]:
        raise BackupError(f"{data} is missing or does not match its manifest's sha256")
    return dict(manifest)


def restore(settings: Settings, in_dir: Path, key_in: Path | None = None) -> str:
    """Restore a backup into the configured database, which must be empty; then apply newer
    migrations. Returns what was done, for the operator."""
    from forum.db import apply_migrations

    manifest = read_manifest(in_dir)
    data = in_dir / str(manifest["file"])
    if manifest["database"] == "postgresql":
        if not settings.is_postgres:
            raise BackupError("this is a PostgreSQL backup: set FORUM_DATABASE_URL to postgres://")
        if key_in is not None:
            raise BackupError(
                "with PostgreSQL the report key is FORUM_REPORTS_KEY: set it to the key's "
                "contents instead of --key-in"
            )
        if not asyncio.run(_postgres_is_empty(settings.database_url)):
            raise BackupError("the target database has tables: restore into an empty database")
        database = pg_env(settings.database_url)["PGDATABASE"]
        restore_argv = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error"]
        _run([*restore_argv, "-d", database, str(data)], settings.database_url)
    else:
        if settings.is_postgres:
            raise BackupError("this is a SQLite backup: set FORUM_DATABASE_URL to sqlite://PATH")
        path = settings.sqlite_path
        if path is None:
            raise BackupError("FORUM_DATABASE_URL names no SQLite file")
        if os.path.exists(path) and os.path.getsize(path) > 0:
            raise BackupError(f"{path} exists: restore into a new file (or move it away first)")
        key_file = report_key_file(settings)
        if key_in is not None and key_file is not None and key_file.exists():
            raise BackupError(f"{key_file} exists already")
        source = sqlite3.connect(data)
        target = sqlite3.connect(path)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
        if key_in is not None and key_file is not None:
            _write_secret(key_in, key_file)
    asyncio.run(apply_migrations(settings.database_url))
    return f"Restored {manifest['database']} backup of {manifest['created']}; migrations applied."
