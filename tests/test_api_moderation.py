"""Facilitation through the JSON API: flags, the review queue, hiding with a reason, appeals,
thread acts, warnings and the log; and caucus flags and acts kept inside the caucus, out of the
sight of admins and facilitators."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from forum.models import ReviewItem
from forum.services import channels
from tests.conftest import make_client
from tests.test_api import API, NOT_FOUND, error_of, reply, start, token_client


@pytest.fixture
async def general(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    await channels.create_channel(None, "Offtopic", "offtopic")


async def done(response: Any, status: int = 204) -> dict[str, Any]:
    answer = await response
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else {}


async def queue(client: httpx.AsyncClient, status: str = "open") -> list[dict[str, Any]]:
    response = await client.get(f"{API}/review", params={"status": status})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == status
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def log(client: httpx.AsyncClient, url: str = f"{API}/moderation/log") -> list[Any]:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    entries: list[Any] = response.json()["entries"]
    return entries


# ---- flag, review, hide, appeal, restore ------------------------------------------------------


async def test_flag_queue_hide_appeal_restore_and_the_log(app: Starlette, general: None) -> None:
    amara = await token_client(app, "amara")
    bo = await token_client(app, "bo")
    cy = await token_client(app, "cy")
    fran = await token_client(app, "fran", "facilitator")
    thread_id = await start(amara, title="Debate")
    post = await reply(amara, thread_id, "you are all fools")
    pid = post["id"]
    assert post["can"]["moderate"] is False

    # Flags: a reason from the list; "other" needs a note; once per member; never one's own.
    flags = f"{API}/posts/{pid}/flags"
    assert "reason" in error_of(await bo.post(flags, json={}), 400, "invalid")["fields"]
    assert (
        "reason"
        in error_of(await bo.post(flags, json={"reason": "ugly"}), 400, "invalid")["fields"]
    )
    assert (
        "note" in error_of(await bo.post(flags, json={"reason": "other"}), 400, "invalid")["fields"]
    )
    flagged = await done(bo.post(flags, json={"reason": "harassment", "note": "rude"}), 201)
    assert flagged == {"post_id": pid, "reason": "harassment"}
    await done(cy.post(flags, json={"reason": "off_topic"}), 201)
    again = error_of(await bo.post(flags, json={"reason": "spam"}), 400, "invalid")
    assert "already flagged" in again["message"]
    error_of(await amara.post(flags, json={"reason": "spam"}), 403, "forbidden")
    error_of(await make_client(app).post(flags, json={"reason": "spam"}), 401, "unauthenticated")

    # The queue: facilitators only (members 403, anonymous 401).
    error_of(await bo.get(f"{API}/review"), 403, "forbidden")
    error_of(await make_client(app).get(f"{API}/review"), 401, "unauthenticated")
    error_of(await fran.get(f"{API}/review", params={"status": "all"}), 400, "invalid")
    [item] = await queue(fran)
    assert item["kind"] == "flag" and item["status"] == "open" and item["flag_count"] == 2
    assert item["reasons"] == ["harassment", "off_topic"] and item["flag_notes"] == ["rude"]
    assert item["post"]["id"] == pid and "fools" in item["post"]["html"]
    assert item["post"]["can"]["moderate"] is True
    assert item["claimed_by"] is None and item["resolution"] is None
    assert set(item) == {  # who flagged stays private
        "id",
        "kind",
        "status",
        "flag_count",
        "reasons",
        "flag_notes",
        "post",
        "subject",
        "note",
        "claimed_by",
        "resolution",
        "resolution_reason",
        "resolved_by",
        "created_at",
        "resolved_at",
    }
    await done(fran.post(f"{API}/review/{item['id']}/claim"))
    assert (await queue(fran))[0]["claimed_by"] == {"handle": "fran", "display_name": "Fran"}
    error_of(await bo.post(f"{API}/review/{item['id']}/claim"), 404, "not_found")

    # Hiding needs a reason; members may not; twice is an error.
    hide = f"{API}/posts/{pid}/hide"
    assert "reason" in error_of(await fran.post(hide, json={}), 400, "invalid")["fields"]
    assert (
        "reason" in error_of(await fran.post(hide, json={"reason": "  "}), 400, "invalid")["fields"]
    )
    error_of(await bo.post(hide, json={"reason": "I dislike it"}), 403, "forbidden")
    hidden = await done(fran.post(hide, json={"reason": "insulting other members"}), 200)
    assert hidden["hidden"] is True and hidden["hidden_reason"] == "insulting other members"
    twice = error_of(await fran.post(hide, json={"reason": "again"}), 400, "invalid")
    assert "already hidden" in twice["message"]

    # Readers see the reason, not the text; the author sees both and is told.
    seen = (await cy.get(f"{API}/posts/{pid}")).json()
    assert seen["hidden_reason"] == "insulting other members" and seen["html"] is None
    own = (await amara.get(f"{API}/posts/{pid}")).json()
    assert own["hidden_reason"] == "insulting other members" and "fools" in own["html"]
    inbox = (await amara.get(f"{API}/notifications")).json()["notifications"]
    assert "A post of yours was hidden: insulting other members" in [n["text"] for n in inbox]
    outcome = (await bo.get(f"{API}/notifications")).json()["notifications"]
    assert any("acted on: insulting other members" in n["text"] for n in outcome)

    # Hiding resolved the flags.
    assert await queue(fran) == []
    [closed] = await queue(fran, "resolved")
    assert closed["resolution"] == "actioned"
    assert closed["resolution_reason"] == "insulting other members"
    assert closed["resolved_by"] == {"handle": "fran", "display_name": "Fran"}

    # The author appeals once, with a note; nobody else may.
    appeal = f"{API}/posts/{pid}/appeal"
    assert "note" in error_of(await amara.post(appeal, json={}), 400, "invalid")["fields"]
    error_of(await bo.post(appeal, json={"note": "on her behalf"}), 403, "forbidden")
    made = await done(amara.post(appeal, json={"note": "it was a joke among friends"}), 201)
    assert made == {"post_id": pid}
    error_of(await amara.post(appeal, json={"note": "please"}), 400, "invalid")
    [appealed] = await queue(fran)
    assert appealed["kind"] == "appeal" and appealed["note"] == "it was a joke among friends"
    assert "fools" in appealed["post"]["html"]

    # Every member reads the act and its reason in the log, never the hidden text.
    for reader in (cy, bo):
        entries = await log(reader)
        [act] = [e for e in entries if e["action"] == "hide_post"]
        assert act["reason"] == "insulting other members"
        assert act["actor"] == {"handle": "fran", "display_name": "Fran"}
        assert act["post_id"] == pid and act["thread_id"] == thread_id
        assert "@amara" in act["target_label"] and "Debate" in act["target_label"]
        assert "fools" not in (await reader.get(f"{API}/moderation/log")).text
    error_of(await make_client(app).get(f"{API}/moderation/log"), 401, "unauthenticated")

    # Restoring closes the appeal; restoring what is not hidden is an error.
    restore = f"{API}/posts/{pid}/restore"
    error_of(await bo.post(restore, json={"reason": "x"}), 403, "forbidden")
    assert "reason" in error_of(await fran.post(restore, json={}), 400, "invalid")["fields"]
    back = await done(fran.post(restore, json={"reason": "appeal accepted"}), 200)
    assert back["hidden"] is False and "fools" in back["html"]
    assert "fools" in (await cy.get(f"{API}/posts/{pid}")).json()["html"]
    assert await queue(fran) == []
    not_hidden = error_of(await fran.post(restore, json={"reason": "x"}), 400, "invalid")
    assert "not hidden" in not_hidden["message"]
    assert [e["action"] for e in await log(cy)][:2] == ["restore_post", "hide_post"]


async def test_resolving_needs_a_resolution_and_a_reason(app: Starlette, general: None) -> None:
    amara = await token_client(app, "amara")
    bo = await token_client(app, "bo")
    ada = await token_client(app, "ada", "admin")
    thread_id = await start(amara)
    pid = (await reply(amara, thread_id, "buy cheap watches"))["id"]
    await done(bo.post(f"{API}/posts/{pid}/flags", json={"reason": "spam"}), 201)
    [item] = await queue(ada)
    resolve = f"{API}/review/{item['id']}/resolve"
    bad = [
        ({"reason": "fine"}, "resolution"),
        ({"resolution": "maybe", "reason": "fine"}, "resolution"),
        ({"resolution": "dismissed"}, "reason"),
        ({"resolution": "dismissed", "reason": 7}, "reason"),
    ]
    for data, field in bad:
        error = error_of(await ada.post(resolve, json=data), 400, "invalid")
        assert field in error["fields"], (data, error)
    error_of(
        await bo.post(resolve, json={"resolution": "dismissed", "reason": "x"}), 404, "not_found"
    )
    await done(ada.post(resolve, json={"resolution": "dismissed", "reason": "a joke"}))
    again = error_of(
        await ada.post(resolve, json={"resolution": "dismissed", "reason": "x"}), 400, "invalid"
    )
    assert "already resolved" in again["message"]
    error_of(await ada.post(f"{API}/review/{item['id']}/claim"), 400, "invalid")
    for missing in (f"{API}/review/999999/claim", f"{API}/review/abc/claim"):
        assert (await ada.post(missing)).json() == NOT_FOUND
    [closed] = await queue(ada, "resolved")
    assert closed["resolution"] == "dismissed" and closed["resolution_reason"] == "a joke"
    notes = (await bo.get(f"{API}/notifications")).json()["notifications"]
    assert any("dismissed: a joke" in n["text"] for n in notes)


# ---- threads and members ----------------------------------------------------------------------


async def test_thread_acts_with_reasons(app: Starlette, general: None) -> None:
    amara = await token_client(app, "amara")
    fran = await token_client(app, "fran", "facilitator")
    thread_id = await start(amara, title="Chairs")
    url = f"{API}/threads/{thread_id}/moderation"

    error_of(await amara.post(url, json={"action": "lock", "reason": "mine"}), 403, "forbidden")
    bad = [
        ({"reason": "x"}, "action"),
        ({"action": "explode", "reason": "x"}, "action"),
        ({"action": "lock"}, "reason"),
        ({"action": "slow_mode", "reason": "x"}, "seconds"),
        ({"action": "slow_mode", "reason": "x", "seconds": 86_401}, "seconds"),
        ({"action": "slow_mode", "reason": "x", "seconds": "60"}, "seconds"),
        ({"action": "move", "reason": "x", "channel": "nowhere"}, "channel"),
        ({"action": "move", "reason": "x", "channel": "general"}, "channel"),
    ]
    for data, field in bad:
        error = error_of(await fran.post(url, json=data), 400, "invalid")
        assert field in error["fields"], (data, error)

    await done(fran.post(url, json={"action": "lock", "reason": "cooling off"}))
    assert (await amara.get(f"{API}/threads/{thread_id}")).json()["thread"]["locked"] is True
    error_of(
        await amara.post(f"{API}/threads/{thread_id}/posts", json={"body": "b"}), 403, "forbidden"
    )
    error_of(await fran.post(url, json={"action": "lock", "reason": "again"}), 400, "invalid")
    await done(fran.post(url, json={"action": "pin", "reason": "important"}))
    await done(fran.post(url, json={"action": "slow_mode", "reason": "heated", "seconds": 60}))
    await done(
        fran.post(url, json={"action": "move", "reason": "wrong place", "channel": "offtopic"})
    )
    thread = (await amara.get(f"{API}/threads/{thread_id}")).json()["thread"]
    assert thread["pinned"] is True and thread["slow_mode_seconds"] == 60
    assert thread["channel"] == {"slug": "offtopic", "name": "Offtopic"}
    acts = [(e["action"], e["reason"]) for e in await log(amara)]
    assert acts == [
        ("move", "wrong place"),
        ("slow_mode", "heated"),
        ("pin", "important"),
        ("lock", "cooling off"),
    ]
    missing = await fran.post(f"{API}/threads/999999/moderation", json={"action": "lock"})
    assert missing.status_code == 404 and missing.json() == NOT_FOUND


async def test_warnings_are_private_and_logged(app: Starlette, general: None) -> None:
    await token_client(app, "amara")
    bo = await token_client(app, "bo")
    fran = await token_client(app, "fran", "facilitator")
    await token_client(app, "ada", "admin")
    warn = f"{API}/members/bo/warn"
    error_of(await bo.post(f"{API}/members/amara/warn", json={"reason": "x"}), 403, "forbidden")
    assert "reason" in error_of(await fran.post(warn, json={}), 400, "invalid")["fields"]
    error_of(await fran.post(f"{API}/members/fran/warn", json={"reason": "x"}), 403, "forbidden")
    error_of(await fran.post(f"{API}/members/ada/warn", json={"reason": "x"}), 403, "forbidden")
    nobody = await fran.post(f"{API}/members/nobody/warn", json={"reason": "x"})
    assert nobody.status_code == 404 and nobody.json() == NOT_FOUND
    await done(fran.post(warn, json={"reason": "Please keep it civil"}))
    notes = (await bo.get(f"{API}/notifications")).json()["notifications"]
    assert [n["kind"] for n in notes] == ["warning"]
    assert "Please keep it civil" in notes[0]["text"]
    [entry] = await log(bo)
    assert entry["action"] == "warn" and entry["target_label"] == "@bo"


# ---- caucus flags stay in the caucus ----------------------------------------------------------


async def caucus_with_post(amara: httpx.AsyncClient, bo: httpx.AsyncClient) -> tuple[str, int, int]:
    """An unlisted caucus convened by amara with bo in it, and a thread by bo in its channel."""
    made = await amara.post(
        f"{API}/caucuses", json={"name": "Survivors", "listed": False, "join_policy": "invite"}
    )
    slug = made.json()["slug"]
    await done(amara.post(f"{API}/caucuses/{slug}/invite", json={"handle": "bo"}))
    await done(bo.post(f"{API}/caucuses/{slug}/accept"))
    started = await bo.post(
        f"{API}/channels/{slug}-talk/threads", json={"title": "Plans", "body": "a caucus post"}
    )
    assert started.status_code == 201, started.text
    thread_id = started.json()["id"]
    page = (await bo.get(f"{API}/threads/{thread_id}")).json()
    return slug, thread_id, page["posts"][0]["id"]


async def test_caucus_flags_and_acts_stay_inside_the_caucus(app: Starlette, general: None) -> None:
    amara = await token_client(app, "amara")
    bo = await token_client(app, "bo")
    cy = await token_client(app, "cy")
    ada = await token_client(app, "ada", "admin")
    fran = await token_client(app, "fran", "facilitator")
    slug, ctid, cpid = await caucus_with_post(amara, bo)
    open_tid = await start(cy, title="Open debate")
    open_pid = (await reply(cy, open_tid, "an open post"))["id"]

    # A convener flags a caucus post: it reaches the caucus's conveners only.
    await done(amara.post(f"{API}/posts/{cpid}/flags", json={"reason": "off_topic"}), 201)
    await done(bo.post(f"{API}/posts/{open_pid}/flags", json={"reason": "spam"}), 201)
    [caucus_item] = await queue(amara)
    assert caucus_item["post"]["id"] == cpid and caucus_item["post"]["html"] == (
        "<p>a caucus post</p>\n"
    )
    error_of(await bo.get(f"{API}/review"), 403, "forbidden")  # a member, not a convener
    item_id = caucus_item["id"]
    for outsider in (ada, fran):
        for status in ("open", "resolved"):
            items = await queue(outsider, status)
            assert all(i["post"] is None or i["post"]["id"] != cpid for i in items)
            text = (await outsider.get(f"{API}/review", params={"status": status})).text
            assert "a caucus post" not in text and "Plans" not in text
        assert [i["post"]["id"] for i in await queue(outsider)] == [open_pid]
        # Every act on the caucus's post, thread or review item: exactly like a missing id.
        for url, body in [
            (f"{API}/posts/{cpid}/flags", {"reason": "spam"}),
            (f"{API}/posts/{cpid}/hide", {"reason": "x"}),
            (f"{API}/posts/{cpid}/restore", {"reason": "x"}),
            (f"{API}/posts/{cpid}/appeal", {"note": "x"}),
            (f"{API}/threads/{ctid}/moderation", {"action": "lock", "reason": "x"}),
            (f"{API}/review/{item_id}/claim", {}),
            (f"{API}/review/{item_id}/resolve", {"resolution": "dismissed", "reason": "x"}),
        ]:
            hidden = await outsider.post(url, json=body)
            missing = await outsider.post(
                url.replace(str(cpid), "999999")
                .replace(str(ctid), "999999")
                .replace(str(item_id), "999999"),
                json=body,
            )
            assert hidden.status_code == 404 and hidden.json() == NOT_FOUND == missing.json(), url
    # Moderating outside one's scope: an open post the caller reads is 403, not 404.
    for not_theirs in (amara, bo):
        error_of(
            await not_theirs.post(f"{API}/posts/{open_pid}/hide", json={"reason": "x"}),
            403,
            "forbidden",
        )
    error_of(await bo.post(f"{API}/posts/{cpid}/hide", json={"reason": "x"}), 403, "forbidden")

    # The convener hides it; the caucus's members read why in their log, nobody else does.
    hidden_post = await done(
        amara.post(f"{API}/posts/{cpid}/hide", json={"reason": "off the caucus's purpose"}), 200
    )
    assert hidden_post["hidden_reason"] == "off the caucus's purpose"
    assert await queue(amara) == []
    [entry] = await log(bo, f"{API}/caucuses/{slug}/log")
    assert entry["action"] == "hide_post" and entry["reason"] == "off the caucus's purpose"
    assert "a caucus post" not in str(entry)
    for outsider in (ada, fran, cy):
        assert "purpose" not in (await outsider.get(f"{API}/moderation/log")).text
        response = await outsider.get(f"{API}/caucuses/{slug}/log")
        assert response.status_code == 404 and response.json() == NOT_FOUND

    # The author's appeal goes to the conveners, not to the site's moderators.
    await done(bo.post(f"{API}/posts/{cpid}/appeal", json={"note": "it was on topic"}), 201)
    [appeal] = await queue(amara)
    assert appeal["kind"] == "appeal" and appeal["note"] == "it was on topic"
    for outsider in (ada, fran):
        assert "it was on topic" not in (await outsider.get(f"{API}/review")).text
    assert await ReviewItem.filter(caucus_id__isnull=False).count() == 2
