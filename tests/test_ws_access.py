"""Open sockets follow access changes read from the event table, not from messages: sessions
that expire, a thread moved out of the public eye, a change made by another process, and the
bounds on sockets and replays. (SQLite and the in-process broker; the Redis outage on
PostgreSQL is in tests/test_ws_processes.py.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from forum.app import create_app
from forum.models import Session
from forum.security import Hasher, Throttle
from forum.services import accounts, caucuses, channels
from forum.services.context import Ctx, Services
from forum.settings import Settings
from tests.conftest import BASE, make_member
from tests.test_ws import ORIGIN, login, receive_until, reply, seed, start_thread

RECHECK = 0.2  # seconds between two periodic passes in these tests


@pytest.fixture
def world(database_url: str) -> dict[str, Any]:
    async def work() -> dict[str, Any]:
        for handle in ("amara", "bo", "cy"):
            await make_member(handle)
        await make_member("ada", "admin")
        await make_member("fay", "facilitator")
        await channels.create_channel(None, "General", "general")
        await channels.create_channel(None, "News", "news", public=True)
        return {}

    return seed(database_url, work)


def live_client(settings: Settings, **changes: Any) -> TestClient:
    return TestClient(create_app(settings.with_(**changes)), base_url=BASE)


@pytest.fixture
def client(settings: Settings, world: dict[str, Any]) -> Iterator[TestClient]:
    with live_client(settings, ws_recheck_seconds=RECHECK) as tc:
        yield tc


def closed_with(ws: Any) -> int:
    """Read until the server closes the socket; its close code."""
    with pytest.raises(WebSocketDisconnect) as ended:
        for _ in range(50):
            ws.receive_json()
    return ended.value.code


def make_caucus(tc: TestClient, csrf: str, *members: str) -> str:
    """A caucus convened by whoever `tc` is signed in as, with `members` invited (they still
    have to accept)."""
    made = tc.post(
        "/caucuses",
        data={"name": "Renters", "listed": "0", "join_policy": "invite", "csrf": csrf},
        follow_redirects=False,
    )
    slug = made.headers["location"].rsplit("/", 1)[1]
    for handle in members:
        tc.post(f"/caucuses/{slug}/invite", data={"handle": handle, "csrf": csrf})
    return slug


# ---- sessions that end while the socket is open ----------------------------------------------


@pytest.mark.parametrize("limit", ["idle", "absolute"])
def test_a_socket_whose_session_expired_is_closed_and_cannot_subscribe(
    client: TestClient, database_url: str, limit: str
) -> None:
    csrf = login(client, "amara")
    tid = start_thread(client, csrf)
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}"})
        assert ws.receive_json()["op"] == "subscribed"
        # The clock moves on past the limit (the row is dated back, as time would do).
        field = "last_seen_at" if limit == "idle" else "created_at"
        back = timedelta(days=15 if limit == "idle" else 61)

        async def age() -> None:
            session = await Session.get(member__handle="amara")
            setattr(session, field, getattr(session, field) - back)
            await session.save(update_fields=[field])

        seed(database_url, age)
        assert closed_with(ws) == 4001
    # The same cookie opens an anonymous socket now, which cannot follow the thread.
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}"})
        assert ws.receive_json()["code"] == "not_found"


# ---- a thread moved out of public view -------------------------------------------------------


def test_a_thread_moved_to_a_members_only_channel_stops_pushing_to_anonymous_sockets(
    client: TestClient,
) -> None:
    csrf = login(client, "fay")
    tid = start_thread(client, csrf, "news")
    member_cookies = dict(client.cookies)
    client.cookies.clear()
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:  # anonymous
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}"})
        assert ws.receive_json()["op"] == "subscribed"
        client.cookies.update(member_cookies)
        reply(client, csrf, tid, "public news")
        assert ws.receive_json()["kind"] == "post.created"
        moved = client.post(
            f"/t/{tid}/moderate",
            data={
                "action": "move",
                "reason": "members only",
                "channel": "general",
                "seconds": "",
                "csrf": csrf,
            },
            follow_redirects=False,
        )
        assert moved.status_code == 303, moved.text
        assert receive_until(ws, lambda f: f.get("op") == "revoked")["topic"] == f"thread:{tid}"
        reply(client, csrf, tid, "members only now")
        ws.send_json({"op": "ping"})
        frame = receive_until(ws, lambda f: f.get("op") == "pong" or "kind" in f)
        assert frame == {"op": "pong"}, "a members-only post reached an anonymous socket"
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}"})
        assert ws.receive_json()["code"] == "not_found"


# ---- a change committed by another process, with no message at all -------------------------


def test_a_removal_made_elsewhere_reaches_the_open_socket_from_the_table(
    client: TestClient, database_url: str, settings: Settings
) -> None:
    convener_csrf = login(client, "amara")
    slug = make_caucus(client, convener_csrf, "bo")
    tid = start_thread(client, convener_csrf, f"{slug}-talk")
    amara_cookies = dict(client.cookies)
    bo_csrf = login(client, "bo")
    client.post(f"/caucuses/{slug}/accept", data={"csrf": bo_csrf})
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}"})
        assert ws.receive_json()["op"] == "subscribed"

        # Another process (a CLI, a worker) removes bo: its broker is not this app's, so no
        # message reaches this process; only the event table tells.
        async def remove() -> None:
            services = Services(settings=settings, hasher=Hasher(1), throttle=Throttle(None))
            convener = await accounts.member_by_handle("amara")
            ctx = Ctx(services, actor=await accounts.load_actor(convener), member=convener)
            await caucuses.decide(ctx, slug, "bo", "remove")

        seed(database_url, remove)
        started = time.monotonic()
        assert receive_until(ws, lambda f: f.get("op") == "revoked")["topic"] == f"thread:{tid}"
        assert time.monotonic() - started < 5
        client.cookies.clear()
        client.cookies.update(amara_cookies)
        reply(client, convener_csrf, tid, "after removal: secret")
        ws.send_json({"op": "ping"})
        frame = receive_until(ws, lambda f: f.get("op") == "pong" or "kind" in f)
        assert frame == {"op": "pong"}, "a caucus event reached a removed member"


def test_leaving_a_caucus_narrows_the_open_socket(client: TestClient) -> None:
    convener_csrf = login(client, "amara")
    slug = make_caucus(client, convener_csrf, "bo")
    tid = start_thread(client, convener_csrf, f"{slug}-talk")
    amara_cookies = dict(client.cookies)
    bo_csrf = login(client, "bo")
    client.post(f"/caucuses/{slug}/accept", data={"csrf": bo_csrf})
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_json({"op": "subscribe", "topic": f"thread:{tid}"})
        assert ws.receive_json()["op"] == "subscribed"
        left = client.post(f"/caucuses/{slug}/leave", data={"csrf": bo_csrf})
        assert left.status_code in (200, 204, 303), left.text
        assert receive_until(ws, lambda f: f.get("op") == "revoked")["topic"] == f"thread:{tid}"
        client.cookies.clear()
        client.cookies.update(amara_cookies)
        reply(client, convener_csrf, tid, "after leaving: secret")
        ws.send_json({"op": "ping"})
        frame = receive_until(ws, lambda f: f.get("op") == "pong" or "kind" in f)
        assert frame == {"op": "pong"}


def test_a_role_change_reaches_open_sockets(client: TestClient) -> None:
    admin_csrf = login(client, "ada")
    admin_cookies = dict(client.cookies)
    login(client, "cy")
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        client.cookies.clear()
        client.cookies.update(admin_cookies)
        done = client.post(
            "/admin/members/cy/role",
            data={"role": "facilitator", "csrf": admin_csrf},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        hub = client.app.state.hub  # type: ignore[attr-defined]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            roles = {c.actor.role for peers in hub.by_member.values() for c in peers}
            if roles == {"facilitator"}:
                break
            ws.send_json({"op": "ping"})
            ws.receive_json()
        assert roles == {"facilitator"}


# ---- bounds ----------------------------------------------------------------------------------


def test_sockets_are_capped_per_member_and_per_address(
    settings: Settings, world: dict[str, Any]
) -> None:
    with live_client(settings, ws_per_member=2, ws_per_address=3) as tc:
        login(tc, "amara")
        with (
            tc.websocket_connect("/ws", headers=ORIGIN) as one,
            tc.websocket_connect("/ws", headers=ORIGIN) as two,
        ):
            for ws in (one, two):
                ws.send_json({"op": "ping"})
                assert ws.receive_json() == {"op": "pong"}
            with tc.websocket_connect("/ws", headers=ORIGIN) as three:
                with pytest.raises(WebSocketDisconnect) as refused:
                    three.receive_json()
                assert refused.value.code == 4029
                assert refused.value.reason == "too many sockets for this member"
            tc.cookies.clear()  # anonymous, from the same address
            with tc.websocket_connect("/ws", headers=ORIGIN) as anon:
                anon.send_json({"op": "ping"})
                assert anon.receive_json() == {"op": "pong"}
                with tc.websocket_connect("/ws", headers=ORIGIN) as fourth:
                    with pytest.raises(WebSocketDisconnect) as refused:
                        fourth.receive_json()
                    assert refused.value.code == 4029
                    assert refused.value.reason == "too many sockets from this address"
        # Closed sockets no longer count.
        with tc.websocket_connect("/ws", headers=ORIGIN) as again:
            again.send_json({"op": "ping"})
            assert again.receive_json() == {"op": "pong"}


def test_replays_are_rate_limited_per_socket(settings: Settings, world: dict[str, Any]) -> None:
    with live_client(
        settings, ws_replay_burst=10, ws_replay_rate=1.0, new_member_post_rate="60/minute"
    ) as tc:
        csrf = login(tc, "amara")
        tid = start_thread(tc, csrf)
        for i in range(4):
            reply(tc, csrf, tid, f"reply {i}")  # seq 2..5
        topic = f"thread:{tid}"
        with tc.websocket_connect("/ws", headers=ORIGIN) as ws:
            for _ in range(2):  # 8 events of a bucket of 10
                ws.send_json({"op": "subscribe", "topic": topic, "after": 1})
                assert ws.receive_json()["op"] == "subscribed"
                assert [ws.receive_json()["seq"] for _ in range(4)] == [2, 3, 4, 5]
                ws.send_json({"op": "unsubscribe", "topic": topic})
                assert ws.receive_json()["op"] == "unsubscribed"
            ws.send_json({"op": "subscribe", "topic": topic, "after": 1})
            limited = ws.receive_json()
            assert (limited["op"], limited["code"], limited["topic"]) == (
                "error",
                "replay_limited",
                topic,
            )
            # Following from now replays nothing and is never limited; the socket lives on.
            ws.send_json({"op": "subscribe", "topic": topic})
            assert ws.receive_json() == {"op": "subscribed", "topic": topic, "seq": 5}
            reply(tc, csrf, tid, "live")
            assert ws.receive_json()["seq"] == 6


# ---- the overlap window ----------------------------------------------------------------------


async def test_an_access_event_that_commits_after_a_later_one_is_still_applied(
    app: Any,
) -> None:
    """PostgreSQL hands out ids before commit: an event with a lower id can appear after the
    hub has read past it. The pass re-reads a window, and applies each event once."""
    from datetime import UTC, datetime

    from forum.models import Event
    from forum.policy import Actor
    from forum.realtime import hub as hub_module

    reloads: list[int] = []

    async def load_actor(client: hub_module.Client) -> Actor | None:
        reloads.append(client.actor.member_id or 0)
        return client.actor

    async def send(message: dict[str, Any]) -> None:
        return None

    async def close(code: int, reason: str) -> None:
        return None

    hub = hub_module.Hub(render_post=lambda post: "", load_actor=load_actor)
    await hub.start()
    try:
        hub.add(hub_module.Client(Actor(member_id=7, role="member", status="active"), send, close))

        async def event(ident: int, seq: int) -> None:
            await Event.create(
                id=ident,
                topic="member:7",
                seq=seq,
                kind="access.changed",
                payload={"change": "role"},
                created_at=datetime.now(UTC),
            )

        await event(1010, 2)  # committed first
        await hub.catch_up()
        assert reloads == [7]
        await event(1005, 1)  # an earlier id, committed later
        await hub.catch_up()
        assert reloads == [7, 7]
        await hub.catch_up()  # nothing new: nothing applied twice
        assert reloads == [7, 7]
    finally:
        await hub.stop()


def test_socket_bounds_come_from_the_environment_and_bad_values_are_refused() -> None:
    from forum.settings import SettingsError

    settings = Settings.from_env(
        {"FORUM_WS_PER_MEMBER": "5", "FORUM_WS_PER_ADDRESS": "9", "FORUM_WS_RECHECK_SECONDS": "2.5"}
    )
    assert (settings.ws_per_member, settings.ws_per_address) == (5, 9)
    assert settings.ws_recheck_seconds == 2.5
    assert Settings.from_env({}).ws_per_member == 20
    for name, value in (
        ("FORUM_WS_PER_MEMBER", "0"),
        ("FORUM_WS_PER_ADDRESS", "many"),
        ("FORUM_WS_REPLAY_RATE", "nan"),
        ("FORUM_WS_RECHECK_SECONDS", "-1"),
    ):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})
