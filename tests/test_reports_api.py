"""Confidential reports through the JSON API, and the reports privacy matrix: every role
(reporter, respondent, handler, recused committee member, alternate, admin, facilitator, other
member, anonymous) against every surface (page, live partial, JSON, act, lists, search, feed,
notifications, moderation log, websocket topic)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from forum.models import Member, Notification
from forum.services import channels, committee
from forum.services.context import Services
from tests.conftest import BASE, make_client
from tests.test_api import error_of, token_client

API = "/api/v1"


async def _seat(app: Starlette, handle: str, body: str = "committee") -> None:
    from forum.security import Hasher, Throttle
    from forum.settings import Settings

    services = Services(Settings(), Hasher(1), Throttle(None))
    await committee.add(services, None, handle, "elected", body)


async def test_the_path_over_the_api(app: Starlette) -> None:
    rae = await token_client(app, "rae")
    cleo = await token_client(app, "cleo")
    await token_client(app, "sam")
    await _seat(app, "cleo")
    bad = await rae.post(f"{API}/reports", json={"level": "formal", "body": ""})
    error_of(bad, 400, "invalid")
    unknown = await rae.post(
        f"{API}/reports", json={"level": "formal", "body": "x", "respondents": ["ghost"]}
    )
    assert error_of(unknown, 400, "invalid")["fields"]["respondents"]
    made = await rae.post(
        f"{API}/reports", json={"level": "formal", "body": "It happened.", "respondents": ["sam"]}
    )
    assert made.status_code == 201, made.text
    case = made.json()
    rid = case["id"]
    assert case["state"] == "received" and case["entries"][0]["text"] == "It happened."
    assert [m["handle"] for m in case["respondents"]] == ["sam"]
    assert "withdraw" in case["acts"] and "acknowledge" not in case["acts"]
    mine = (await rae.get(f"{API}/reports")).json()
    assert [c["id"] for c in mine["mine"]] == [rid] and mine["handled"] == []
    assert [c["id"] for c in (await cleo.get(f"{API}/reports")).json()["handled"]] == [rid]
    acked = await cleo.post(f"{API}/reports/{rid}/acts", json={"act": "acknowledge"})
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    refused = await cleo.post(f"{API}/reports/{rid}/acts", json={"act": "inform_respondent"})
    error_of(refused, 409, "conflict")
    not_theirs = await cleo.post(f"{API}/reports/{rid}/acts", json={"act": "consent_yes"})
    error_of(not_theirs, 403, "forbidden")
    await cleo.post(f"{API}/reports/{rid}/acts", json={"act": "ask_consent", "text": "May we?"})
    yes = await rae.post(f"{API}/reports/{rid}/acts", json={"act": "consent_yes"})
    assert yes.json()["consent"] == "given"
    no_reason = await cleo.post(
        f"{API}/reports/{rid}/acts", json={"act": "close", "outcome": "advice"}
    )
    assert "text" in error_of(no_reason, 400, "invalid")["fields"]
    closed = await cleo.post(
        f"{API}/reports/{rid}/acts",
        json={"act": "close", "outcome": "advice", "text": "We spoke with both."},
    )
    assert closed.json()["state"] == "closed" and closed.json()["outcome"] == "advice"
    seen = (await rae.get(f"{API}/reports/{rid}")).json()
    assert seen["entries"][-1]["text"] == "We spoke with both."
    roster = (await rae.get("/api/v1/committee")).json()
    assert roster == {"committee": [{"handle": "cleo", "display_name": "Cleo"}], "alternate": []}
    doc = (await rae.get(f"{API}/openapi.json")).json()
    for path in ("/reports", "/reports/{report_id}", "/reports/{report_id}/acts", "/committee"):
        assert path in doc["paths"], path


# ---- the matrix ------------------------------------------------------------------------------

ROLES = (
    "reporter",
    "respondent",
    "handler",
    "recused",
    "alternate",
    "admin",
    "facilitator",
    "other",
    "anonymous",
)
# Who may know the case exists (the named member's case goes to the committee, since the
# respondent here sits on no body; `recused` declared a conflict).
ALLOWED = {"reporter", "handler"}
CANARY = "canary-harm-words"


@pytest.fixture
async def world(app: Starlette) -> dict[str, Any]:
    await channels.create_channel(None, "General", "general")
    clients: dict[str, httpx.AsyncClient] = {}
    for role in ROLES:
        if role == "anonymous":
            clients[role] = make_client(app)
            continue
        site_role = {"admin": "admin", "facilitator": "facilitator"}.get(role, "member")
        clients[role] = await token_client(app, role, site_role)
    await _seat(app, "handler")
    await _seat(app, "recused")
    await _seat(app, "alternate", "alternate")
    made = await clients["reporter"].post(
        f"{API}/reports",
        json={"level": "formal", "body": f"{CANARY} text", "respondents": ["respondent"]},
    )
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    stepped = await clients["recused"].post(
        f"{API}/reports/{rid}/acts", json={"act": "declare_conflict"}
    )
    assert stepped.status_code == 204
    # A message so that the reporter and handlers get notifications.
    await clients["handler"].post(
        f"{API}/reports/{rid}/acts", json={"act": "message", "text": "hi"}
    )
    return {"clients": clients, "rid": rid}


@pytest.mark.parametrize("role", ROLES)
async def test_reports_privacy_matrix(world: dict[str, Any], role: str, app: Starlette) -> None:
    client: httpx.AsyncClient = world["clients"][role]
    rid: int = world["rid"]
    allowed = role in ALLOWED
    missing_id = 1 if rid != 1 else 2
    # JSON
    hidden = await client.get(f"{API}/reports/{rid}")
    missing = await client.get(f"{API}/reports/{missing_id}")
    if allowed:
        assert hidden.status_code == 200 and CANARY in hidden.text
    else:
        assert hidden.status_code == missing.status_code and hidden.text == missing.text
    # page and live partial (cookie-less token clients get the anonymous page answer)
    for path in (f"/reports/{rid}", f"/reports/{rid}/live"):
        page = await client.get(path)
        gone = await client.get(path.replace(str(rid), str(missing_id)))
        assert CANARY not in page.text or allowed
        assert page.status_code == gone.status_code or allowed
    # acting
    acted = await client.post(f"{API}/reports/{rid}/acts", json={"act": "message", "text": "x"})
    acted_missing = await client.post(
        f"{API}/reports/{missing_id}/acts", json={"act": "message", "text": "x"}
    )
    if allowed:
        assert acted.status_code == 200
    else:
        assert acted.status_code == acted_missing.status_code
        assert acted.text == acted_missing.text
    # lists, search, feeds, the log
    listed = await client.get(f"{API}/reports")
    assert (str(rid) in listed.text) == allowed or role == "anonymous"
    for path in (
        f"{API}/search?q=canary",
        "/search?q=canary",
        "/moderation/log",
        "/c/general/feed.atom",
        f"{API}/moderation/log",
    ):
        answer = await client.get(path)
        assert CANARY not in answer.text and str(rid) not in answer.text, path
    # notifications: only "your report has an update" / "a case has an update", with a link,
    # and only for the reporter and handlers
    if role != "anonymous":
        member = await Member.get(handle_key=role)
        notes = await Notification.filter(member_id=member.id, url__startswith="/reports")
        assert bool(notes) == allowed
        for note in notes:
            assert note.text in ("Your report has an update", "A committee case has an update")
            assert CANARY not in note.text


def test_case_topic_live_for_reporter_and_handler_only(database_url: str, settings: Any) -> None:
    """Only the reporter and the handler may follow `case:ID`; the reporter sees each step
    arrive live, with no text in the frame."""
    from forum.app import create_app
    from forum.security import Hasher, Throttle
    from forum.settings import Settings
    from tests.conftest import make_member
    from tests.test_ws import login, seed

    async def work() -> None:
        for role in ROLES[:-1]:
            site_role = {"admin": "admin", "facilitator": "facilitator"}.get(role, "member")
            await make_member(role, site_role)
        services = Services(Settings(), Hasher(1), Throttle(None))
        await committee.add(services, None, "handler", "elected")
        await committee.add(services, None, "recused", "elected")
        await committee.add(services, None, "alternate", "elected", "alternate")

    seed(database_url, work)
    with TestClient(create_app(settings), base_url=BASE) as tc:
        csrf = login(tc, "reporter")
        made = tc.post(
            "/reports",
            data={"level": "formal", "body": CANARY, "respondents": "respondent", "csrf": csrf},
            follow_redirects=False,
        )
        rid = int(made.headers["location"].rsplit("/", 1)[1])
        csrf = login(tc, "recused")
        # Following the case, then stepping aside: the socket loses the topic at once.
        with tc.websocket_connect("/ws", headers={"origin": BASE}) as ws:
            ws.send_text(json.dumps({"op": "subscribe", "topic": f"case:{rid}", "after": 0}))
            assert json.loads(ws.receive_text())["op"] == "subscribed"
            tc.post(f"/reports/{rid}/declare_conflict", data={"csrf": csrf})
            frames: list[dict[str, Any]] = []
            while {"op": "revoked", "topic": f"case:{rid}"} not in frames and len(frames) < 5:
                frames.append(json.loads(ws.receive_text()))
            assert {"op": "revoked", "topic": f"case:{rid}"} in frames, frames
        for role in ROLES:
            if role == "anonymous":
                tc.cookies.clear()
            else:
                login(tc, role)
            with tc.websocket_connect("/ws", headers={"origin": BASE}) as ws:
                ws.send_text(json.dumps({"op": "subscribe", "topic": f"case:{rid}", "after": 0}))
                answer = json.loads(ws.receive_text())
                assert (answer.get("op") == "subscribed") == (role in ALLOWED), (role, answer)
        # The reporter follows the case; the handler acknowledges; the frame arrives.
        login(tc, "reporter")
        seq = tc.get(f"{API}/reports/{rid}").json()["seq"]
        with tc.websocket_connect("/ws", headers={"origin": BASE}) as ws:
            ws.send_text(json.dumps({"op": "subscribe", "topic": f"case:{rid}", "after": seq}))
            assert json.loads(ws.receive_text())["op"] == "subscribed"
            handler_csrf = login(tc, "handler")  # the socket stays the reporter's
            tc.post(f"/reports/{rid}/acknowledge", data={"csrf": handler_csrf})
            for _ in range(10):
                frame = json.loads(ws.receive_text())
                if frame.get("topic") == f"case:{rid}":
                    break
            assert frame["kind"] == "case.entry" and frame["data"]["entry"] == "acknowledged"
            assert CANARY not in json.dumps(frame)
