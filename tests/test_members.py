"""Profiles, the member directory and avatars, as members see them over HTTP."""

from __future__ import annotations

import re

from starlette.applications import Starlette

from forum import limits
from forum.models import Member
from forum.web.avatars import PALETTE, avatar, colour, initials
from tests.conftest import make_client, make_member, post_form, signed_in
from tests.test_caucuses import found
from tests.test_reactions import start
from tests.test_threads import make_channel, post_id_from, reply


async def test_a_member_writes_their_profile_and_others_read_it(app: Starlette) -> None:
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    saved = await post_form(
        amara,
        "/account/profile",
        {
            "display_name": "Amara Okafor",
            "pronouns": "she/her",
            "bio": "Tenant organiser.\n<b>Hi</b>",
        },
    )
    assert saved.status_code == 303
    account = (await amara.get("/account")).text
    assert 'value="she/her"' in account and "Tenant organiser." in account
    page = await bo.get("/m/amara")
    assert page.status_code == 200
    assert "Amara Okafor" in page.text and "she/her" in page.text
    assert "Tenant organiser.\n&lt;b&gt;Hi&lt;/b&gt;" in page.text  # plain text, escaped
    assert "member since" in page.text
    assert re.search(
        r'<span class="avatar av-\d avatar-large" aria-hidden="true">AO</span>', page.text
    )
    # Any case of the handle finds the member; nobody is a 404.
    assert (await bo.get("/m/AMARA")).status_code == 200
    assert (await bo.get("/m/nobody-here")).status_code == 404
    assert (await bo.get("/m/" + "x" * 200)).status_code == 404
    async with make_client(app) as anonymous:
        assert (await anonymous.get("/m/amara")).status_code in (401, 303)


async def test_a_huge_bio_is_refused_with_the_text_kept(app: Starlette) -> None:
    amara = await signed_in(app, "amara")
    huge = "word " * limits.MAX_BIO
    refused = await post_form(
        amara, "/account/profile", {"display_name": "Amara", "pronouns": "", "bio": huge}
    )
    assert refused.status_code == 400
    assert 'id="e-bio"' in refused.text and 'aria-invalid="true"' in refused.text
    assert "word word word" in refused.text  # the text is kept
    assert (await Member.get(handle_key="amara")).bio == ""
    long_pronouns = await post_form(
        amara, "/account/profile", {"display_name": "Amara", "pronouns": "x" * 100, "bio": ""}
    )
    assert long_pronouns.status_code == 400 and 'id="e-pronouns"' in long_pronouns.text


async def test_profile_lists_recent_posts_the_viewer_may_read(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    tid = await start(amara, body="Open words")
    await reply(amara, tid, "An open reply about the rent strike")
    slug = await found(amara, "Survivors", listed=False, join_policy="invite")
    secret = await start(amara, f"{slug}-talk", "Secret caucus words")
    await reply(amara, secret, "A private reply")
    own = (await amara.get("/m/amara")).text
    assert "Secret caucus words" in own and "Survivors" in own
    seen = (await bo.get("/m/amara")).text
    assert "An open reply about the rent strike" in seen
    assert "Secret caucus words" not in seen and "A private reply" not in seen
    assert "Survivors" not in seen and slug not in seen


async def test_profile_shows_only_caucuses_the_viewer_shares(app: Starlette) -> None:
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    cy = await signed_in(app, "cy")
    admin = await signed_in(app, "ada", "admin")
    fran = await signed_in(app, "fran", "facilitator")
    listed = await found(amara, "Renters Bloc", listed=True, join_policy="invite")
    unlisted = await found(amara, "Quiet Room", listed=False, join_policy="invite")
    for slug in (listed, unlisted):
        await post_form(amara, f"/caucuses/{slug}/invite", {"handle": "bo"})
    await post_form(bo, f"/caucuses/{listed}/accept", {})
    # Bo sits in the listed one with Amara: Bo sees it on Amara's profile, not the other.
    seen = (await bo.get("/m/amara")).text
    assert "Caucuses you share" in seen and "Renters Bloc" in seen and "Quiet Room" not in seen
    # Outsiders (admins and facilitators too) learn nothing of either, even the listed one.
    for outsider in (cy, admin, fran):
        page = (await outsider.get("/m/amara")).text
        assert "Renters Bloc" not in page and "Quiet Room" not in page
        assert "Caucuses you share" not in page and listed not in page and unlisted not in page
        # The listed caucus is known to them, but not who sits in it.
        assert "Renters Bloc" in (await outsider.get("/caucuses")).text
    # Bo leaves: the shared caucus goes from Bo's view of Amara's profile.
    await post_form(bo, f"/caucuses/{listed}/leave", {})
    assert "Renters Bloc" not in (await bo.get("/m/amara")).text


async def test_bylines_link_to_profiles_with_avatars(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    tid = await start(amara)
    pid = post_id_from(await reply(amara, tid, "Hello"))
    page = (await bo.get(f"/t/{tid}")).text
    byline = re.search(rf'id="pm{pid}">(.*?)</header>', page, re.S)
    assert byline
    assert '<a href="/m/amara">Amara</a>' in byline.group(1)
    assert 'class="avatar av-' in byline.group(1) and 'aria-hidden="true">A</span>' in byline.group(
        1
    )
    listing = (await bo.get("/c/general")).text
    assert 'href="/m/amara"' in listing


async def test_directory_lists_active_members_and_finds_them(app: Starlette) -> None:
    bo = await signed_in(app, "bo")
    await make_member("amara", display_name="Amara Okafor")
    await make_member("pat", status="pending", display_name="Pat Pending")
    await make_member("sus", status="suspended", display_name="Suspended Sam")
    page = await bo.get("/members")
    assert page.status_code == 200
    assert 'href="/m/amara"' in page.text and 'href="/m/bo"' in page.text
    assert "Pat Pending" not in page.text and "Suspended Sam" not in page.text
    by_name = (await bo.get("/members", params={"q": "okafor"})).text
    assert 'href="/m/amara"' in by_name and 'href="/m/bo"' not in by_name
    by_handle = (await bo.get("/members", params={"q": "@AMA"})).text
    assert 'href="/m/amara"' in by_handle
    none = (await bo.get("/members", params={"q": "zebra"})).text
    assert "No member matches" in none
    assert (await bo.get("/members", params={"q": "x" * 500})).status_code == 400
    assert (await bo.get("/members?page=-1")).status_code == 400
    async with make_client(app) as anonymous:
        assert (await anonymous.get("/members")).status_code in (401, 303)
    pending = await make_member("pen", status="pending")
    assert pending.status == "pending"


async def test_directory_pages(app: Starlette) -> None:
    bo = await signed_in(app, "bo")
    for i in range(55):
        await make_member(f"m{i:02d}")
    first = (await bo.get("/members")).text
    assert first.count('<div class="person">') == 50 and "page=2" in first
    second = (await bo.get("/members?page=2")).text
    assert second.count('<div class="person">') == 6


def test_avatars_are_deterministic_and_hidden_from_screen_readers() -> None:
    assert initials("Amara Okafor", "amara") == "AO"
    assert initials("bo", "bo") == "B"
    assert initials("  ", "zed") == "Z"
    assert initials("Jean-Luc de la Rue", "jl") == "JR"
    assert colour("Amara") == colour("amara") and 0 <= colour("amara") < PALETTE
    assert len({colour(f"member{i}") for i in range(100)}) == PALETTE
    html = str(avatar("amara", "Ana Bo", "large"))
    assert (
        html
        == f'<span class="avatar av-{colour("amara")} avatar-large" aria-hidden="true">AB</span>'
    )
    # Words that do not start with a letter or digit give no initial (no markup can get in).
    assert str(avatar("amara", "<b>bold</b>")).endswith('aria-hidden="true">A</span>')


def test_the_shared_caucus_rule_shows_only_the_viewer_s_own_seats() -> None:
    from forum.policy import Actor
    from forum.policy.members import shared_seats

    # Site roles give nothing: an admin or facilitator in no caucus is shown none.
    for role in ("admin", "facilitator", "member"):
        assert shared_seats(Actor(member_id=1, role=role, status="active")) is None
    seated = shared_seats(Actor(member_id=2, status="active", seats={5: "member", 7: "convener"}))
    assert seated is not None and seated.filters == {"caucus_id__in": [5, 7], "status": "active"}
    # A suspended or pending member, or a mere join request, is shown none.
    for status in ("suspended", "pending"):
        assert shared_seats(Actor(member_id=3, status=status, seats={5: "member"})) is None
    waiting = Actor(member_id=4, status="active", pending_seats=frozenset({5}))
    assert shared_seats(waiting) is None


async def test_profiles_and_the_directory_through_the_api(app: Starlette) -> None:
    await make_channel()
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    await post_form(
        amara, "/account/profile", {"display_name": "Amara", "pronouns": "she/her", "bio": "Hi"}
    )
    tid = await start(amara)
    await reply(amara, tid, "Open words")
    slug = await found(amara, "Shared Room", listed=False, join_policy="invite")
    await post_form(amara, f"/caucuses/{slug}/invite", {"handle": "bo"})
    await post_form(bo, f"/caucuses/{slug}/accept", {})
    profile = await bo.get("/api/v1/members/@amara")
    assert profile.status_code == 200, profile.text
    data = profile.json()
    assert (data["handle"], data["pronouns"], data["bio"]) == ("amara", "she/her", "Hi")
    assert data["shared_caucuses"] == [{"slug": slug, "name": "Shared Room"}]
    assert "Open words" in data["recent_posts"][0]["html"]
    assert (await bo.get("/api/v1/members/nobody")).status_code == 404
    listed = (await bo.get("/api/v1/members", params={"q": "amar"})).json()
    assert [m["handle"] for m in listed["members"]] == ["amara"] and listed["more"] is False
    assert (await bo.get("/api/v1/members?page=0")).status_code == 400
    async with make_client(app) as anonymous:
        assert (await anonymous.get("/api/v1/members")).status_code == 401
