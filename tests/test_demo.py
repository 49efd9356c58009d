"""The demo shows the forum: open discussion, visible moderation, a caucus and its privacy."""

from __future__ import annotations

from starlette.applications import Starlette

from forum.models import Caucus, Thread
from forum.services import demo
from tests.conftest import login, make_client


async def test_the_demo_shows_channels_moderation_and_a_private_caucus(app: Starlette) -> None:
    services = app.state.services
    services.settings = services.settings.with_(render_timeout_seconds=30)
    assert await demo.load(services) is True
    assert await demo.load(services) is False  # loading twice changes nothing

    caucus = await Caucus.get(name=demo.CAUCUS_NAME)
    assert caucus.listed and caucus.member_count == 2
    private = await Thread.get(title="Access needs for the conference")
    meeting = await Thread.get(title="Branch meetings: what format works for the new year?")

    clients = {}
    for handle in ("amara", "bo", "fran", "admin", "cy"):
        client = make_client(app)
        assert (await login(client, handle, demo.DEMO_PASSWORD)).status_code == 303
        clients[handle] = client
    for member in ("amara", "bo"):
        page = await clients[member].get(f"/t/{private.id}")
        assert page.status_code == 200 and "No quiet room" in page.text
        assert "Private to Disabled Members&#39; Caucus" in page.text
    for outsider in ("fran", "admin", "cy"):
        assert (await clients[outsider].get(f"/t/{private.id}")).status_code == 404
        # The listed caucus is known by name, not by its discussions.
        listing = await clients[outsider].get("/caucuses")
        assert "Disabled Members&#39; Caucus" in listing.text
        assert "Access needs" not in listing.text
    home = await clients["amara"].get("/")
    assert "Disabled Members&#39; Caucus" in home.text.split('id="ch-h"', 1)[1]
    slowed = await clients["cy"].get(f"/t/{meeting.id}")
    assert "Slow mode set by @fran" in slowed.text and "Keeping the pace readable" in slowed.text
    for client in clients.values():
        await client.aclose()
