"""Decisions end to end over HTTP: a caucus adopts a motion by secret ballot with a quorum while a
member who joined afterwards cannot vote; polls, ranked choice and time polls over the API; the
frozen electorate; secret ballots that cannot be linked; closing, reminders, the register, the
export, and bad input that gets clear errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from tortoise import connections
from tortoise.exceptions import OperationalError

from forum.models import (
    Ballot,
    Channel,
    Decision,
    DecisionVoter,
    Member,
    ModerationAction,
    Notification,
)
from forum.models.members import TOKEN_SCOPES
from forum.services import accounts, decisions
from tests.conftest import csrf_token, login, make_client, make_member, post_form, signed_in
from tests.test_caucuses import found

API = "/api/v1"


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M")


async def token_client(app: Starlette, handle: str, role: str = "member") -> httpx.AsyncClient:
    member = await make_member(handle, role)
    token = await accounts.create_api_token(member, "tests", scopes=TOKEN_SCOPES)
    client = make_client(app)
    client.headers["authorization"] = f"Bearer {token}"
    return client


async def join(convener: httpx.AsyncClient, member: httpx.AsyncClient, slug: str, handle: str):  # type: ignore[no-untyped-def]
    invited = await post_form(convener, f"/caucuses/{slug}/invite", {"handle": handle})
    assert invited.status_code == 303
    assert (await post_form(member, f"/caucuses/{slug}/accept", {})).status_code == 303


async def open_thread(client: httpx.AsyncClient, channel: str, title: str) -> int:
    made = await post_form(
        client,
        f"/c/{channel}/threads",
        {"title": title, "body": "Let us decide."},
        page=f"/c/{channel}/new",
    )
    assert made.status_code == 303, made.text
    return int(made.headers["location"].rsplit("/", 1)[1])


RECEIPT = re.compile(r'<code class="receipt-code" id="receipt">([^<]+)</code>')


async def vote_form(
    client: httpx.AsyncClient, decision: str, data: dict[str, str]
) -> httpx.Response:
    did = decision.rsplit("/", 1)[1]
    return await post_form(client, f"/d/{did}/vote", data, page=decision)


async def test_a_caucus_adopts_a_motion_by_secret_ballot_with_a_quorum(app: Starlette) -> None:
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    cy = await signed_in(app, "cy")
    dee = await signed_in(app, "dee")
    admin = await signed_in(app, "ada", "admin")
    slug = await found(amara, "Tenants Union", listed=False, join_policy="invite")
    await join(amara, bo, slug, "bo")
    await join(amara, cy, slug, "cy")
    thread_id = await open_thread(amara, f"{slug}-talk", "Rent strike")
    proposal = await post_form(
        amara,
        f"/t/{thread_id}/decisions",
        {
            "kind": "motion",
            "title": "We begin a rent strike in March",
            "body": "Withhold rent from 1 March until repairs are made.",
            "threshold": "simple",
            "quorum": "50",
            "secret": "on",
            "results_shown": "closed",
            "closes_at": later(days=2),
            "open": "now",
        },
        page=f"/t/{thread_id}/decide",
    )
    assert proposal.status_code == 303, proposal.text
    decision = proposal.headers["location"]
    did = decision.rsplit("/", 1)[1]
    page = await bo.get(decision)
    assert "3</span> members who could read this thread when voting opened" in page.text
    assert "50% of the electorate: 2 ballots" in page.text
    assert "Abstentions count toward the quorum" in page.text
    # The thread shows it too.
    assert "We begin a rent strike in March" in (await cy.get(f"/t/{thread_id}")).text

    # Dee joins after voting opened: she reads the decision but may not vote.
    await join(amara, dee, slug, "dee")
    late = await dee.get(decision)
    assert late.status_code == 200 and "You cannot vote on this decision" in late.text
    refused = await vote_form(dee, decision, {"position": "agree"})
    assert refused.status_code == 403
    assert "Only the members who could read this thread when voting opened" in refused.text

    voted = await vote_form(bo, decision, {"position": "agree"})
    assert voted.status_code == 200 and "Your receipt" in voted.text
    receipt = RECEIPT.search(voted.text)
    assert receipt is not None
    # A second ballot without the receipt is refused; a tampered receipt too.
    again = await vote_form(bo, decision, {"position": "disagree"})
    assert again.status_code == 409 and "already voted" in again.text
    tampered = await vote_form(
        bo, decision, {"position": "disagree", "receipt": receipt.group(1)[:-2] + "xx"}
    )
    assert tampered.status_code == 400 and "does not match a ballot" in tampered.text
    changed = await vote_form(bo, decision, {"position": "abstain", "receipt": receipt.group(1)})
    assert changed.status_code == 303 and changed.headers["location"].endswith("done=changed")
    assert (await vote_form(cy, decision, {"position": "agree"})).status_code == 200
    blocked = await vote_form(amara, decision, {"position": "block"})
    assert blocked.status_code == 400 and "A block needs a reason" in blocked.text
    assert (await vote_form(amara, decision, {"position": "agree"})).status_code == 200
    during = await amara.get(decision)
    assert "Results are hidden until voting closes" in during.text
    assert '<strong data-field="cast">3</strong> of <span data-field="electorate">3' in (
        during.text
    )

    # Outsiders, admins included, find nothing: not the decision, its register, or its export.
    for outsider in (admin,):
        assert (await outsider.get(decision)).status_code == 404
        assert (await outsider.get(f"/d/{did}/result.csv")).status_code == 404
        assert (await outsider.get(f"/caucuses/{slug}/decisions")).status_code == 404
        assert (await outsider.get(f"{API}/decisions/{did}")).status_code == 404
        assert (await outsider.get(f"{API}/decisions?caucus={slug}")).status_code == 404

    closed = await post_form(amara, f"/d/{did}/close", {"reason": "All have voted"}, decision)
    assert closed.status_code == 303
    result = await bo.get(decision)
    assert "Carried" in result.text
    assert re.search(r"Agree</th><td>2</td>", result.text)
    assert re.search(r"Abstain</th><td>1</td>", result.text)
    assert "Who chose what" not in result.text  # a secret ballot names nobody
    log = await bo.get(f"/caucuses/{slug}/log")
    assert "All have voted" in log.text
    assert not await ModerationAction.filter(
        caucus_id__isnull=True, reason="All have voted"
    ).exists()
    stated = await post_form(
        amara,
        f"/d/{did}/statement",
        {"statement": "The strike begins on 1 March; the committee writes to the landlord."},
        decision,
    )
    assert stated.status_code == 303
    register = await dee.get(f"/caucuses/{slug}/decisions?q=strike")
    assert "We begin a rent strike in March" in register.text
    assert "the committee writes to the landlord" in register.text
    assert "rent strike" not in (await bo.get("/decisions")).text.lower()
    assert "rent strike" not in (await admin.get(f"{API}/decisions")).text.lower()
    export = await cy.get(f"/d/{did}/result.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "outcome,carried" in export.text and "agree,2" in export.text
    # Voting is over: a late vote is refused clearly.
    late_vote = await vote_form(cy, decision, {"position": "disagree"})
    assert late_vote.status_code == 409 and "Voting has closed" in late_vote.text


async def test_secret_ballot_rows_cannot_be_joined_to_their_voters(app: Starlette) -> None:
    voters = [await token_client(app, f"voter{i}") for i in range(8)]
    channel = await Channel.create(name="General", slug="general")
    thread = await voters[0].post(
        f"{API}/channels/general/threads", json={"title": "Chairs", "body": "Who chairs?"}
    )
    thread_id = thread.json()["id"]
    made = await voters[0].post(
        f"{API}/threads/{thread_id}/decisions",
        json={
            "kind": "poll",
            "title": "Chair for spring",
            "options": ["Ana", "Ben", "Cleo"],
            "secret": True,
            "closes_at": later(days=3) + ":00Z",
            "threshold": "plurality",
        },
    )
    assert made.status_code == 201, made.text
    decision_id = made.json()["id"]
    assert made.json()["electorate"] == 8
    for i, client in enumerate(voters):
        cast = await client.post(f"{API}/decisions/{decision_id}/votes", json={"options": [i % 3]})
        assert cast.status_code == 201 and cast.json()["receipt"]
    conn = connections.get("default")
    ballot_columns = {c["name"] for c in await conn.execute_query_dict("PRAGMA table_info(ballot)")}
    voter_columns = {
        c["name"] for c in await conn.execute_query_dict("PRAGMA table_info(decision_voter)")
    }
    # No time, no sequence: what a ballot row holds, and what a voter row holds.
    assert ballot_columns == {"id", "decision_id", "choice", "receipt_hash", "member_id"}
    assert voter_columns == {"id", "decision_id", "member_id", "voted"}
    # Whole tables, read as they are stored (this is the only decision).
    ballots = await conn.execute_query_dict("SELECT * FROM ballot")
    voter_rows = await conn.execute_query_dict("SELECT * FROM decision_voter")
    assert len(ballots) == 8 and len(voter_rows) == 8
    assert all(b["member_id"] is None for b in ballots)
    assert all(v["voted"] for v in voter_rows)
    # No hidden rowid counting insertions: the tables keep rows in the order of their random
    # ids, not in the order of voting; the ids of one table say nothing of the other's.
    for table in ("ballot", "decision_voter"):
        with pytest.raises(OperationalError):
            await conn.execute_query(f"SELECT rowid FROM {table}")
    assert [b["id"] for b in ballots] == sorted(b["id"] for b in ballots)
    assert [v["id"] for v in voter_rows] == sorted(v["id"] for v in voter_rows)
    assert not {b["id"] for b in ballots} & {v["id"] for v in voter_rows}
    shared = set(ballots[0]) & set(voter_rows[0]) - {"id", "member_id"}
    assert shared == {"decision_id"}
    # The API shows nobody's choice, and the close rewrites the rows and drops the receipts.
    assert (await voters[1].get(f"{API}/decisions/{decision_id}")).json()["open_ballots"] == []
    closed = await voters[0].post(
        f"{API}/decisions/{decision_id}/close", json={"reason": "Everyone voted"}
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["result"]["counts"] == {"0": 3, "1": 3, "2": 2}
    assert closed.json()["outcome"] == "not_carried"  # a tie for first place
    after = await Ballot.filter(decision_id=decision_id).values_list("receipt_hash", flat=True)
    assert len(after) == 8 and set(after) == {None}
    assert await DecisionVoter.filter(decision_id=decision_id, voted=True).count() == 8
    assert channel.id


async def test_poll_draft_rules_results_after_voting_and_bad_input(app: Starlette) -> None:
    ana = await token_client(app, "ana")
    ben = await token_client(app, "ben")
    cleo = await token_client(app, "cleo")
    await Channel.create(name="General", slug="general")
    thread_id = (
        await ana.post(f"{API}/channels/general/threads", json={"title": "Venue", "body": "?"})
    ).json()["id"]
    rules: dict[str, Any] = {
        "kind": "poll",
        "title": "Where do we meet?",
        "options": ["Library", "Union hall"],
        "results_shown": "voted",
        "threshold": "plurality",
        "quorum": 50,
        "closes_at": later(days=1, hours=2) + ":00Z",
        "open": False,
    }
    draft = await ana.post(f"{API}/threads/{thread_id}/decisions", json=rules)
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    decision_id = draft.json()["id"]
    # A draft's rules may change; voting on a draft is refused.
    rules["options"] = ["Library", "Union hall", "Online"]
    edited = await ana.patch(f"{API}/decisions/{decision_id}", json=rules)
    assert edited.status_code == 200 and edited.json()["options"][2] == "Online"
    early = await ben.post(f"{API}/decisions/{decision_id}/votes", json={"options": [0]})
    assert early.status_code == 409 and "not opened" in early.json()["error"]["message"]
    # Someone other than the proposer or a moderator cannot change it.
    assert (await ben.patch(f"{API}/decisions/{decision_id}", json=rules)).status_code == 403
    opened = await ana.post(f"{API}/decisions/{decision_id}/open")
    assert opened.status_code == 200 and opened.json()["electorate"] == 3
    # Once open, the rules are fixed.
    rules["quorum"] = 0
    fixed = await ana.patch(f"{API}/decisions/{decision_id}", json=rules)
    assert fixed.status_code == 409 and "fixed once voting opens" in fixed.text
    # Bad ballots: out of range, two choices on a one-choice poll, wrong types, no choice.
    for body, field in (
        ({"options": [3]}, "options"),
        ({"options": [0, 1]}, "options"),
        ({"options": ["x"]}, "options"),
        ({}, "options"),
        ({"options": [-1]}, "options"),
    ):
        bad = await ben.post(f"{API}/decisions/{decision_id}/votes", json=body)
        assert bad.status_code == 400, (body, bad.text)
        assert field in bad.json()["error"]["fields"]
    first = await ben.post(f"{API}/decisions/{decision_id}/votes", json={"options": [1]})
    assert first.status_code == 201 and first.json()["receipt"] is None
    # Results show to whoever voted, and not to whoever has not.
    assert first.json()["decision"]["result"]["counts"]["1"] == 1
    assert (await cleo.get(f"{API}/decisions/{decision_id}")).json()["result"] is None
    # An open ballot: voting again changes the vote, and the page names who chose what.
    changed = await ben.post(f"{API}/decisions/{decision_id}/votes", json={"options": [0]})
    assert changed.status_code == 200 and changed.json()["changed"]
    assert changed.json()["decision"]["open_ballots"] == [
        {"handle": "ben", "choice": {"options": [0]}}
    ]
    assert changed.json()["decision"]["ballots_cast"] == 1
    # Closing needs a reason, and only the proposer or a moderator may.
    assert (
        await cleo.post(f"{API}/decisions/{decision_id}/close", json={"reason": "x"})
    ).status_code == 403
    no_reason = await ana.post(f"{API}/decisions/{decision_id}/close", json={"reason": " "})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]["fields"]
    moved = await ana.post(
        f"{API}/decisions/{decision_id}/close-at",
        json={"closes_at": later(days=4) + ":00Z", "reason": "Half the branch is away"},
    )
    assert moved.status_code == 200
    assert await ModerationAction.filter(action="move_decision_close").exists()
    closed = await ana.post(f"{API}/decisions/{decision_id}/close", json={"reason": "Enough"})
    body = closed.json()
    # One ballot of three: short of the 50% quorum (2 ballots).
    assert body["outcome"] == "no_quorum" and body["quorum_needed"] == 2
    assert (
        await cleo.post(f"{API}/decisions/{decision_id}/votes", json={"options": [0]})
    ).status_code == 409
    twice = await ana.post(f"{API}/decisions/{decision_id}/close", json={"reason": "Again"})
    assert twice.status_code == 409
    statement = await ben.put(
        f"{API}/decisions/{decision_id}/statement", json={"statement": "Not mine to write"}
    )
    assert statement.status_code == 403
    stated = await ana.put(
        f"{API}/decisions/{decision_id}/statement", json={"statement": "We try again in May."}
    )
    assert stated.status_code == 200 and stated.json()["statement"] == "We try again in May."
    register = (await cleo.get(f"{API}/decisions?q=meet")).json()["decisions"]
    assert [d["id"] for d in register] == [decision_id]
    assert (await cleo.get(f"{API}/decisions?q=nothing-like-it")).json()["decisions"] == []
    # Bad proposals: unknown kind, one option, a close in the past, junk types.
    for bad_rules, field in (
        ({**rules, "kind": "lottery"}, "kind"),
        ({**rules, "options": ["Only"]}, "options"),
        ({**rules, "closes_at": "2001-01-01T00:00:00Z"}, "closes_at"),
        ({**rules, "quorum": 101}, "quorum"),
        ({**rules, "closes_at": "soon"}, "closes_at"),
        ({**rules, "kind": "motion", "threshold": "plurality"}, "threshold"),
    ):
        refused = await ana.post(f"{API}/threads/{thread_id}/decisions", json=bad_rules)
        assert refused.status_code == 400, (bad_rules, refused.text)
        assert field in refused.json()["error"]["fields"]


async def test_ranked_choice_and_time_poll_over_the_api(app: Starlette) -> None:
    members = [await token_client(app, f"m{i}") for i in range(5)]
    await Channel.create(name="General", slug="general")
    thread_id = (
        await members[0].post(
            f"{API}/channels/general/threads", json={"title": "Delegates", "body": "Choose."}
        )
    ).json()["id"]
    ranked = await members[0].post(
        f"{API}/threads/{thread_id}/decisions",
        json={
            "kind": "ranked",
            "title": "Delegate to congress",
            "options": ["Asha", "Bea", "Cal"],
            "closes_at": later(days=2) + ":00Z",
            "threshold": "plurality",
        },
    )
    assert ranked.status_code == 201, ranked.text
    rid = ranked.json()["id"]
    # Cal is excluded first and Cal's voter's second choice, Bea, then wins 3 to 2.
    rankings = [[0, 1], [0, 2], [1, 0], [1], [2, 1]]
    for client, ranking in zip(members, rankings, strict=True):
        cast = await client.post(f"{API}/decisions/{rid}/votes", json={"ranking": ranking})
        assert cast.status_code == 201, cast.text
    duplicate = await members[0].post(f"{API}/decisions/{rid}/votes", json={"ranking": [0, 0]})
    assert duplicate.status_code == 400 and "ranking" in duplicate.json()["error"]["fields"]
    closed = (await members[0].post(f"{API}/decisions/{rid}/close", json={"reason": "done"})).json()
    assert closed["outcome"] == "carried"
    assert closed["result"]["winners"] == [1]
    assert [r["excluded"] for r in closed["result"]["rounds"]] == [[2], []]

    timed = await members[1].post(
        f"{API}/threads/{thread_id}/decisions",
        json={
            "kind": "time",
            "title": "Next meeting",
            "options": ["Mon 18:00", "Tue 19:00", "Sat 11:00"],
            "closes_at": later(days=2) + ":00Z",
            "threshold": "plurality",
        },
    )
    tid = timed.json()["id"]
    for client, chosen in zip(members, [[0, 1], [1], [1, 2], [2], [0, 1, 2]], strict=True):
        assert (
            await client.post(f"{API}/decisions/{tid}/votes", json={"options": chosen})
        ).status_code == 201
    closed = (await members[1].post(f"{API}/decisions/{tid}/close", json={"reason": "ok"})).json()
    assert closed["result"]["winners"] == [1] and closed["result"]["counts"]["1"] == 4


async def test_suspended_voter_is_refused_while_suspended(app: Starlette) -> None:
    ana = await token_client(app, "ana")
    await make_member("bo")
    bo_client = make_client(app)
    assert (await login(bo_client, "bo")).status_code == 303
    await Channel.create(name="General", slug="general")
    thread_id = (
        await ana.post(f"{API}/channels/general/threads", json={"title": "T", "body": "b"})
    ).json()["id"]
    made = await ana.post(
        f"{API}/threads/{thread_id}/decisions",
        json={"kind": "motion", "title": "Adopt", "closes_at": later(days=2) + ":00Z"},
    )
    decision = f"/d/{made.json()['id']}"
    token = await csrf_token(bo_client, decision)
    await Member.filter(handle="bo").update(status="suspended")
    refused = await bo_client.post(f"{decision}/vote", data={"position": "agree", "csrf": token})
    # Refused (a suspended member reads nothing, so votes on nothing) and nothing counted.
    assert refused.status_code in (403, 404)
    api_refused = await bo_client.post(
        f"{API}/decisions/{made.json()['id']}/votes",
        json={"position": "agree"},
        headers={"x-csrf-token": token},
    )
    assert api_refused.status_code in (401, 403, 404)
    assert await Ballot.filter(decision_id=made.json()["id"]).count() == 0
    await Member.filter(handle="bo").update(status="active")
    assert (await login(bo_client, "bo")).status_code == 303  # reinstated, signs in again
    allowed = await vote_form(bo_client, decision, {"position": "agree"})
    assert allowed.status_code == 303, allowed.text


async def test_reminders_a_day_before_and_closing_at_its_time(app: Starlette) -> None:
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    slug = await found(amara, "Night shift", listed=True, join_policy="invite")
    await join(amara, bo, slug, "bo")
    thread_id = await open_thread(amara, f"{slug}-talk", "Overtime ban")
    made = await post_form(
        amara,
        f"/t/{thread_id}/decisions",
        {
            "kind": "motion",
            "title": "Ban overtime",
            "threshold": "consensus",
            "closes_at": later(days=3),
            "open": "now",
        },
        page=f"/t/{thread_id}/decide",
    )
    decision_id = int(made.headers["location"].rsplit("/", 1)[1])
    assert (await vote_form(amara, f"/d/{decision_id}", {"position": "agree"})).status_code == 303
    decision = await Decision.get(id=decision_id)
    # A day before the close: one reminder, to bo only, without the caucus's name.
    assert await decisions.run_due(None, decision.closes_at - timedelta(hours=30)) == (0, 0)
    assert await decisions.run_due(None, decision.closes_at - timedelta(hours=23)) == (0, 1)
    assert await decisions.run_due(None, decision.closes_at - timedelta(hours=22)) == (0, 0)
    notes = await Notification.filter(kind="decision")
    assert [n.member_id for n in notes] == [(await Member.get(handle="bo")).id]
    assert "Night shift" not in notes[0].text and "Overtime" not in notes[0].text
    assert notes[0].url == f"/d/{decision_id}"
    # Its time passes: the first reader finds it closed and counted.
    await Decision.filter(id=decision_id).update(closes_at=datetime.now(UTC) - timedelta(seconds=1))
    page = await bo.get(f"/d/{decision_id}")
    assert "Carried" in page.text
    assert (await Decision.get(id=decision_id)).status == "closed"
    assert await decisions.run_due(None) == (0, 0)


async def test_facilitators_may_restrict_who_proposes(app: Starlette) -> None:
    fran = await signed_in(app, "fran", "facilitator")
    bo = await signed_in(app, "bo")
    await Channel.create(name="General", slug="general")
    thread_id = await open_thread(bo, "general", "Budget")
    assert "Propose a decision" in (await bo.get(f"/t/{thread_id}")).text
    assert "Who may propose decisions here" in (await fran.get("/c/general")).text
    assert "Who may propose decisions here" not in (await bo.get("/c/general")).text
    denied = await post_form(bo, "/c/general/proposers", {"proposers": "moderators", "reason": "x"})
    assert denied.status_code == 403
    done = await post_form(
        fran, "/c/general/proposers", {"proposers": "moderators", "reason": "Budget season"}
    )
    assert done.status_code == 303
    assert "Propose a decision" not in (await bo.get(f"/t/{thread_id}")).text
    assert (await bo.get(f"/t/{thread_id}/decide")).status_code == 403
    assert (await fran.get(f"/t/{thread_id}/decide")).status_code == 200
    assert await ModerationAction.filter(action="set_proposers", reason="Budget season").exists()


async def test_a_draft_is_edited_then_opened_and_its_close_moved_from_the_pages(
    app: Starlette,
) -> None:
    ana = await signed_in(app, "ana")
    bo = await signed_in(app, "bo")
    await Channel.create(name="General", slug="general")
    thread_id = await open_thread(ana, "general", "Newsletter")
    form = {
        "kind": "poll",
        "title": "Newsletter name",
        "options": "Red Notes\nThe Bulletin",
        "threshold": "plurality",
        "closes_at": later(days=2),
        "open": "draft",
    }
    made = await post_form(ana, f"/t/{thread_id}/decisions", form, page=f"/t/{thread_id}/decide")
    assert made.status_code == 303
    did = made.headers["location"].rsplit("/", 1)[1]
    draft = await ana.get(f"/d/{did}")
    assert "Voting has not opened" in draft.text
    edit_page = await ana.get(f"/d/{did}/edit")
    assert edit_page.status_code == 200 and "Red Notes\nThe Bulletin" in edit_page.text
    assert (await bo.get(f"/d/{did}/edit")).status_code == 403
    bad = await post_form(ana, f"/d/{did}/edit", {**form, "options": "Only one"}, f"/d/{did}")
    assert bad.status_code == 400 and "at least two options" in bad.text
    edited = await post_form(
        ana, f"/d/{did}/edit", {**form, "options": "Red Notes\nThe Bulletin\nSpark"}, f"/d/{did}"
    )
    assert edited.status_code == 303
    opened = await post_form(ana, f"/d/{did}/open", {}, f"/d/{did}")
    assert opened.status_code == 303
    assert "Spark" in (await bo.get(f"/d/{did}")).text
    again = await post_form(ana, f"/d/{did}/open", {}, f"/d/{did}")
    assert again.status_code == 409 and "already open" in again.text
    fixed = await post_form(ana, f"/d/{did}/edit", form, f"/d/{did}")
    assert fixed.status_code == 409 and "fixed once voting opens" in fixed.text
    moved = await post_form(
        ana, f"/d/{did}/close-at", {"closes_at": later(days=5), "reason": "More time"}, f"/d/{did}"
    )
    assert moved.status_code == 303
    past = await post_form(
        ana, f"/d/{did}/close-at", {"closes_at": "2001-01-01T00:00", "reason": "x"}, f"/d/{did}"
    )
    assert past.status_code == 400 and "five minutes away" in past.text
    junk = await post_form(ana, f"/d/{did}/vote", {"option": "99"}, f"/d/{did}")
    assert junk.status_code == 400 and "not on this ballot" in junk.text
    assert (await post_form(ana, f"/d/{did}/vote", {"option": "2"}, f"/d/{did}")).status_code == 303
    closed = await post_form(ana, f"/d/{did}/close", {"reason": "Decided"}, f"/d/{did}")
    assert closed.status_code == 303
    page = await bo.get(f"/d/{did}")
    assert "Who chose what" in page.text and "@ana: Spark" in page.text
    assert "Chosen:</strong> Spark" in page.text
    assert "Newsletter name" in (await bo.get("/decisions")).text
