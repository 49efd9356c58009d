"""Following as members use it over HTTP: starting or replying follows a thread, watchers are
told of replies to the thread and channel watchers of new threads, Mute silences all but
mentions, the Following page, the forms without JavaScript, the JSON API, group mentions, and
that telling many followers costs no more queries than telling a few."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette

from forum.models import Follow, Member, Notification
from forum.services import mentions
from tests.conftest import make_client, make_member, post_form, signed_in
from tests.test_caucuses import found
from tests.test_threads import import_iso, make_channel, post_id_from, reply

API = "/api/v1"


async def start(
    client: httpx.AsyncClient, slug: str = "general", title: str = "Rent strike", body: str = "Go"
) -> int:
    made = await post_form(
        client, f"/c/{slug}/threads", {"title": title, "body": body}, page=f"/c/{slug}/new"
    )
    assert made.status_code == 303, made.text
    return int(made.headers["location"].rsplit("/", 1)[1])


async def follow(
    client: httpx.AsyncClient, path: str, level: str, back: str = ""
) -> httpx.Response:
    data = {"level": level, **({"back": back} if back else {})}
    return await post_form(client, f"{path}/follow", data)


async def inbox(client: httpx.AsyncClient) -> str:
    page = await client.get("/notifications")
    assert page.status_code == 200
    return page.text


def button(page: str, name: str) -> str:
    match = re.search(rf'<button[^>]*class="[^"]*\b{name}\b[^"]*"[^>]*>', page)
    assert match, f"no {name} button"
    return match.group(0)


async def api_csrf(client: httpx.AsyncClient) -> str:
    match = re.search(r'data-csrf="([^"]*)"', (await client.get("/account")).text)
    assert match
    return match.group(1)


# ---- following threads -------------------------------------------------------------------------


async def test_starting_and_replying_follow_the_thread(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    tid = await start(amara)
    page = (await amara.get(f"/t/{tid}")).text
    assert 'aria-pressed="true"' in button(page, "follow")
    assert "You follow this thread" in page
    # Bo reads it: not following yet.
    page = (await bo.get(f"/t/{tid}")).text
    assert 'aria-pressed="false"' in button(page, "follow")
    assert "Not following" in page
    post_id_from(await reply(bo, tid, "Count me in."))
    page = (await bo.get(f"/t/{tid}")).text
    assert 'aria-pressed="true"' in button(page, "follow")
    listed = (await bo.get("/following")).text
    assert "Rent strike" in listed and f'action="/t/{tid}/follow"' in listed


async def test_followers_hear_of_replies_to_the_thread_but_the_author_does_not(
    app: Starlette,
) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    cy = await signed_in(app, "cy")
    tid = await start(amara)
    assert (await follow(cy, f"/t/{tid}", "watching")).status_code == 303
    bo_post = post_id_from(await reply(bo, tid, "Count me in."))
    assert "@bo replied in “Rent strike”, which you follow" in await inbox(amara)
    assert "@bo replied in “Rent strike”, which you follow" in await inbox(cy)
    assert "which you follow" not in await inbox(bo)
    # A reply to Bo's post tells Bo (as a reply to him), once, and not the thread's watchers.
    await reply(cy, tid, "Welcome, Bo.", parent=bo_post)
    bo_inbox = await inbox(bo)
    assert "@cy replied to you in “Rent strike”" in bo_inbox
    assert bo_inbox.count("@cy replied") == 1
    assert "@cy replied" not in await inbox(amara)
    # A follower mentioned in a reply to the thread is told once, as a mention.
    await reply(amara, tid, "Thanks @cy and all.")
    cy_inbox = await inbox(cy)
    assert "@amara mentioned you in “Rent strike”" in cy_inbox
    assert "@amara replied in" not in cy_inbox
    assert "@amara replied in “Rent strike”, which you follow" in await inbox(bo)
    assert await Notification.filter(kind="following", member__handle="amara").count() == 1


async def test_mute_silences_a_thread_but_not_mentions(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    tid = await start(amara)
    await reply(bo, tid, "Following along.")
    muted = await follow(bo, f"/t/{tid}", "muted")
    assert muted.status_code == 303 and muted.headers["location"] == f"/t/{tid}"
    page = (await bo.get(f"/t/{tid}")).text
    assert "Muted: you will be told of nothing here except mentions of you." in page
    assert 'aria-pressed="true"' in button(page, "mute")
    assert 'aria-pressed="false"' in button(page, "follow")
    assert "except mentions of you or a group you are in" in page
    await reply(amara, tid, "A quiet update.")
    assert "A quiet update" not in await inbox(bo) and "replied in" not in await inbox(bo)
    # Replying again leaves the mute in place.
    await reply(bo, tid, "One more from me.")
    assert (await Follow.get(member__handle="bo", thread_id=tid)).muted
    await reply(amara, tid, "And another.")
    assert "replied in" not in await inbox(bo)
    await reply(amara, tid, "But @bo, look.")
    assert "@amara mentioned you in “Rent strike”" in await inbox(bo)
    # Pressing Mute again takes the mute away.
    page = (await bo.get(f"/t/{tid}")).text
    assert 'value="none"' in button(page, "mute")
    await follow(bo, f"/t/{tid}", "none")
    assert not await Follow.exists(member__handle="bo", thread_id=tid)


async def test_channel_followers_hear_of_new_threads_only(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    cy = await signed_in(app, "cy")
    page = (await cy.get("/c/general")).text
    assert 'aria-pressed="false"' in button(page, "follow")
    done = await follow(cy, "/c/general", "watching")
    assert done.status_code == 303 and done.headers["location"] == "/c/general"
    page = (await cy.get("/c/general")).text
    assert "You follow it now" in page and 'aria-pressed="true"' in button(page, "follow")
    assert "you are told of each new thread in it" in page
    tid = await start(amara, title="Housing meeting")
    assert "@amara started “Housing meeting” in General, which you follow" in await inbox(cy)
    await reply(amara, tid, "Agenda attached.")
    assert "Agenda" not in await inbox(cy) and "replied in" not in await inbox(cy)
    # A muted channel tells nothing of new threads.
    await follow(cy, "/c/general", "muted")
    await start(amara, title="Second meeting")
    assert "Second meeting" not in await inbox(cy)
    # Its own starter is never told.
    assert "which you follow" not in await inbox(amara)


async def test_suspended_follower_is_told_nothing(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    tid = await start(amara)
    await reply(bo, tid, "Me too.")
    await Member.filter(handle="bo").update(status="suspended")
    await reply(amara, tid, "News.")
    assert not await Notification.filter(member__handle="bo", kind="following").exists()


# ---- the Following page and the forms ----------------------------------------------------------


async def test_following_page_lists_and_unfollows(app: Starlette) -> None:
    await make_channel()
    await make_channel("housing", "Housing")
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    tid = await start(amara, title="Rent strike")
    other = await start(amara, title="Quiet thread")
    await follow(bo, f"/t/{tid}", "watching")
    await follow(bo, f"/t/{other}", "muted")
    await follow(bo, "/c/housing", "watching")
    page = await bo.get("/following")
    assert page.status_code == 200
    threads = page.text.split('id="followed-threads"')[1].split("</ul>")[0]
    assert (
        "Rent strike" in threads
        and "Quiet thread" in threads
        and "<strong>muted</strong>" in threads
    )
    assert 'aria-label="Unfollow “Rent strike”"' in threads
    assert 'aria-label="Unmute “Quiet thread”"' in threads
    channels = page.text.split('id="followed-channels"')[1].split("</ul>")[0]
    assert "Housing" in channels and "General" not in channels
    assert '<a href="/following" aria-current="page">Following</a>' in page.text
    # Unfollow from the list comes back to the list, with a confirmation.
    done = await follow(bo, f"/t/{tid}", "none", back="following")
    assert done.status_code == 303 and done.headers["location"] == "/following"
    page = await bo.get("/following")
    assert "You no longer follow it." in page.text
    assert "Rent strike" not in page.text.split('id="followed-threads"')[1].split("</ul>")[0]
    await follow(bo, "/c/housing", "none", back="following")
    assert "You follow no channels" in (await bo.get("/following")).text
    # The account page links to it.
    assert 'href="/following"' in (await bo.get("/account")).text


async def test_follow_forms_need_csrf_and_bad_input_is_a_clear_answer(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    tid = await start(amara)
    forged = await amara.post(f"/t/{tid}/follow", data={"level": "muted"})
    assert forged.status_code == 403
    assert "This form has expired or did not come from this site." in forged.text
    forged = await amara.post("/c/general/follow", data={"level": "watching", "csrf": "nope"})
    assert forged.status_code == 403
    assert (await Follow.get(member__handle="amara", thread_id=tid)).muted is False
    for path in ("/t/987654/follow", "/t/0/follow", "/t/abc/follow", "/t/99999999999/follow"):
        missing = await post_form(amara, path, {"level": "watching"})
        assert missing.status_code == 404, path
    assert (await post_form(amara, "/c/nowhere/follow", {"level": "watching"})).status_code == 404
    bad = await post_form(amara, f"/t/{tid}/follow", {"level": "loudly"})
    assert bad.status_code == 400 and "One of: watching, muted, none." in bad.text
    # Signed out: no follow controls, and the Following page asks to sign in.
    async with make_client(app) as anonymous:
        assert (await anonymous.get("/following")).status_code in (303, 401)


async def test_following_over_the_api(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    tid = await start(amara)
    headers = {"x-csrf-token": await api_csrf(bo)}
    got = await bo.get(f"{API}/threads/{tid}/follow")
    assert got.status_code == 200 and got.json() == {"level": "none"}
    put = await bo.put(f"{API}/threads/{tid}/follow", json={"level": "muted"}, headers=headers)
    assert put.status_code == 200 and put.json() == {"level": "muted"}
    assert (await bo.get(f"{API}/threads/{tid}/follow")).json() == {"level": "muted"}
    put = await bo.put(
        f"{API}/channels/general/follow", json={"level": "watching"}, headers=headers
    )
    assert put.status_code == 200
    listed = (await bo.get(f"{API}/following")).json()
    assert [(t["thread"]["id"], t["level"]) for t in listed["threads"]] == [(tid, "muted")]
    assert [(c["channel"]["slug"], c["level"]) for c in listed["channels"]] == [
        ("general", "watching")
    ]
    bad = await bo.put(f"{API}/threads/{tid}/follow", json={"level": "loud"}, headers=headers)
    assert bad.status_code == 400 and "level" in bad.json()["error"]["fields"]
    no_csrf = await bo.put(f"{API}/threads/{tid}/follow", json={"level": "watching"})
    assert no_csrf.status_code == 403
    gone = await bo.delete(f"{API}/threads/{tid}/follow", headers=headers)
    assert gone.status_code == 204
    gone = await bo.delete(f"{API}/channels/general/follow", headers=headers)
    assert gone.status_code == 204
    assert (await bo.get(f"{API}/channels/general/follow")).json() == {"level": "none"}
    assert (await bo.get(f"{API}/following")).json() == {"threads": [], "channels": []}
    assert (await bo.get(f"{API}/threads/987654/follow")).status_code == 404


# ---- group mentions ---------------------------------------------------------------------------


async def test_at_facilitators_in_an_open_channel_tells_the_facilitators(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    fran = await signed_in(app, "fran", "facilitator")
    ada = await signed_in(app, "ada", "admin")
    bo = await signed_in(app, "bo")
    tid = await start(amara, body="Could @facilitators look at this?")
    page = (await bo.get(f"/t/{tid}")).text
    assert re.search(r'<a href="/moderation/log" class="mention"[^>]*>@facilitators</a>', page)
    for moderator in (fran, ada):
        assert "@amara mentioned @facilitators in “Rent strike”" in await inbox(moderator)
    assert "mentioned" not in await inbox(bo)
    # A facilitator writing it is not told of their own mention.
    await reply(fran, tid, "On it, @facilitators.")
    assert "@fran mentioned" not in await inbox(fran)
    assert "@fran mentioned @facilitators" in await inbox(ada)


async def test_a_caucus_mention_tells_its_members_inside_its_own_channel(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    cy = await signed_in(app, "cy")
    slug = await found(amara, "Tenants Caucus", join_policy="invite")
    for who, client in (("bo", bo), ("cy", cy)):
        await post_form(
            amara, f"/caucuses/{slug}/invite", {"handle": who}, page=f"/caucuses/{slug}"
        )
        accepted = await post_form(client, f"/caucuses/{slug}/accept", {}, page=f"/caucuses/{slug}")
        assert accepted.status_code == 303, accepted.text
    tid = await start(amara, f"{slug}-talk", title="Private plan", body=f"Meeting, @{slug}!")
    page = (await bo.get(f"/t/{tid}")).text
    assert re.search(rf'<a href="/caucuses/{slug}" class="mention"[^>]*>@{slug}</a>', page)
    for member in (bo, cy):
        assert f"@amara mentioned @{slug} in “Private plan”" in await inbox(member)
    assert "mentioned" not in await inbox(amara)
    # A muted thread still hears a group mention (it is a mention).
    await follow(cy, f"/t/{tid}", "muted")
    # The number told is capped (the longest-standing members first).
    monkeypatch.setattr(mentions, "GROUP_MENTION_CAP", 1)
    await reply(bo, tid, f"Again, @{slug}.")
    told = await Notification.filter(kind="mention", text__contains="@bo mentioned").values_list(
        "member__handle", flat=True
    )
    assert told == ["amara"]


async def test_a_caucus_mention_outside_its_channel_is_plain_text(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    slug = await found(amara, "Tenants Caucus", join_policy="invite")
    await post_form(amara, f"/caucuses/{slug}/invite", {"handle": "bo"}, page=f"/caucuses/{slug}")
    await post_form(bo, f"/caucuses/{slug}/accept", {}, page=f"/caucuses/{slug}")
    # Even its own convener, in an open channel: plain text, nobody told.
    tid = await start(amara, body=f"Hello @{slug} and @no-such-group-abc123.")
    page = (await bo.get(f"/t/{tid}")).text
    assert f"<p>Hello @{slug} and @no-such-group-abc123.</p>" in page
    assert "mentioned" not in await inbox(bo)


async def test_telling_followers_costs_the_same_queries_for_few_or_many(
    app: Starlette, queries: list[str]
) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    tid = await start(amara)
    counts = []
    for n in (2, 20):
        for i in range(n):
            member = await make_member(f"watcher{n}x{i}")
            await Follow.create(member_id=member.id, thread_id=tid)
        queries.clear()
        response = await reply(amara, tid, f"Update for {n}.")
        assert response.status_code == 303
        counts.append(len(queries))
        assert await Notification.filter(kind="following", text__contains="amara").count() >= n
    assert counts[0] == counts[1], queries


async def test_many_followers_are_told_in_slices(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forum.services import notifications

    monkeypatch.setattr(notifications, "NOTIFY_SLICE", 3)
    await make_channel()
    amara = await signed_in(app, "amara")
    tid = await start(amara)
    watchers = [await make_member(f"slice{i}") for i in range(7)]
    for member in watchers:
        await Follow.create(member_id=member.id, thread_id=tid)
    await reply(amara, tid, "Sliced news.")
    told = await Notification.filter(kind="following").values_list("member_id", "text")
    assert sorted(m for m, _ in told) == sorted(m.id for m in watchers)
    assert all(t == "@amara replied in “Rent strike”, which you follow" for _, t in told)
    unread = await Member.filter(id__in=[m.id for m in watchers]).values_list(
        "unread_notifications", flat=True
    )
    assert unread == [1] * 7


async def test_a_new_statement_tells_the_statements_channel_s_followers(app: Starlette) -> None:
    await make_channel("statements", "Statements")
    cy = await signed_in(app, "cy")
    await follow(cy, "/c/statements", "watching")
    result = await import_iso()
    assert result.outcome == "created"
    assert (
        "New statement “On the dissolution of the ISO” in Statements, which you follow"
        in await inbox(cy)
    )
    # Discussing it in a caucus follows the new caucus thread and tells the caucus channel's
    # followers (not anyone outside).
    bo = await signed_in(app, "bo")
    slug = await found(cy, "Readers Caucus", join_policy="invite")
    await post_form(cy, f"/caucuses/{slug}/invite", {"handle": "bo"}, page=f"/caucuses/{slug}")
    await post_form(bo, f"/caucuses/{slug}/accept", {}, page=f"/caucuses/{slug}")
    await follow(bo, f"/c/{slug}-talk", "watching")
    made = await post_form(
        cy, "/caucuses/discuss", {"thread_id": str(result.thread.id), "caucus": slug}
    )
    assert made.status_code == 303, made.text
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    assert "@cy started “On the dissolution of the ISO” in" in await inbox(bo)
    assert 'aria-pressed="true"' in button((await cy.get(f"/t/{tid}")).text, "follow")


async def test_an_edit_that_adds_a_group_mention_tells_the_group_once(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    fran = await signed_in(app, "fran", "facilitator")
    tid = await start(amara)
    pid = post_id_from(await reply(amara, tid, "A plain reply."))
    edited = await post_form(amara, f"/p/{pid}/edit", {"body": "A reply for @facilitators."})
    assert edited.status_code == 303, edited.text
    assert (await inbox(fran)).count("@amara mentioned @facilitators") == 1
    again = await post_form(amara, f"/p/{pid}/edit", {"body": "Still for @facilitators."})
    assert again.status_code == 303
    assert (await inbox(fran)).count("@amara mentioned @facilitators") == 1
