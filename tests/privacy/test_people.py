"""The privacy matrix's promise on the member surfaces: profiles, the directory, reactions and
bookmarks never tell anyone outside a caucus its name or who sits in it (admins and
facilitators included), and follow the caucus's posts out of sight when a member leaves."""

from __future__ import annotations

import pytest

from tests.privacy.conftest import LEAVER, QUIET, World

pytestmark = pytest.mark.asyncio(loop_scope="module")

INSIDE = ("caucus_member", "caucus_convener")
SEATED = ("cam", "cora", QUIET)  # active in both L and U


def caucus_words(w: World) -> list[str]:
    words = ["Oriole", "oriole"]
    for c in w.caucuses:
        words += [c.name, c.name_word, c.slug, c.title_word, c.post_word]
    return words


async def test_profiles_show_caucuses_only_to_their_members(world: World) -> None:
    for role, viewer in world.viewers.items():
        for handle in (*SEATED, "fred", "sus", "otto", "rex", "ivy"):
            page = await viewer.get(f"/m/{handle}")
            api = await viewer.api("GET", f"/api/v1/members/{handle}")
            texts = {"page": page.text, "api": api.text}
            if role in INSIDE and handle in SEATED:
                assert page.status_code == 200 and api.status_code == 200
                assert "Caucuses you share" in page.text
                for text in texts.values():
                    assert world.L.name in text and world.U.name in text
                continue
            for where, text in texts.items():
                for word in caucus_words(world):
                    if role in INSIDE and word not in ("Oriole", "oriole"):
                        continue  # what they read in L and U; Oriole they are not in
                    if role == "other_caucus_member" and handle == "otto" and "riole" in word:
                        continue  # otto's own caucus, on otto's own profile
                    assert word not in text, f"{word!r} on {where} /m/{handle} for {role}"


async def test_the_directory_never_shows_a_caucus(world: World) -> None:
    for role, viewer in world.viewers.items():
        for query in ("", "ca", "cora", "Larkspur", "Umbra"):
            params = {"q": query} if query else None
            page = await viewer.get("/members", params=params)
            api = await viewer.api("GET", "/api/v1/members" + (f"?q={query}" if query else ""))
            if role in ("member", "facilitator", "admin", *INSIDE):
                assert page.status_code == 200 and api.status_code == 200, role
            for word in caucus_words(world):
                if word.lower() == query.lower():
                    continue  # the search box echoes what was typed
                assert word not in page.text, f"{word!r} in /members?q={query} for {role}"
                assert word not in api.text, f"{word!r} in the API's members for {role}"


async def test_who_reacted_to_a_caucus_post_stays_inside(world: World) -> None:
    cam = world.viewers["caucus_member"]
    for c in world.caucuses:
        answer = await cam.api("POST", f"/api/v1/posts/{c.root_post_id}/reactions/solidarity")
        assert answer.status_code == 200, answer.text
    for role, viewer in world.viewers.items():
        for c in world.caucuses:
            page = await viewer.get(f"/p/{c.root_post_id}/reactions")
            api = await viewer.api("GET", f"/api/v1/posts/{c.root_post_id}/reactions")
            if role in INSIDE:
                assert page.status_code == 200 and 'href="/m/cam"' in page.text
                assert api.json()["reactions"][3]["members"][0]["handle"] == "cam"
            else:
                assert page.status_code in (303, 401, 404) and "cam" not in page.text, role
                assert api.status_code in (401, 404), role
        # Nor does cam's profile say cam reacted to anything.
        profile = await viewer.get("/m/cam")
        assert "solidarity" not in profile.text.lower() or role in INSIDE


async def test_bookmarks_of_a_caucus_post_go_with_the_caucus(world: World) -> None:
    lee = world.leaver
    assert lee is not None
    made = await lee.api("POST", "/api/v1/bookmarks", body={"post_id": world.U.root_post_id})
    assert made.status_code == 201, made.text
    listed = await lee.get("/bookmarks")
    assert world.U.post_word in listed.text
    cam = world.viewers["caucus_member"]
    assert world.U.name in (await cam.get(f"/m/{LEAVER}")).text
    left = await lee.form(f"/caucuses/{world.U.slug}/leave")
    assert left.status_code == 303, left.text
    listed = await lee.get("/bookmarks")
    assert listed.status_code == 200 and "No bookmarks yet" in listed.text
    for word in caucus_words(world):
        assert word not in listed.text
    api = await lee.api("GET", "/api/v1/bookmarks")
    assert api.json()["bookmarks"] == []
    # Once gone, the shared caucus leaves their profile as their fellows see it.
    assert world.U.name not in (await cam.get(f"/m/{LEAVER}")).text
