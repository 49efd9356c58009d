"""Schemathesis against the JSON API in-process: every documented operation, fed generated input,
never answers 5xx and always answers in the shape its OpenAPI document promises.

Schemathesis drives the app on its own event loop (a thread with an anyio portal) and enters the
app's lifespan itself, so the database is prepared beforehand on a loop of ours: a migrated SQLite
copy with an admin (whose token authenticates every call), a channel, a thread and a reply.

The schema is loaded from `api.document()` (the served document is checked to be the same) and
bound to the app late: schemathesis's `pytest.from_fixture` relies on `Node._nodeid`, which
pytest 9 no longer has, and `openapi.from_asgi` at import time would open the database during
collection.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.checks import response_schema_conformance
from starlette.applications import Starlette
from tortoise import Tortoise

from forum.app import create_app
from forum.db import tortoise_config
from forum.models.members import TOKEN_SCOPES
from forum.services import accounts, channels, posting
from forum.services.context import Ctx
from forum.settings import Settings
from forum.web import api
from tests.conftest import BASE, make_member

# Sent with every generated request (set by the fixture once the admin's token exists).
HEADERS: dict[str, str] = {}


async def _seed(database_url: str, app_settings: Settings) -> str:
    """An admin with a token, the General and Statements channels, a thread and a reply."""
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        admin = await make_member("ada", "admin")
        # Decoys take the small ids, which DELETE /tokens/{token_id} is most likely fed, so
        # the token every call uses is not revoked part-way through the run.
        for n in range(5):
            await accounts.create_api_token(admin, f"decoy {n}")
        token = await accounts.create_api_token(admin, "schemathesis", scopes=TOKEN_SCOPES)
        await channels.create_channel(None, "General", "general")
        await channels.create_channel(None, "Statements", "statements", public=True)
        app = create_app(app_settings)
        ctx = Ctx(services=app.state.services, member=admin, actor=await accounts.load_actor(admin))
        thread = await posting.start_thread(ctx, "general", "Seeded", "The first post.")
        await posting.reply(ctx, thread.id, "A reply to edit.")
        return token
    finally:
        await Tortoise.close_connections()


class LateApp:
    """The ASGI app schemathesis calls. The schema is built when pytest collects this module, but
    the real app (and its database) only exists once the fixture below has made it."""

    def __init__(self) -> None:
        self.app: Starlette | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "the `api_app` fixture makes the app"
        await self.app(scope, receive, send)


LATE_APP = LateApp()
schema = schemathesis.openapi.from_dict(api.document())
schema.app = LATE_APP


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Starlette]:
    path = tmp_path_factory.mktemp("schema") / "forum.sqlite3"
    shutil.copy(template_db, path)
    database_url = f"sqlite://{path}"
    app_settings = Settings(
        database_url=database_url,
        base_url=BASE,
        secret_key="test",
        # Generous limits so writes are exercised rather than throttled (429 is still documented).
        post_rate="100000/minute",
        new_member_post_rate="100000/minute",
    )
    token = asyncio.run(_seed(database_url, app_settings))
    HEADERS["Authorization"] = f"Bearer {token}"
    LATE_APP.app = create_app(app_settings)
    try:
        yield LATE_APP.app
    finally:
        # Ends the app's lifespan (closing its database) on schemathesis's own loop.
        schemathesis_asgi.shutdown_lifespans()
        LATE_APP.app = None
        HEADERS.clear()


def test_the_served_document_is_the_one_tested(api_app: Starlette) -> None:
    served = schemathesis_asgi.get_client(LATE_APP).get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.json() == api.document()


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented(case: Any, api_app: Starlette) -> None:
    case.call_and_validate(
        headers=HEADERS, checks=[not_a_server_error, response_schema_conformance]
    )
