"""The case log as an operator checks it: `forum verify-reports` names a changed, reordered or
deleted entry; an erasure keeps the chain valid; the key lives outside the database; and the
whole path runs on PostgreSQL too."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from tortoise import connections

from forum.app import create_app
from forum.db import apply_migrations
from forum.models import CaseEntry
from forum.services import reports_crypto, reports_log
from forum.settings import Settings
from tests.conftest import BASE, signed_in
from tests.test_cli import forum
from tests.test_reports import act, case_id, report, seat


async def _cases(app: Starlette) -> list[int]:
    admin = await signed_in(app, "ada", "admin")
    rae = await signed_in(app, "rae")
    cleo = await signed_in(app, "cleo")
    await seat(admin, "cleo")
    first = case_id(await report(rae, "first report", respondents=""))
    second = case_id(await report(rae, "second report"))
    await act(cleo, first, "acknowledge")
    await act(cleo, first, "message", text="we hear you")
    await act(rae, first, "message", text="thank you")
    await act(cleo, second, "acknowledge")
    return [first, second]


async def _problems() -> list[str]:
    _, problems = await reports_log.verify(connections.get("default"))
    return [str(p) for p in problems]


async def _sql(sql: str) -> None:
    await connections.get("default").execute_script(sql)


async def test_an_untouched_log_verifies_and_erasure_keeps_it_valid(app: Starlette) -> None:
    first, _ = await _cases(app)
    assert await _problems() == []
    rae_erases = await CaseEntry.filter(report_id=first, side="reporter").count()
    assert rae_erases == 2
    from tests.conftest import login, make_client

    rae = make_client(app)
    await login(rae, "rae")
    assert (await act(rae, first, "erase")).status_code == 303
    assert await CaseEntry.filter(report_id=first, ciphertext=None, erased=True).count() == 2
    assert await _problems() == []


async def test_a_changed_text_is_named(app: Starlette) -> None:
    first, _ = await _cases(app)
    victim = await CaseEntry.get(report_id=first, kind="message", side="committee")
    other = await CaseEntry.get(report_id=first, kind="filed")
    # Another entry's ciphertext pasted in: its hash no longer matches.
    await _sql(f"UPDATE case_entry SET ciphertext = '{other.ciphertext}' WHERE id = {victim.id}")
    problems = await _problems()
    where = f"entry #{victim.seq} (case {first}, step {victim.case_seq})"
    assert problems == [f"{where}: its text does not match its hash (changed)"]


async def test_a_changed_field_a_new_order_and_a_deletion_are_named(app: Starlette) -> None:
    first, _ = await _cases(app)
    entry = await CaseEntry.get(report_id=first, kind="acknowledged")
    await _sql(f"UPDATE case_entry SET kind = 'closed' WHERE id = {entry.id}")
    assert any(
        f"entry #{entry.seq} " in p and "fields do not match" in p for p in await _problems()
    )
    await _sql(f"UPDATE case_entry SET kind = 'acknowledged' WHERE id = {entry.id}")
    assert await _problems() == []
    # Two entries swap places in the log.
    a, b = await CaseEntry.filter(report_id=first).order_by("seq").limit(2)
    await _sql(
        f"UPDATE case_entry SET seq = -1 WHERE id = {a.id}; "
        f"UPDATE case_entry SET seq = {a.seq} WHERE id = {b.id}; "
        f"UPDATE case_entry SET seq = {b.seq} WHERE id = {a.id};"
    )
    swapped = await _problems()
    assert any(f"entry #{a.seq} " in p for p in swapped)
    assert any(f"entry #{b.seq} " in p for p in swapped)
    await _sql(
        f"UPDATE case_entry SET seq = -1 WHERE id = {b.id}; "
        f"UPDATE case_entry SET seq = {a.seq} WHERE id = {a.id}; "
        f"UPDATE case_entry SET seq = {b.seq} WHERE id = {b.id};"
    )
    assert await _problems() == []
    # An entry deleted from the middle (the foreign keys do not stop raw SQL on a child row).
    gone = await CaseEntry.get(report_id=first, kind="message", side="reporter")
    await _sql(f"DELETE FROM case_entry WHERE id = {gone.id}")
    deleted = await _problems()
    assert f"entry #{gone.seq}: is missing (deleted?)" in deleted


async def test_verify_reports_command_exits_1_naming_the_entry(
    app: Starlette, settings: Settings
) -> None:
    await _cases(app)
    db = Path(settings.database_url.split("://", 1)[1])
    env_dir = db.parent
    os.rename(db, env_dir / "cli.sqlite3")  # test_cli.forum reads this name
    for suffix in ("-wal", "-shm"):
        if (env_dir / f"forum.sqlite3{suffix}").exists():
            os.rename(env_dir / f"forum.sqlite3{suffix}", env_dir / f"cli.sqlite3{suffix}")
    good = forum(env_dir, "verify-reports")
    assert good.returncode == 0, good.stderr
    assert "The case log verifies: 6 entries" in good.stdout
    import sqlite3

    with sqlite3.connect(env_dir / "cli.sqlite3") as raw:
        raw.execute("UPDATE case_entry SET detail = 'changed' WHERE seq = 3")
    bad = forum(env_dir, "verify-reports")
    assert bad.returncode == 1
    assert "BROKEN entry #3 (case " in bad.stdout and "fields do not match" in bad.stdout
    assert "1 problem(s) in the case log (6 entries read)" in bad.stderr


def test_migrate_makes_a_private_key_file_and_verify_runs(tmp_path: Path) -> None:
    assert forum(tmp_path, "migrate").returncode == 0
    key = tmp_path / "cli.sqlite3.reports-key"
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_text()
    assert forum(tmp_path, "migrate").returncode == 0
    assert key.read_text() == before  # never replaced
    settings = Settings(database_url=f"sqlite://{tmp_path / 'cli.sqlite3'}")
    assert reports_crypto.key_source(settings) == f"file:{key}"
    assert reports_crypto.key_source(settings.with_(reports_key="x")) == "env"
    assert reports_crypto.key_source(Settings(database_url="postgres://h/db")) == "none"
    empty = forum(tmp_path, "verify-reports")
    assert empty.returncode == 0 and "0 entries" in empty.stdout
    missing = forum(tmp_path, "committee", "add", "nobody", "--reason", "x")
    assert missing.returncode == 1 and "There is no member @nobody" in missing.stderr
    password = "a long enough password\n"
    assert (
        forum(tmp_path, "create-member", "ann", "--password-stdin", stdin=password).returncode == 0
    )
    made = forum(
        tmp_path, "create-member", "ada", "--role", "admin", "--password-stdin", stdin=password
    )
    assert made.returncode == 0
    no_reason = forum(tmp_path, "committee", "add", "ann", "--reason", " ")
    assert no_reason.returncode == 1 and "Give a reason" in no_reason.stderr
    seated = forum(tmp_path, "committee", "add", "ann", "--reason", "elected")
    assert seated.returncode == 0 and "@ann now sits on the committee." in seated.stdout
    admin = forum(tmp_path, "committee", "add", "ada", "--alternate", "--reason", "elected")
    assert admin.returncode == 1 and "An admin cannot sit on the committee" in admin.stderr
    gone = forum(tmp_path, "committee", "remove", "ann", "--reason", "stepped down")
    assert gone.returncode == 0 and "@ann no longer holds a seat." in gone.stdout


async def test_a_copy_of_the_database_alone_reads_nothing(
    app: Starlette, settings: Settings
) -> None:
    first, _ = await _cases(app)
    raw = Path(settings.database_url.split("://", 1)[1]).read_bytes()
    wal = Path(settings.database_url.split("://", 1)[1] + "-wal")
    if wal.exists():
        raw += wal.read_bytes()
    assert b"first report" not in raw and b"we hear you" not in raw
    other_key = Settings(reports_key=reports_crypto.new_key())
    entry = await CaseEntry.get(report_id=first, kind="filed")
    assert entry.ciphertext is not None
    assert (
        reports_crypto.decrypt(reports_crypto.load_key(other_key), first, 1, entry.ciphertext)
        is None
    )


@pytest.fixture
async def pg_app(postgres_url: str) -> AsyncIterator[Starlette]:
    await apply_migrations(postgres_url)
    key = reports_crypto.new_key()
    app = create_app(
        Settings(database_url=postgres_url, base_url=BASE, signup="invite", reports_key=key)
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest.mark.postgres
async def test_reports_and_their_log_on_postgres(pg_app: Starlette) -> None:
    _, second = await _cases(pg_app)
    assert await _problems() == []
    # Escrow, recusal and the handler's list on PostgreSQL too.
    from tests.conftest import login, make_client

    una = await signed_in(pg_app, "una")
    await signed_in(pg_app, "sam")
    rae, cleo = make_client(pg_app), make_client(pg_app)
    await login(rae, "rae")
    await login(cleo, "cleo")
    held = case_id(await report(rae, "held", level="escrow", respondents="sam"))
    assert (await cleo.get(f"/reports/{held}")).status_code == 404
    other = case_id(await report(una, "me too", level="escrow", respondents="sam"))
    assert (await cleo.get(f"/reports/{held}")).status_code == 200
    assert f"/reports/{other}" in (await cleo.get("/reports")).text
    assert (await act(cleo, other, "declare_conflict")).status_code == 303
    assert f"/reports/{other}" not in (await cleo.get("/reports")).text
    assert await _problems() == []
    entry = await CaseEntry.get(report_id=second, kind="acknowledged")
    await _sql(f"UPDATE case_entry SET detail = 'x' WHERE id = {entry.id}")
    assert any(f"entry #{entry.seq} " in p for p in await _problems())


@pytest.mark.postgres
async def test_postgres_without_a_key_says_reports_are_not_configured(postgres_url: str) -> None:
    await apply_migrations(postgres_url)
    app = create_app(Settings(database_url=postgres_url, base_url=BASE, signup="invite"))
    async with app.router.lifespan_context(app):
        rae = await signed_in(app, "rae")
        page = await rae.get("/reports/new")
        assert page.status_code == 503 and "not configured" in page.text
        sent = await report(rae, "words")
        assert sent.status_code == 503 and "not configured" in sent.text
