"""Caucuses through the JSON API: founding, inviting, joining, self-government and the log, and
the privacy promise: outside its active members (admins and facilitators included) an unlisted
caucus, and any caucus's members, log, threads and posts answer 404 exactly like nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from forum.models import Member
from forum.services import channels
from tests.conftest import BASE, make_client, signed_in
from tests.test_api import API, NOT_FOUND, error_of, page_csrf, token_client


@pytest.fixture
async def open_channel(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")


async def found(
    client: httpx.AsyncClient, name: str, *, listed: bool = True, join_policy: str = "request"
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/caucuses",
        json={
            "name": name,
            "description": f"{name} organising",
            "listed": listed,
            "join_policy": join_policy,
        },
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def done(response: Any) -> None:
    answer = await response
    assert answer.status_code == 204, answer.text


async def slugs_listed(client: httpx.AsyncClient) -> list[str]:
    response = await client.get(f"{API}/caucuses")
    assert response.status_code == 200, response.text
    return [c["slug"] for c in response.json()["caucuses"]]


async def assert_hidden(client: httpx.AsyncClient, method: str, url: str, missing: str) -> None:
    """Exactly the answer for something that does not exist."""
    body = {"body": "hello", "title": "hello"} if method == "POST" else None
    hidden = await client.request(method, url, json=body)
    nothing = await client.request(method, missing, json=body)
    assert hidden.status_code == 404, (method, url, hidden.text)
    assert hidden.json() == NOT_FOUND == nothing.json(), (method, url)


# ---- the whole life of an unlisted caucus -----------------------------------------------------


async def test_unlisted_caucus_life_invisible_to_admins_and_facilitators(app: Starlette) -> None:
    amara = await token_client(app, "amara")
    bo = await token_client(app, "bo")
    cy = await token_client(app, "cy")
    ada = await token_client(app, "ada", "admin")
    fran = await token_client(app, "fran", "facilitator")

    made = await found(amara, "Survivors", listed=False, join_policy="invite")
    slug = made["slug"]
    assert made["my_seat"] == "convener" and made["member_count"] == 1
    assert made["listed"] is False and made["join_policy"] == "invite"
    assert made["archived"] is False
    page = (await amara.get(f"{API}/caucuses/{slug}")).json()
    talk = f"{slug}-talk"
    assert page["channels"] == [{"slug": talk, "name": "Survivors"}]
    assert page["can"] == {"join": False, "leave": True, "govern": True, "archive": False}
    members = (await amara.get(f"{API}/caucuses/{slug}/members")).json()
    assert members == {
        "members": [{"handle": "amara", "display_name": "Amara", "role": "convener"}],
        "requests": [],
        "invited": [],
    }

    # Before anyone else is in: outsiders, whatever their site role, find nothing.
    outsiders = (bo, cy, ada, fran)
    gone = f"{API}/caucuses/no-such-caucus"
    for outsider in outsiders:
        assert slug not in await slugs_listed(outsider)
        for method, path in [
            ("GET", ""),
            ("GET", "/members"),
            ("GET", "/log"),
            ("POST", "/join"),
            ("POST", "/accept"),
            ("POST", "/leave"),
            ("POST", "/step-down"),
            ("POST", "/invite"),
            ("POST", "/archive"),
            ("POST", "/members/amara/appoint"),
            ("DELETE", "/members/amara"),
        ]:
            await assert_hidden(outsider, method, f"{API}/caucuses/{slug}{path}", gone + path)
        await assert_hidden(outsider, "GET", f"{API}/channels/{talk}", f"{API}/channels/nowhere")

    # Invited: bo learns the caucus exists, not its size, members or channels.
    await done(amara.post(f"{API}/caucuses/{slug}/invite", json={"handle": "@bo"}))
    listed = (await bo.get(f"{API}/caucuses")).json()["caucuses"]
    assert [(c["slug"], c["my_seat"]) for c in listed] == [(slug, "waiting")]
    assert "member_count" not in listed[0]
    invited = (await bo.get(f"{API}/caucuses/{slug}")).json()
    assert invited["my_seat"] == "invited" and "channels" not in invited
    assert "member_count" not in invited
    error_of(await bo.get(f"{API}/caucuses/{slug}/members"), 404, "not_found")
    error_of(await bo.get(f"{API}/caucuses/{slug}/log"), 404, "not_found")
    assert (await amara.get(f"{API}/caucuses/{slug}/members")).json()["invited"] == [
        {"handle": "bo", "display_name": "Bo"}
    ]
    # Asking to join an invite-only caucus is refused, even for the invitee.
    error_of(await bo.post(f"{API}/caucuses/{slug}/join", json={}), 400, "invalid")
    error_of(await cy.post(f"{API}/caucuses/{slug}/accept"), 404, "not_found")

    await done(bo.post(f"{API}/caucuses/{slug}/accept"))
    joined = (await bo.get(f"{API}/caucuses/{slug}")).json()
    assert joined["my_seat"] == "member" and joined["member_count"] == 2
    assert joined["channels"] == [{"slug": talk, "name": "Survivors"}]
    assert joined["can"]["govern"] is False
    bo_members = (await bo.get(f"{API}/caucuses/{slug}/members")).json()
    assert [(m["handle"], m["role"]) for m in bo_members["members"]] == [
        ("bo", "member"),
        ("amara", "convener"),
    ]
    assert "requests" not in bo_members and "invited" not in bo_members  # conveners only

    # A thread in the caucus channel, through the ordinary thread endpoints.
    started = await bo.post(
        f"{API}/channels/{talk}/threads", json={"title": "Our safety plan", "body": "Private."}
    )
    assert started.status_code == 201, started.text
    thread_id = started.json()["id"]
    replied = await amara.post(f"{API}/threads/{thread_id}/posts", json={"body": "Agreed."})
    assert replied.status_code == 201
    post_id = replied.json()["id"]
    assert (await amara.get(f"{API}/channels/{talk}/threads")).json()["threads"][0]["id"] == (
        thread_id
    )

    for outsider in (cy, ada, fran):
        assert slug not in await slugs_listed(outsider)
        for method, url in [
            ("GET", f"{API}/caucuses/{slug}"),
            ("GET", f"{API}/caucuses/{slug}/members"),
            ("GET", f"{API}/caucuses/{slug}/log"),
            ("GET", f"{API}/channels/{talk}"),
            ("GET", f"{API}/channels/{talk}/threads"),
        ]:
            await assert_hidden(outsider, method, url, f"{API}/caucuses/nothing-here")
        for method, url in [
            ("GET", f"{API}/threads/{thread_id}"),
            ("GET", f"{API}/posts/{post_id}"),
            ("GET", f"{API}/posts/{post_id}/revisions"),
            ("POST", f"{API}/threads/{thread_id}/posts"),
        ]:
            await assert_hidden(outsider, method, url, url.replace(str(post_id), "999999"))
        search = await outsider.get(f"{API}/search", params={"q": "Agreed"})
        assert search.json()["hits"] == []
        assert "Survivors" not in (await outsider.get(f"{API}/channels")).text

    # Removal: bo loses the caucus at once, and its log records the act.
    await done(amara.delete(f"{API}/caucuses/{slug}/members/bo"))
    await assert_hidden(bo, "GET", f"{API}/threads/{thread_id}", f"{API}/threads/999999")
    await assert_hidden(bo, "GET", f"{API}/caucuses/{slug}", gone)
    assert slug not in await slugs_listed(bo)
    log = (await amara.get(f"{API}/caucuses/{slug}/log")).json()["entries"]
    assert [(e["action"], e["target_label"], e["actor"]["handle"]) for e in log] == [
        ("caucus_remove", "@bo", "amara")
    ]
    for reader in (cy, ada, fran):
        assert "caucus_remove" not in (await reader.get(f"{API}/moderation/log")).text

    # A caucus keeps at least one convener.
    last = error_of(await amara.delete(f"{API}/caucuses/{slug}/members/amara"), 400, "invalid")
    assert "convener" in last["message"]
    error_of(await amara.post(f"{API}/caucuses/{slug}/leave"), 400, "invalid")
    error_of(await amara.post(f"{API}/caucuses/{slug}/step-down"), 400, "invalid")

    # Its name stays free for anyone who cannot know of it (refusing would reveal it).
    assert (await found(ada, "Survivors"))["slug"] != slug
    error_of(await amara.post(f"{API}/caucuses", json={"name": "survivors"}), 400, "invalid")


# ---- a listed caucus: requests, government, archiving -----------------------------------------


async def test_listed_caucus_requests_admission_and_government(app: Starlette) -> None:
    amara = await token_client(app, "amara")
    cy = await token_client(app, "cy")
    dee = await token_client(app, "dee")
    made = await found(amara, "Tenants")
    slug = made["slug"]

    # Listed: members who are not in it see its name, description and size; not its insides.
    [row] = (await cy.get(f"{API}/caucuses")).json()["caucuses"]
    assert row == {
        "slug": slug,
        "name": "Tenants",
        "description": "Tenants organising",
        "listed": True,
        "join_policy": "request",
        "archived": False,
        "member_count": 1,
        "my_seat": None,
    }
    seen = (await cy.get(f"{API}/caucuses/{slug}")).json()
    assert seen["can"] == {"join": True, "leave": False, "govern": False, "archive": False}
    assert "channels" not in seen
    error_of(await cy.get(f"{API}/caucuses/{slug}/members"), 404, "not_found")
    error_of(await cy.get(f"{API}/caucuses/{slug}/log"), 404, "not_found")
    error_of(await cy.post(f"{API}/caucuses/{slug}/members/dee/admit"), 403, "forbidden")
    error_of(await cy.post(f"{API}/caucuses/{slug}/leave"), 403, "forbidden")

    await done(cy.post(f"{API}/caucuses/{slug}/join", json={"note": "I rent on Elm St"}))
    assert (await cy.get(f"{API}/caucuses/{slug}")).json()["my_seat"] == "requested"
    error_of(await cy.post(f"{API}/caucuses/{slug}/join", json={}), 403, "forbidden")
    requests = (await amara.get(f"{API}/caucuses/{slug}/members")).json()["requests"]
    assert requests == [{"handle": "cy", "display_name": "Cy", "note": "I rent on Elm St"}]
    # Only those who asked can be admitted; handles must name an active member.
    asked = error_of(await amara.post(f"{API}/caucuses/{slug}/members/dee/admit"), 400, "invalid")
    assert "has not asked" in asked["message"]
    error_of(await amara.post(f"{API}/caucuses/{slug}/members/dee/decline"), 400, "invalid")
    nobody = error_of(
        await amara.post(f"{API}/caucuses/{slug}/members/nobody/admit"), 400, "invalid"
    )
    assert "handle" in nobody["fields"]
    await done(amara.post(f"{API}/caucuses/{slug}/members/cy/admit"))
    assert (await amara.get(f"{API}/caucuses/{slug}")).json()["member_count"] == 2
    error_of(await cy.post(f"{API}/caucuses/{slug}/members/dee/admit"), 403, "forbidden")

    # Government: appoint, step down; a request can be declined or withdrawn.
    error_of(await amara.post(f"{API}/caucuses/{slug}/members/dee/appoint"), 400, "invalid")
    await done(amara.post(f"{API}/caucuses/{slug}/members/cy/appoint"))
    error_of(await amara.post(f"{API}/caucuses/{slug}/members/cy/appoint"), 400, "invalid")
    assert (await cy.get(f"{API}/caucuses/{slug}")).json()["my_seat"] == "convener"
    await done(cy.post(f"{API}/caucuses/{slug}/step-down"))
    assert (await cy.get(f"{API}/caucuses/{slug}")).json()["my_seat"] == "member"
    await done(dee.post(f"{API}/caucuses/{slug}/join"))
    await done(amara.post(f"{API}/caucuses/{slug}/members/dee/decline"))
    assert (await dee.get(f"{API}/caucuses/{slug}")).json()["my_seat"] is None
    await done(dee.post(f"{API}/caucuses/{slug}/join", json={}))
    await done(dee.post(f"{API}/caucuses/{slug}/leave"))  # withdrawn
    await done(cy.post(f"{API}/caucuses/{slug}/leave"))
    assert (await amara.get(f"{API}/caucuses/{slug}/members")).json()["members"] == [
        {"handle": "amara", "display_name": "Amara", "role": "convener"}
    ]

    # Invite-only caucuses refuse requests to join.
    closed = await found(amara, "Organisers", join_policy="invite")
    refused = error_of(await cy.post(f"{API}/caucuses/{closed['slug']}/join"), 400, "invalid")
    assert "invitation" in refused["message"]
    assert (await cy.get(f"{API}/caucuses/{closed['slug']}")).json()["can"]["join"] is False


async def test_admins_archive_a_listed_caucus_and_its_members_read_why(app: Starlette) -> None:
    amara = await token_client(app, "amara")
    ada = await token_client(app, "ada", "admin")
    fran = await token_client(app, "fran", "facilitator")
    slug = (await found(amara, "Tenants"))["slug"]
    assert (await ada.get(f"{API}/caucuses/{slug}")).json()["can"]["archive"] is True
    error_of(
        await fran.post(f"{API}/caucuses/{slug}/archive", json={"reason": "x"}), 403, "forbidden"
    )
    error_of(
        await amara.post(f"{API}/caucuses/{slug}/archive", json={"reason": "x"}), 403, "forbidden"
    )
    missing = error_of(await ada.post(f"{API}/caucuses/{slug}/archive", json={}), 400, "invalid")
    assert "reason" in missing["fields"]
    await done(ada.post(f"{API}/caucuses/{slug}/archive", json={"reason": "Dormant for a year"}))
    # Archived: gone from outsiders' view; its members still read it, and why.
    assert slug not in await slugs_listed(ada)
    await assert_hidden(ada, "GET", f"{API}/caucuses/{slug}", f"{API}/caucuses/none")
    page = (await amara.get(f"{API}/caucuses/{slug}")).json()
    assert page["archived"] is True and page["can"]["govern"] is False
    [entry] = (await amara.get(f"{API}/caucuses/{slug}/log")).json()["entries"]
    assert entry["action"] == "caucus_archive" and entry["reason"] == "Dormant for a year"
    assert entry["actor"] == {"handle": "ada", "display_name": "Ada"}
    assert "Dormant" not in (await ada.get(f"{API}/moderation/log")).text
    refused = await amara.post(
        f"{API}/channels/{slug}-talk/threads", json={"title": "Still here", "body": "?"}
    )
    error_of(refused, 403, "forbidden")


# ---- input and identity -----------------------------------------------------------------------


async def test_founding_input_errors_name_their_field(app: Starlette) -> None:
    amara = await token_client(app, "amara")
    cases = [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 81}, "name"),
        ({"name": 5}, "name"),
        ({"name": "Ok", "listed": "no"}, "listed"),
        ({"name": "Ok", "listed": 1}, "listed"),
        ({"name": "Ok", "join_policy": "open"}, "join_policy"),
        ({"name": "Ok", "description": "d" * 2001}, "description"),
    ]
    for data, field in cases:
        error = error_of(await amara.post(f"{API}/caucuses", json=data), 400, "invalid")
        assert field in error["fields"], (data, error)
    slug = (await found(amara, "Tenants"))["slug"]
    error_of(await amara.post(f"{API}/caucuses", json={"name": " TENANTS "}), 400, "invalid")
    for data in ({"note": 5}, {"note": "n" * 501}):
        error_of(await amara.post(f"{API}/caucuses/{slug}/join", json=data), 400, "invalid")
    error = error_of(await amara.post(f"{API}/caucuses/{slug}/invite", json={}), 400, "invalid")
    assert "handle" in error["fields"]
    error = error_of(
        await amara.post(f"{API}/caucuses/{slug}/invite", json={"handle": "amara"}), 400, "invalid"
    )
    assert "already" in error["message"]
    error_of(await amara.put(f"{API}/caucuses/{slug}/members/amara"), 405, "method_not_allowed")
    error_of(await amara.get(f"{API}/caucuses/{slug}/members/amara/expel"), 404, "not_found")


async def test_caucuses_need_an_active_member_and_cookies_need_csrf(app: Starlette) -> None:
    anonymous = make_client(app)
    error_of(await anonymous.get(f"{API}/caucuses"), 401, "unauthenticated")
    error_of(await anonymous.post(f"{API}/caucuses", json={"name": "X"}), 401, "unauthenticated")
    amara = await token_client(app, "amara")
    slug = (await found(amara, "Tenants"))["slug"]
    await assert_hidden(anonymous, "GET", f"{API}/caucuses/{slug}", f"{API}/caucuses/none")
    error_of(await anonymous.delete(f"{API}/caucuses/{slug}/members/amara"), 401, "unauthenticated")

    bo = await signed_in(app, "bo")
    error_of(await bo.post(f"{API}/caucuses", json={"name": "Cookies"}), 403, "forbidden")
    headers = {"x-csrf-token": await page_csrf(bo)}
    made = await bo.post(f"{API}/caucuses", json={"name": "Cookies"}, headers=headers)
    assert made.status_code == 201, made.text
    error_of(await bo.post(f"{API}/caucuses/{made.json()['slug']}/leave"), 403, "forbidden")
    error_of(await bo.delete(f"{API}/caucuses/{made.json()['slug']}/members/bo"), 403, "forbidden")
    kept = await bo.get(f"{API}/caucuses/{made.json()['slug']}/members")
    assert [m["handle"] for m in kept.json()["members"]] == ["bo"]


# ---- once service bugs, now regression tests --------------------------------------------------


async def test_a_convener_can_remove_a_suspended_member(app: Starlette) -> None:
    amara = await token_client(app, "amara")
    bo = await token_client(app, "bo")
    slug = (await found(amara, "Tenants", join_policy="invite"))["slug"]
    await done(amara.post(f"{API}/caucuses/{slug}/invite", json={"handle": "bo"}))
    await done(bo.post(f"{API}/caucuses/{slug}/accept"))
    await Member.filter(handle_key="bo").update(status="suspended")
    members = (await amara.get(f"{API}/caucuses/{slug}/members")).json()["members"]
    assert "bo" in [m["handle"] for m in members]  # listed, with a Remove button on the page
    await done(amara.delete(f"{API}/caucuses/{slug}/members/bo"))


async def test_concurrent_duplicate_requests_are_refused_not_a_500(app: Starlette) -> None:
    # Clients that get a 500 as a server would answer it, rather than the app's exception.
    serving = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    amara, cy = [
        httpx.AsyncClient(transport=serving, base_url=BASE, headers=c.headers)
        for c in (await token_client(app, "amara"), await token_client(app, "cy"))
    ]
    await token_client(app, "dee")
    slug = (await found(amara, "Tenants"))["slug"]
    joins = await asyncio.gather(
        cy.post(f"{API}/caucuses/{slug}/join", json={}),
        cy.post(f"{API}/caucuses/{slug}/join", json={}),
    )
    invites = await asyncio.gather(
        amara.post(f"{API}/caucuses/{slug}/invite", json={"handle": "dee"}),
        amara.post(f"{API}/caucuses/{slug}/invite", json={"handle": "dee"}),
    )
    assert sorted(r.status_code for r in joins) == [204, 403]
    assert sorted(r.status_code for r in invites) == [204, 400]
