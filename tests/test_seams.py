"""The private-internals seam (forum/seams.py): its fast paths give exactly what the plain paths
give, the start-up check keeps them on with the installed libraries, and turns a path off with
a warning naming the library and its version when it no longer fits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from tortoise.models import Model

from forum import seams
from forum.app import create_app
from forum.models import Caucus, Channel, Member, Session, Thread
from forum.services.accounts import SESSION_QUERY
from forum.services.threads import THREAD_QUERY, thread_query_params
from forum.settings import Settings
from tests.conftest import free_port, make_member


@pytest.fixture(autouse=True)
def seams_restored() -> Iterator[None]:
    saved = seams.DIRECT_WRITES, seams.ORM_FAST
    yield
    seams.DIRECT_WRITES, seams.ORM_FAST = saved


def fields_of(obj: Model | None) -> dict[str, Any]:
    assert obj is not None
    return {name: getattr(obj, name) for name in obj._meta.db_fields}


async def test_the_check_keeps_both_fast_paths_with_the_installed_libraries(
    app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "forum.seams"):
        seams.check()
    assert seams.DIRECT_WRITES and seams.ORM_FAST
    assert not caplog.records


async def test_a_seam_that_no_longer_fits_falls_back_with_a_warning(
    app: Starlette, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a newer uvicorn or tortoise might: state renamed, a private constructor gone.
    monkeypatch.setattr(seams, "_DIRECT_ATTRS", (*seams._DIRECT_ATTRS, "renamed_transport"))
    monkeypatch.delattr(Model, "_init_from_db")
    with caplog.at_level(logging.WARNING, "forum.seams"):
        seams.check()  # never raises
    assert not seams.DIRECT_WRITES and not seams.ORM_FAST
    messages = [r.getMessage() for r in caplog.records]
    uvicorn_version = seams.library_version("uvicorn")
    tortoise_version = seams.library_version("tortoise-orm")
    assert any(f"uvicorn {uvicorn_version}" in m and "renamed_transport" in m for m in messages)
    assert any(f"tortoise-orm {tortoise_version}" in m for m in messages)


async def test_prepared_queries_build_the_same_models_as_the_orm(app: Starlette) -> None:
    member = await make_member("amara")
    caucus = await Caucus.create(name="Renters", name_key="renters", slug="renters")
    channel = await Channel.create(name="Talk", slug="renters-talk", caucus=caucus)
    thread = await Thread.create(channel=channel, title="Rent", author=member)
    moment = datetime.now(UTC)
    session = await Session.create(
        token_hash="h" * 64,
        member=member,
        csrf_token="c",
        user_agent="test",
        created_at=moment,
        last_seen_at=moment,
    )
    results: dict[bool, list[Model | None]] = {}
    for fast in (True, False):
        seams.ORM_FAST = fast
        found_thread, marker = await THREAD_QUERY.first(thread_query_params(member.id, thread.id))
        found_session, _ = await SESSION_QUERY.first(["h" * 64])
        assert isinstance(found_thread, Thread) and isinstance(found_session, Session)
        assert marker == {
            "id": None,
            "last_read_seq": None,
            "body": None,
            "muted": None,
            "marks": None,
        }
        results[fast] = [
            found_thread,
            found_thread.channel,
            found_thread.channel.caucus,
            found_thread.author,
            found_session,
            found_session.member,
        ]
        assert found_thread.statement is None
        assert getattr(found_thread, "_saved_in_db", False)
    assert [fields_of(o) for o in results[True]] == [fields_of(o) for o in results[False]]
    assert fields_of(results[True][0])["id"] == thread.id
    assert fields_of(results[True][4])["id"] == session.id
    assert isinstance(results[True][5], Member)


# ---- the same bytes on the wire, through a real uvicorn ------------------------------------


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[Starlette, int]]:
    port = free_port()
    app = create_app(settings.with_(base_url=f"http://127.0.0.1:{port}"))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws="websockets-sansio", log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        yield app, port
    finally:
        server.should_exit = True
        await task


async def raw_frames(port: int, frames: list[bytes], replies: int) -> tuple[bytes, Any]:
    """Open /ws over a plain TCP connection, send masked frames, and return the raw bytes of
    the server's first `replies` frames (assumed short: 7-bit lengths)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            "GET /ws HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            f"Origin: http://127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101"), head
    for payload in frames:
        mask = b"\x01\x02\x03\x04"
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        writer.write(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    out = b""
    for _ in range(replies):
        header = await asyncio.wait_for(reader.readexactly(2), 5)
        assert header[1] < 126
        out += header + await asyncio.wait_for(reader.readexactly(header[1]), 5)
    return out, writer


async def test_direct_writes_put_the_same_bytes_on_the_wire_as_the_asgi_send(
    settings: Settings,
) -> None:
    frames = [b'{"op": "ping"}', b'{"op": "subscribe", "topic": "thread:1"}', b'{"op": "x"}']
    wires: dict[bool, bytes] = {}
    async with serving(settings) as (app, port):
        for direct in (True, False):
            seams.DIRECT_WRITES = direct
            wire, writer = await raw_frames(port, frames, 3)
            # The socket was served by the path under test.
            clients = [c for beat in app.state.hub.beats for c in beat]
            assert len(clients) == 1 and (clients[0].direct is not None) == direct
            wires[direct] = wire
            writer.close()
            for _ in range(100):
                if not app.state.hub.count:
                    break
                await asyncio.sleep(0.02)
    assert wires[True] == wires[False]
    assert b'{"op": "pong"}' in wires[True] and b'"code": "not_found"' in wires[True]
