"""The /ws endpoint through Starlette's TestClient: subscribe, replay, reset, policy at delivery,
and bad frames. (Real servers and processes: tests/test_ws_processes.py.)"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from tortoise import Tortoise

from forum.app import create_app
from forum.db import tortoise_config
from forum.models import Caucus, Event, Reaction, Thread
from forum.policy import Actor
from forum.realtime import hub as hub_module
from forum.services import channels
from forum.settings import Settings
from tests.conftest import BASE, PASSWORD, make_member

ORIGIN = {"origin": BASE}


def seed(url: str, work: Any) -> Any:
    async def run() -> Any:
        await Tortoise.init(config=tortoise_config(url))
        try:
            return await work()
        finally:
            await Tortoise.close_connections()

    return asyncio.run(run())


@pytest.fixture
def world(database_url: str) -> dict[str, Any]:
    async def work() -> dict[str, Any]:
        for handle in ("amara", "bo", "cy"):
            await make_member(handle)
        await make_member("ada", "admin")
        await channels.create_channel(None, "General", "general")
        return {}

    return seed(database_url, work)


@pytest.fixture
def client(settings: Settings, world: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url=BASE) as tc:
        yield tc


def login(tc: TestClient, handle: str) -> str:
    """Sign the TestClient in; returns the session's CSRF token."""
    tc.cookies.clear()
    page = tc.get("/login")
    token = re.search(r'name="csrf" value="([^"]*)"', page.text).group(1)  # type: ignore[union-attr]
    response = tc.post(
        "/login",
        data={"handle": handle, "password": PASSWORD, "csrf": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return re.search(r'data-csrf="([^"]*)"', tc.get("/account").text).group(1)  # type: ignore[union-attr]


def start_thread(tc: TestClient, csrf: str, slug: str = "general") -> int:
    response = tc.post(
        f"/c/{slug}/threads",
        data={"title": "Live", "body": "opening", "csrf": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def reply(tc: TestClient, csrf: str, thread_id: int, body: str) -> int:
    response = tc.post(
        f"/t/{thread_id}/posts", data={"body": body, "csrf": csrf}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def receive_until(ws: Any, predicate: Any, limit: int = 20) -> dict[str, Any]:
    for _ in range(limit):
        frame = ws.receive_json()
        if predicate(frame):
            return frame  # type: ignore[no-any-return]
    raise AssertionError("the expected frame never came")


def test_live_delivery_renders_the_post_once_for_subscribers(client: TestClient) -> None:
    csrf = login(client, "amara")
    tid = start_thread(client, csrf)
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}"})
        assert ws.receive_json() == {"op": "subscribed", "topic": f"thread:{tid}", "seq": 1}
        post_id = reply(client, csrf, tid, "Hello *live* world")
        frame = ws.receive_json()
        assert frame["kind"] == "post.created" and frame["seq"] == 2
        assert frame["data"]["post_id"] == post_id
        assert "Hello <em>live</em> world" in frame["html"]
        assert f'id="p{post_id}"' in frame["html"]


def test_replay_after_n_then_live(client: TestClient) -> None:
    csrf = login(client, "amara")
    tid = start_thread(client, csrf)
    ids = [reply(client, csrf, tid, f"reply {i}") for i in range(3)]
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}", "after": 1})
        assert ws.receive_json()["op"] == "subscribed"
        replayed = [ws.receive_json() for _ in range(3)]
        assert [f["seq"] for f in replayed] == [2, 3, 4]
        assert [f["data"]["post_id"] for f in replayed] == ids
        live = reply(client, csrf, tid, "after the replay")
        assert ws.receive_json()["data"]["post_id"] == live


def test_reset_when_behind_retention_or_ahead(client: TestClient, database_url: str) -> None:
    csrf = login(client, "amara")
    tid = start_thread(client, csrf)
    for i in range(3):
        reply(client, csrf, tid, f"r{i}")
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}", "after": 99})
        assert ws.receive_json() == {"op": "reset", "topic": f"thread:{tid}"}
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}", "after": -4})
        assert ws.receive_json() == {"op": "reset", "topic": f"thread:{tid}"}
    seed(database_url, lambda: Event.filter(topic=f"thread:{tid}", seq__lte=2).delete())
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}", "after": 1})
        assert ws.receive_json() == {"op": "reset", "topic": f"thread:{tid}"}
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}", "after": 2})
        assert ws.receive_json()["op"] == "subscribed"
        assert ws.receive_json()["seq"] == 3


def test_origin_must_be_this_site(client: TestClient) -> None:
    login(client, "amara")
    for headers in ({}, {"origin": "https://evil.example"}):
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect("/ws", headers=headers) as ws,
        ):
            ws.receive_json()
        assert refused.value.code == 1008


def test_unreadable_and_missing_topics_answer_alike(client: TestClient) -> None:
    csrf = login(client, "amara")
    tid = start_thread(client, csrf)
    client.cookies.clear()  # anonymous now
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}", "after": 0})
        hidden = ws.receive_json()
        ws.send_json({"op": "subscribe", "topic": "thread:987654", "after": 0})
        missing = ws.receive_json()
        assert hidden["op"] == "error" and hidden["code"] == "not_found"
        assert {**hidden, "topic": ""} == {**missing, "topic": ""}
        ws.send_json({"op": "subscribe", "topic": "member:1", "after": 0})
        assert ws.receive_json()["code"] == "not_found"


def test_member_topics_belong_to_their_member(client: TestClient) -> None:
    login(client, "amara")
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "subscribe", "topic": "member:2"})  # bo's topic
        assert ws.receive_json()["code"] == "not_found"
        ws.send_json({"op": "subscribe", "topic": "member:1"})
        assert ws.receive_json()["op"] == "subscribed"


def test_removed_caucus_member_stops_receiving_on_the_same_socket(
    client: TestClient, database_url: str
) -> None:
    convener_csrf = login(client, "amara")
    made = client.post(
        "/caucuses",
        data={"name": "Renters", "listed": "0", "join_policy": "invite", "csrf": convener_csrf},
        follow_redirects=False,
    )
    slug = made.headers["location"].rsplit("/", 1)[1]
    client.post(f"/caucuses/{slug}/invite", data={"handle": "bo", "csrf": convener_csrf})
    tid = start_thread(client, convener_csrf, f"{slug}-talk")
    amara_cookies = dict(client.cookies)
    bo_csrf = login(client, "bo")
    client.post(f"/caucuses/{slug}/accept", data={"csrf": bo_csrf})
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        client.cookies.clear()
        client.cookies.update(amara_cookies)  # the socket stays bo's; HTTP acts as amara
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}"})
        assert ws.receive_json()["op"] == "subscribed"
        reply(client, convener_csrf, tid, "before removal")
        assert ws.receive_json()["kind"] == "post.created"
        client.post(f"/caucuses/{slug}/members/bo/remove", data={"csrf": convener_csrf})
        assert receive_until(ws, lambda f: f.get("op") == "revoked")["topic"] == f"thread:{tid}"
        reply(client, convener_csrf, tid, "after removal: secret")
        ws.send_json({"op": "ping"})
        frame = receive_until(ws, lambda f: f.get("op") == "pong" or "kind" in f)
        assert frame == {"op": "pong"}, "a caucus event reached a removed member"
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}"})
        assert ws.receive_json()["code"] == "not_found"
    assert seed(database_url, lambda: Caucus.filter(slug=slug).count()) == 1


def test_logout_ends_the_socket(client: TestClient) -> None:
    csrf = login(client, "amara")
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "ping"})
        assert ws.receive_json() == {"op": "pong"}
        client.post("/logout", data={"csrf": csrf})
        with pytest.raises(WebSocketDisconnect) as ended:
            for _ in range(5):
                ws.receive_json()
        assert ended.value.code == 4001


def test_bad_frames_get_errors_never_a_crash(client: TestClient) -> None:
    csrf = login(client, "amara")
    tid = start_thread(client, csrf)
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_text("{not json")
        assert ws.receive_json()["code"] == "bad_json"
        ws.send_text("[1, 2]")
        assert ws.receive_json()["code"] == "bad_json"
        ws.send_json({"op": "dance"})
        assert ws.receive_json()["code"] == "unknown_op"
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}", "after": "abc"})
        assert ws.receive_json()["code"] == "bad_after"
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}", "after": 10**30})
        assert ws.receive_json()["op"] == "reset"
        for topic in ("thread:", "thread:x", "bogus:1", "thread:99999999999999", 7):
            ws.send_json({"op": "subscribe", "topic": topic})
            assert ws.receive_json()["op"] == "error"
        ws.send_text("x" * 10_000)
        assert ws.receive_json()["code"] == "too_large"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1009
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        for _ in range(60):
            ws.send_json({"op": "ping"})
        with pytest.raises(WebSocketDisconnect) as flooded:
            for _ in range(100):
                ws.receive_json()
        assert flooded.value.code == 1008
    # The process is fine afterwards.
    assert client.get(f"/t/{tid}").status_code == 200
    assert (
        seed(
            client.app.state.services.settings.database_url,  # type: ignore[attr-defined]
            lambda: Thread.filter(id=tid).count(),
        )
        == 1
    )


def test_suspension_ends_an_open_socket(client: TestClient) -> None:
    admin_csrf = login(client, "ada")
    admin_cookies = dict(client.cookies)
    login(client, "cy")
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "ping"})
        assert ws.receive_json() == {"op": "pong"}
        client.cookies.clear()
        client.cookies.update(admin_cookies)
        done = client.post(
            "/admin/members/cy/suspend",
            data={"reason": "threats", "csrf": admin_csrf},
            follow_redirects=False,
        )
        assert done.status_code == 303
        with pytest.raises(WebSocketDisconnect) as ended:
            for _ in range(5):
                ws.receive_json()
        # 4003: the page sends the member to sign in, where they are told why.
        assert ended.value.code == 4003


# ---- the hub's delivery, without a server: eager sends, a slow socket, the heartbeat ----------


def _bare_hub() -> hub_module.Hub:
    async def load_actor(client: hub_module.Client) -> Actor | None:
        return None

    return hub_module.Hub(render_post=lambda post: "", load_actor=load_actor)


def _member_socket(
    hub: hub_module.Hub, sent: list[Any], closes: list[tuple[int, str]], gate: asyncio.Event
) -> hub_module.Client:
    async def send(message: dict[str, Any]) -> None:
        await gate.wait()  # a paused transport while the gate is closed
        sent.append(json.loads(message["text"]))

    async def close(code: int, reason: str) -> None:
        closes.append((code, reason))

    client = hub_module.Client(Actor(member_id=7, role="member", status="active"), send, close)
    hub.add(client)
    client.seqs["member:7"] = 0
    hub.by_topic["member:7"] = {client}
    hub.targets["member:7"] = ("member", 7)
    return client


def _event(seq: int) -> dict[str, Any]:
    return {"topic": "member:7", "seq": seq, "kind": "note", "data": {"n": seq}}


async def test_frames_go_out_at_once_and_queue_in_order_behind_a_slow_send() -> None:
    hub = _bare_hub()
    sent: list[Any] = []
    closes: list[tuple[int, str]] = []
    gate = asyncio.Event()
    gate.set()
    client = _member_socket(hub, sent, closes, gate)
    await hub.dispatch(_event(1))
    assert [f["seq"] for f in sent] == [1] and client.drain is None  # sent in the fan-out itself
    gate.clear()
    limit = hub_module.QUEUE_LIMIT
    for seq in range(2, limit + 3):  # one in flight, then a full backlog
        await hub.dispatch(_event(seq))
    assert client.drain is not None and not closes and not client.closed
    await hub.dispatch(_event(1))  # a duplicate is dropped, not queued
    await hub.dispatch(_event(limit + 3))  # one too many: the socket is closed as too slow
    await asyncio.sleep(0)
    assert closes == [(1013, "too slow")] and client.closed
    assert "member:7" not in hub.by_topic and hub.timer is None
    gate.set()
    await client.drain
    assert [f["seq"] for f in sent] == list(range(1, limit + 3))  # in order, nothing lost
    assert client.backlog is None


async def test_a_failed_send_marks_the_socket_closed() -> None:
    hub = _bare_hub()

    async def send(message: dict[str, Any]) -> None:
        raise ConnectionError("gone")

    async def close(code: int, reason: str) -> None:
        return None

    client = hub_module.Client(Actor.anonymous(), send, close)
    hub.add(client)
    client.offer('{"op": "pong"}')
    assert client.closed and client.drain is None
    hub.remove(client)
    assert hub.count == 0 and hub.timer is None


async def test_one_timer_pings_every_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module, "HEARTBEAT", 0.05)
    hub = _bare_hub()
    gate = asyncio.Event()
    gate.set()
    sent: list[Any] = []
    client = _member_socket(hub, sent, [], gate)
    await asyncio.sleep(0.2)
    assert {"op": "ping"} in sent
    hub.remove(client)
    assert hub.timer is None


def test_pruned_events_make_a_late_client_reset(client: TestClient, database_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from forum.realtime.events import prune

    csrf = login(client, "amara")
    tid = start_thread(client, csrf)
    reply(client, csrf, tid, "an old reply")
    old = datetime.now(UTC) - timedelta(days=30)
    seed(database_url, lambda: Event.filter(topic=f"thread:{tid}").update(created_at=old))
    assert seed(database_url, lambda: prune(14)) == 2
    reply(client, csrf, tid, "a new reply")
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}", "after": 0})
        assert ws.receive_json() == {"op": "reset", "topic": f"thread:{tid}"}
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}", "after": 2})
        assert ws.receive_json()["op"] == "subscribed"
        assert ws.receive_json()["data"]["post_id"] > 0


# ---- reactions ------------------------------------------------------------------------------


def react_by_api(tc: TestClient, csrf: str, post_id: int, kind: str, on: bool = True) -> Any:
    method = "POST" if on else "DELETE"
    response = tc.request(
        method, f"/api/v1/posts/{post_id}/reactions/{kind}", headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_reaction_reaches_readers_of_the_thread_live(client: TestClient) -> None:
    csrf = login(client, "amara")
    tid = start_thread(client, csrf)
    pid = reply(client, csrf, tid, "Shall we march?")
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}"})
        assert ws.receive_json()["op"] == "subscribed"
        react_by_api(client, csrf, pid, "solidarity")
        frame = receive_until(ws, lambda f: f.get("kind") == "post.reactions")
        assert frame["data"]["post_id"] == pid
        assert frame["data"]["counts"] == {"solidarity": 1}
        assert frame["data"]["kind"] == "solidarity" and frame["data"]["on"] is True
        assert "html" not in frame
        # Doing it again changes nothing and says nothing; taking it back is announced.
        react_by_api(client, csrf, pid, "solidarity")
        react_by_api(client, csrf, pid, "solidarity", on=False)
        frame = receive_until(ws, lambda f: f.get("kind") == "post.reactions")
        assert frame["data"]["counts"] == {} and frame["data"]["on"] is False


def test_caucus_reactions_are_never_sent_outside_the_caucus(
    client: TestClient, database_url: str
) -> None:
    csrf = login(client, "amara")
    made = client.post(
        "/caucuses",
        data={
            "name": "Night Shift",
            "description": "d",
            "listed": "1",
            "join_policy": "request",
            "csrf": csrf,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    slug = made.headers["location"].rsplit("/", 1)[1]
    tid = start_thread(client, csrf, f"{slug}-talk")
    pid = reply(client, csrf, tid, "Private")
    admin_csrf = login(client, "ada")
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}"})
        refused = ws.receive_json()
        assert refused.get("op") == "error" and refused.get("code") == "not_found"
        # The admin cannot react either: the same 404 as a post that does not exist.
        hidden = client.post(
            f"/api/v1/posts/{pid}/reactions/agree", headers={"X-CSRF-Token": admin_csrf}
        )
        missing = client.post(
            "/api/v1/posts/123456/reactions/agree", headers={"X-CSRF-Token": admin_csrf}
        )
        assert hidden.status_code == 404 and hidden.json() == missing.json()
    assert seed(database_url, lambda: _count_reactions(pid)) == 0


async def _count_reactions(post_id: int) -> int:
    return await Reaction.filter(post_id=post_id).count()


def test_a_followed_thread_s_reply_counts_up_the_badge_live(client: TestClient) -> None:
    """Follow notices are sent in bulk, and each follower's socket still gets its own
    notification.created frame with the new unread count."""
    csrf = login(client, "bo")
    me = client.get("/api/v1/me").json()
    tid = start_thread(client, csrf)  # starting it follows it
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        topic = f"member:{me['id']}"
        ws.send_json({"op": "subscribe", "topic": topic})
        assert receive_until(ws, lambda f: f.get("op") == "subscribed")["topic"] == topic
        amara = login(client, "amara")
        reply(client, amara, tid, "A reply to the thread")
        frame = receive_until(ws, lambda f: f.get("kind") == "notification.created")
        assert frame["topic"] == topic and frame["data"]["unread"] == me["unread_notifications"] + 1
