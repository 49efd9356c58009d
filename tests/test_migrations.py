"""The committed migrations build the schema on empty databases and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from forum.db import TORTOISE_ORM, apply_migrations, tortoise_config
from forum.models import Member


async def _can_store_a_member(url: str) -> None:
    await Tortoise.init(config=tortoise_config(url))
    try:
        await Member.create(handle="Ada", handle_key="ada", display_name="Ada", password_hash="x")
        assert (await Member.get(handle_key="ada")).handle == "Ada"
    finally:
        await Tortoise.close_connections()


async def test_migrations_apply_on_empty_sqlite(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'empty.sqlite3'}"
    await apply_migrations(url)
    await apply_migrations(url)  # a second run finds nothing to do
    await _can_store_a_member(url)


@pytest.mark.postgres
async def test_migrations_apply_on_empty_postgres(postgres_url: str) -> None:
    await apply_migrations(postgres_url)
    await apply_migrations(postgres_url)
    await _can_store_a_member(postgres_url)


async def test_models_have_no_unmigrated_changes() -> None:
    apps = {label: dict(app) for label, app in TORTOISE_ORM["apps"].items()}
    async with tortoise_cli_context(TORTOISE_ORM) as ctx:
        writers = await MigrationAutodetector(ctx.apps, apps).changes()
    assert not writers, (
        "models changed without a migration: run "
        "`.venv/bin/tortoise -c forum.db.TORTOISE_ORM makemigrations` and commit the file"
    )
