"""Caucuses as their members and outsiders use them over HTTP."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from forum.models import Caucus, CaucusMembership, Notification
from tests.conftest import make_client, post_form, signed_in


async def found(
    client: httpx.AsyncClient, name: str, listed: bool = True, join_policy: str = "request"
) -> str:
    response = await post_form(
        client,
        "/caucuses",
        {
            "name": name,
            "description": f"{name} organising",
            "listed": "1" if listed else "0",
            "join_policy": join_policy,
        },
        page="/caucuses",
    )
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[1]


async def test_founding_admitting_and_discussing_in_an_unlisted_caucus(app: Starlette) -> None:
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    admin = await signed_in(app, "ada", "admin")
    fran = await signed_in(app, "fran", "facilitator")
    slug = await found(amara, "Survivors", listed=False, join_policy="invite")
    page = await amara.get(f"/caucuses/{slug}")
    assert "Survivors" in page.text and "convener" in page.text
    # Outsiders (admins and facilitators included) get the same 404 as for nothing at all.
    for outsider in (bo, admin, fran):
        missing = await outsider.get("/caucuses/no-such-caucus")
        hidden = await outsider.get(f"/caucuses/{slug}")
        assert hidden.status_code == 404 and hidden.text == missing.text
        assert "Survivors" not in (await outsider.get("/caucuses")).text
    assert (await post_form(amara, f"/caucuses/{slug}/invite", {"handle": "bo"})).status_code == 303
    invited = await bo.get(f"/caucuses/{slug}")
    assert "You are invited to join" in invited.text
    assert (await post_form(bo, f"/caucuses/{slug}/accept", {})).status_code == 303
    caucus = await Caucus.get(slug=slug)
    assert caucus.member_count == 2
    channel_slug = f"{slug}-talk"
    made = await post_form(
        bo,
        f"/c/{channel_slug}/threads",
        {"title": "Our safety plan", "body": "Private words, @amara."},
        page=f"/c/{channel_slug}/new",
    )
    assert made.status_code == 303
    thread_path = made.headers["location"]
    assert "Private words" in (await amara.get(thread_path)).text
    for outsider in (admin, fran):
        assert (await outsider.get(thread_path)).status_code == 404
        assert "Our safety plan" not in (await outsider.get("/search?q=safety")).text
        assert "Our safety plan" not in (await outsider.get("/")).text
    assert "Our safety plan" in (await amara.get("/search?q=safety")).text
    assert await Notification.filter(member__handle_key="amara", kind="mention").count() == 1


async def test_duplicate_names_refused_only_where_the_founder_can_see(app: Starlette) -> None:
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    await found(amara, "Tenants", listed=True)
    await found(amara, "Hidden Ones", listed=False)
    again = await post_form(
        bo,
        "/caucuses",
        {"name": "tenants", "listed": "1", "join_policy": "request"},
        page="/caucuses",
    )
    assert again.status_code == 400 and "A caucus with this name exists" in again.text
    # The unlisted name is free to bo: refusing it would reveal the hidden caucus.
    assert await found(bo, "Hidden Ones")
    assert await Caucus.filter(name_key="hidden ones").count() == 2


async def test_request_admit_remove_and_last_convener(app: Starlette) -> None:
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    cy = await signed_in(app, "cy")
    slug = await found(amara, "Disabled Members")
    invite_only = await found(amara, "Closed", join_policy="invite")
    refused = await post_form(bo, f"/caucuses/{invite_only}/join", {})
    assert refused.status_code == 400 and "invitation only" in refused.text
    not_asked = await post_form(amara, f"/caucuses/{slug}/members/cy/admit", {})
    assert not_asked.status_code == 400 and "has not asked to join" in not_asked.text
    assert (await post_form(bo, f"/caucuses/{slug}/join", {"note": "hi"})).status_code == 303
    outsider_admits = await post_form(cy, f"/caucuses/{slug}/members/bo/admit", {})
    assert outsider_admits.status_code == 403
    assert (await post_form(amara, f"/caucuses/{slug}/members/bo/admit", {})).status_code == 303
    notes = await bo.get("/notifications")
    assert "You were admitted to Disabled Members" in notes.text
    last = await post_form(amara, f"/caucuses/{slug}/leave", {})
    assert last.status_code == 400 and "at least one convener" in last.text
    made = await post_form(
        bo, f"/c/{slug}-talk/threads", {"title": "T", "body": "b"}, page=f"/c/{slug}-talk/new"
    )
    thread_path = made.headers["location"]
    assert (await bo.get(thread_path)).status_code == 200
    assert (await post_form(amara, f"/caucuses/{slug}/members/bo/remove", {})).status_code == 303
    # The very next request no longer reads the caucus.
    assert (await bo.get(thread_path)).status_code == 404
    members = await amara.get(f"/caucuses/{slug}")
    assert "@bo" not in members.text.split('id="members-h"')[1].split("</aside>")[0]
    assert not await CaucusMembership.exists(member__handle_key="bo", caucus__slug=slug)


async def test_admin_archives_a_listed_caucus_and_its_members_read_why(app: Starlette) -> None:
    amara = await signed_in(app, "amara")
    admin = await signed_in(app, "ada", "admin")
    slug = await found(amara, "Youth")
    page = await admin.get(f"/caucuses/{slug}")
    assert "1 member" in page.text and "@amara" not in page.text
    response = await post_form(admin, f"/caucuses/{slug}/archive", {"reason": "inactive a year"})
    assert response.status_code == 303
    log = await amara.get(f"/caucuses/{slug}/log")
    assert "inactive a year" in log.text and "@ada" in log.text
    assert "inactive a year" not in (await admin.get("/moderation/log")).text
    assert (await admin.get(f"/caucuses/{slug}/log")).status_code == 404
    new = await amara.get(f"/c/{slug}-talk/new")
    assert new.status_code == 200
    refused = await post_form(
        amara, f"/c/{slug}-talk/threads", {"title": "x", "body": "y"}, page=f"/c/{slug}-talk/new"
    )
    assert refused.status_code == 403
    async with make_client(app) as anonymous:
        assert (await anonymous.get(f"/caucuses/{slug}")).status_code in (303, 404)


async def test_every_page_and_composer_in_a_caucus_says_it_is_private(app: Starlette) -> None:
    from forum.services import channels

    await channels.create_channel(None, "General", "general")
    amara = await signed_in(app, "amara")
    slug = await found(amara, "Survivors' Caucus", listed=False, join_policy="invite")
    talk = f"{slug}-talk"
    made = await post_form(
        amara,
        f"/c/{talk}/threads",
        {"title": "Plans", "body": "First words"},
        page=f"/c/{talk}/new",
    )
    thread_path = made.headers["location"]
    tid = thread_path.rsplit("/", 1)[1]
    replied = await post_form(amara, f"/t/{tid}/posts", {"body": "A reply"}, page=thread_path)
    pid = replied.headers["location"].rsplit("/", 1)[1]
    marker = "<strong>Private to Survivors&#39; Caucus</strong>"
    for path in (
        f"/caucuses/{slug}",
        f"/c/{talk}",
        f"/c/{talk}/new",
        thread_path,
        f"/t/{tid}/reply?to={pid}",
        f"/p/{pid}/edit",
        f"/caucuses/{slug}/log",
    ):
        page = await amara.get(path)
        assert page.status_code == 200, path
        assert marker in page.text, f"{path} does not say it is private"
    thread_page = (await amara.get(thread_path)).text
    # The composer on the thread page carries it too, and the breadcrumb names the caucus once.
    reply_box = thread_page.split('id="reply-h"', 1)[1]
    assert marker in reply_box.split("</form>", 1)[0]
    crumbs = thread_page.split('aria-label="Breadcrumb"', 1)[1].split("</nav>", 1)[0]
    assert crumbs.count("Survivors&#39; Caucus") == 1

    # Open pages carry no such marker; the home list tags the caucus thread for its member.
    opened = await post_form(
        amara, "/c/general/threads", {"title": "Open", "body": "Open words"}, page="/c/general/new"
    )
    open_page = await amara.get(opened.headers["location"])
    assert "Private to" not in open_page.text
    assert "Open to every member of the organisation." in (await amara.get("/c/general/new")).text
