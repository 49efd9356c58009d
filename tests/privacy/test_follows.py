"""The privacy matrix's promise on following and group mentions: nobody outside a caucus
follows its threads or channels (the refusal is the missing answer, checked cell by cell in
test_matrix's caucus_thread error_messages), the Following page never lists them to a
non-member, a follow stops telling the moment a seat is lost or a suspension lands, and a group
mention reveals nothing: `@caucus-slug` outside its own channel, or written by an outsider,
is plain text exactly like a name nobody has, and `@facilitators` inside a caucus tells no
facilitator anything."""

from __future__ import annotations

import re

import pytest

from forum.models import Follow, Member, Notification
from tests.privacy.conftest import MISSING_SLUG, World, viewer_for

pytestmark = pytest.mark.asyncio(loop_scope="module")

API = "/api/v1"
INSIDE = ("caucus_member", "caucus_convener")


def caucus_words(w: World) -> list[str]:
    words: list[str] = []
    for c in w.caucuses:
        words += [c.name, c.slug, c.title_word, c.post_word, c.channel_slug]
    return words


async def _told(member_id: int) -> int:
    return await Notification.filter(member_id=member_id).count()


async def _mentioned(member_id: int) -> int:
    return await Notification.filter(member_id=member_id, kind="mention").count()


async def _started(v: object, slug: str, title: str, body: str) -> int:
    made = await v.form(f"/c/{slug}/threads", {"title": title, "body": body})  # type: ignore[attr-defined]
    assert made.status_code == 303, made.text
    return int(made.headers["location"].rsplit("/", 1)[1])


async def test_following_lists_never_show_a_caucus_to_a_non_member(world: World) -> None:
    # Rows left behind for every outsider (as if made while they were members): the lists are
    # narrowed by what each may read now, not by the rows.
    for member_id in world.member_ids.values():
        for c in world.caucuses:
            await Follow.get_or_create(member_id=member_id, thread_id=c.thread_id)
            await Follow.get_or_create(member_id=member_id, channel_id=c.channel_id)
    for role, viewer in world.viewers.items():
        page = await viewer.get("/following")
        texts = [page.text]
        for bearer in viewer.api_modes():
            texts.append((await viewer.api("GET", f"{API}/following", bearer=bearer)).text)
        for text in texts:
            for word in caucus_words(world):
                if role in INSIDE:
                    continue
                assert word not in text, (role, word)
        if role in INSIDE:
            assert page.status_code == 200
            for c in world.caucuses:
                assert c.title in page.text


async def test_a_removed_member_s_follows_stop_telling_at_once(world: World) -> None:
    lee, u = world.leaver, world.U
    assert lee is not None and lee.member_id is not None
    cora = world.viewers["caucus_convener"]
    cam = world.viewers["caucus_member"]
    for method, path in (
        ("PUT", f"/threads/{u.thread_id}/follow"),
        ("PUT", f"/channels/{u.channel_slug}/follow"),
    ):
        r = await lee.api(method, API + path, body={"level": "watching"})
        assert r.status_code == 200, r.text
    # While a member, Lee hears of a reply to the thread.
    before = await _told(lee.member_id)
    assert (await cam.form(f"/t/{u.thread_id}/posts", {"body": "Still here."})).status_code == 303
    assert await _told(lee.member_id) == before + 1
    removed = await cora.form(f"/caucuses/{u.slug}/members/{lee.handle}/remove")
    assert removed.status_code == 303, removed.text
    # Leaving takes the follows away ...
    assert not await Follow.exists(member_id=lee.member_id, thread_id=u.thread_id)
    assert not await Follow.exists(member_id=lee.member_id, channel_id=u.channel_id)
    # ... and a row that raced the removal tells nothing either: each notice asks the policy.
    await Follow.create(member_id=lee.member_id, thread_id=u.thread_id)
    await Follow.create(member_id=lee.member_id, channel_id=u.channel_id)
    before = await _told(lee.member_id)
    assert (
        await cam.form(f"/t/{u.thread_id}/posts", {"body": "After lee left."})
    ).status_code == 303
    await _started(cam, u.channel_slug, "Gentian after", "A new thread.")
    assert await _told(lee.member_id) == before
    page = await lee.get("/following")
    for word in (u.title_word, u.name, u.channel_slug, "Gentian"):
        assert word not in page.text


async def test_a_suspended_member_s_follows_tell_nothing(world: World) -> None:
    sus_id = world.member_ids["suspended_caucus_member"]
    cam = world.viewers["caucus_member"]
    await Follow.get_or_create(member_id=sus_id, thread_id=world.L.thread_id)
    before = await _told(sus_id)
    assert (await cam.form(f"/t/{world.L.thread_id}/posts", {"body": "News."})).status_code == 303
    assert await _told(sus_id) == before


def _post_html(page: str) -> str:
    found = re.findall(r'<div class="prose[^"]*"[^>]*>(.*?)</div>', page, re.S)
    return "\n".join(found)


async def test_an_outsider_s_caucus_mention_is_plain_text_like_a_missing_name(
    world: World,
) -> None:
    l_slug = world.L.slug
    # The same length, so the two pages differ only in the name written.
    missing = (MISSING_SLUG * 3)[: len(l_slug)]
    assert not await Member.exists(handle_key=missing)
    inside_ids = [world.member_ids[r] for r in INSIDE]
    for role in ("member", "facilitator", "admin", "other_caucus_member", "join_requester"):
        v = world.viewers[role]
        before = {i: await _mentioned(i) for i in inside_ids}
        real = await _started(v, "general", f"Probe {role}", f"Hello @{l_slug} and all.")
        fake = await _started(v, "general", f"Probe {role}", f"Hello @{missing} and all.")
        real_page = (await world.viewers["caucus_member"].get(f"/t/{real}")).text
        fake_page = (await world.viewers["caucus_member"].get(f"/t/{fake}")).text
        real_html = _post_html(real_page)
        assert f"Hello @{l_slug} and all." in real_html and "mention" not in real_html
        assert real_html.replace(l_slug, missing) == _post_html(fake_page)
        assert {i: await _mentioned(i) for i in inside_ids} == before, role
    # A member of the caucus, in an open channel or in another caucus's channel: plain text too.
    cora = world.viewers["caucus_convener"]
    before = {i: await _mentioned(i) for i in inside_ids}
    tid = await _started(cora, "general", "Open note", f"See @{l_slug}.")
    assert "mention" not in _post_html((await cora.get(f"/t/{tid}")).text)
    tid = await _started(cora, world.U.channel_slug, "Other caucus note", f"See @{l_slug}.")
    assert "mention" not in _post_html((await cora.get(f"/t/{tid}")).text)
    assert {i: await _mentioned(i) for i in inside_ids} == before


async def test_at_facilitators_in_a_caucus_tells_no_facilitator(world: World) -> None:
    fay, ada = world.member_ids["facilitator"], world.member_ids["admin"]
    before = (await _told(fay), await _told(ada))
    cam = world.viewers["caucus_member"]
    said = await cam.form(
        f"/t/{world.U.thread_id}/posts", {"body": "Should we ask @facilitators? No."}
    )
    assert said.status_code == 303
    tid = await _started(cam, world.L.channel_slug, "Asking", "@facilitators, anyone?")
    assert (await _told(fay), await _told(ada)) == before
    page = (await cam.get(f"/t/{tid}")).text
    assert "@facilitators, anyone?" in _post_html(page)
    assert 'class="mention"' not in _post_html(page)
    # A facilitator who is also in the caucus is not told as a facilitator either.
    quiet = await viewer_for(world, "quinn")
    await Member.filter(handle_key="quinn").update(role="facilitator")
    try:
        q_id = quiet.member_id
        assert q_id is not None
        q_before = await _told(q_id)
        await cam.form(f"/t/{world.L.thread_id}/posts", {"body": "Again @facilitators."})
        assert await _told(q_id) == q_before
    finally:
        await Member.filter(handle_key="quinn").update(role="member")
        await quiet.client.aclose()
