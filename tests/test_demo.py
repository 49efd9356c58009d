"""The demo shows the forum: open discussion, visible moderation, a caucus and its privacy."""

from __future__ import annotations

from starlette.applications import Starlette

from forum.models import Ballot, Caucus, Decision, DecisionVoter, Thread
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


async def test_the_demo_has_a_decided_motion_in_the_register_and_its_thread(
    app: Starlette,
) -> None:
    """The demo's motion went through the real decisions service: opened with a frozen
    electorate (the nine active demo members), six secret ballots, closed early by its proposer
    with a reason in the log, and recorded in the register with its outcome statement."""
    services = app.state.services
    services.settings = services.settings.with_(render_timeout_seconds=30)
    assert await demo.load(services) is True

    motion = await Decision.get(title=demo.MOTION_TITLE)
    assert (motion.status, motion.outcome, motion.secret) == ("closed", "carried", True)
    assert (motion.electorate, motion.ballots_cast) == (9, 6)
    # Secret: no ballot names its voter; the voters' rows say only that they voted.
    assert await Ballot.filter(decision_id=motion.id, member_id__isnull=False).count() == 0
    assert await DecisionVoter.filter(decision_id=motion.id, voted=True).count() == 6

    async with make_client(app) as cy:
        assert (await login(cy, "cy", demo.DEMO_PASSWORD)).status_code == 303
        register = await cy.get("/decisions")
        assert register.status_code == 200
        row = register.text.split(demo.MOTION_TITLE, 1)[1].split("</li>", 1)[0]
        assert "<strong>Carried</strong>" in row and "6 of 9 voted" in row
        assert "From January we meet online every other Tuesday" in row
        thread = await cy.get(f"/t/{motion.thread_id}")
        box = thread.text.split('id="decisions-h"', 1)[1].split("</section>", 1)[0]
        assert demo.MOTION_TITLE in box
        assert ">closed</span>" in box and "Carried" in box and ">6</span> of" in box
        page = await cy.get(f"/d/{motion.id}")
        assert page.status_code == 200 and "Carried" in page.text
        log = await cy.get("/moderation/log")
        assert "Closed at the branch meeting" in log.text
