"""Two real app processes (uvicorn) sharing PostgreSQL and a Redis of the test's own: events
cross processes, a restarted process catches a client up exactly, and a Redis restart loses
nothing. The client is the `websockets` library, as a browser's socket would be."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import PASSWORD, free_port
from tests.servers import AppProcess, RedisProcess

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def forum_cli(env: dict[str, str], *args: str, stdin: str = "") -> None:
    subprocess.run(
        [sys.executable, "-m", "forum", *args],
        env={**os.environ, **env},
        input=stdin.encode(),
        check=True,
        capture_output=True,
        timeout=60,
    )


async def sign_in(base: str, handle: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(base_url=base, timeout=10)
    page = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]*)"', page.text).group(1)  # type: ignore[union-attr]
    response = await client.post(
        "/login", data={"handle": handle, "password": PASSWORD, "csrf": token}
    )
    assert response.status_code == 303, response.text
    csrf = re.search(r'data-csrf="([^"]*)"', (await client.get("/account")).text)
    return client, csrf.group(1)  # type: ignore[union-attr]


async def post_reply(client: httpx.AsyncClient, csrf: str, thread_id: int, body: str) -> int:
    response = await client.post(
        f"/t/{thread_id}/posts",
        data={"body": body, "csrf": csrf},
        headers={"origin": str(client.base_url).rstrip("/")},
    )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


class Socket:
    def __init__(self, base: str, cookie: str) -> None:
        self.base = base
        self.cookie = cookie
        self.ws: Any = None

    async def __aenter__(self) -> Socket:
        self.ws = await websockets.connect(
            self.base.replace("http", "ws") + "/ws",
            origin=self.base,  # type: ignore[arg-type]
            additional_headers={"cookie": f"forum_session={self.cookie}"},
            open_timeout=10,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def event(self, timeout: float = 15) -> dict[str, Any]:
        """The next event frame (skipping pings and acknowledgements)."""
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if "kind" in frame or frame.get("op") in ("reset", "revoked", "error"):
                return frame  # type: ignore[no-any-return]


@contextlib.contextmanager
def running_cluster(
    postgres_url: str, redis: RedisProcess, tmp_path: Path, **settings: str
) -> Iterator[list[AppProcess]]:
    """Two app processes on one PostgreSQL database and `redis`, with members amara and bo."""
    env = {"FORUM_DATABASE_URL": postgres_url, "FORUM_REDIS_URL": redis.url, **settings}
    forum_cli(env, "migrate")
    for handle in ("amara", "bo"):
        forum_cli(env, "create-member", handle, "--password-stdin", stdin=PASSWORD + "\n")
    forum_cli(env, "create-channel", "General", "--slug", "general")
    apps = [AppProcess(free_port(), env, tmp_path / f"app{i}.log") for i in range(2)]
    for app in apps:
        app.start()
    try:
        yield apps
    finally:
        for app in apps:
            app.stop()


@pytest.fixture
def cluster(postgres_url: str, private_redis: RedisProcess, tmp_path: Path) -> Any:
    with running_cluster(postgres_url, private_redis, tmp_path) as apps:
        yield apps


async def test_posts_cross_processes_and_restarts_lose_nothing(
    cluster: list[AppProcess], private_redis: RedisProcess
) -> None:
    a, b = cluster
    amara, amara_csrf = await sign_in(a.url, "amara")
    bo, _ = await sign_in(b.url, "bo")
    made = await amara.post(
        "/c/general/threads", data={"title": "Across", "body": "first", "csrf": amara_csrf}
    )
    thread_id = int(made.headers["location"].rsplit("/", 1)[1])
    topic = f"thread:{thread_id}"
    cookie = bo.cookies["forum_session"]
    try:
        # 1. A post made on process A reaches a socket on process B.
        async with Socket(b.url, cookie) as sock:
            await sock.send({"op": "subscribe", "topic": topic, "after": 1})
            first = await post_reply(amara, amara_csrf, thread_id, "hello from A")
            event = await sock.event()
            assert (event["kind"], event["seq"]) == ("post.created", 2)
            assert event["data"]["post_id"] == first and "hello from A" in event["html"]
        # 2. Kill B, post on A, restart B: the client catches up with exactly what it missed.
        b.kill()
        missed = [
            await post_reply(amara, amara_csrf, thread_id, f"while B was down {i}")
            for i in range(3)
        ]
        b.start()
        async with Socket(b.url, cookie) as sock:
            await sock.send({"op": "subscribe", "topic": topic, "after": 2})
            got = [await sock.event() for _ in range(3)]
            assert [e["seq"] for e in got] == [3, 4, 5]
            assert [e["data"]["post_id"] for e in got] == missed
            # 3. Restart Redis while B's socket is open: nothing is missed, live resumes.
            private_redis.kill()
            during = await post_reply(amara, amara_csrf, thread_id, "while Redis was down")
            private_redis.start()
            after_event = await sock.event(timeout=20)
            assert (after_event["seq"], after_event["data"]["post_id"]) == (6, during)
            live = await post_reply(amara, amara_csrf, thread_id, "after Redis came back")
            event = await sock.event(timeout=20)
            assert (event["seq"], event["data"]["post_id"]) == (7, live)
    finally:
        await amara.aclose()
        await bo.aclose()


async def test_reactions_cross_processes_and_a_redis_restart(
    cluster: list[AppProcess], private_redis: RedisProcess
) -> None:
    """Counts change on another process's page live, and a reaction made while Redis is down
    still reaches the open socket once it is back, in order."""
    a, b = cluster
    amara, amara_csrf = await sign_in(a.url, "amara")
    bo, _ = await sign_in(b.url, "bo")
    made = await amara.post(
        "/c/general/threads", data={"title": "Counts", "body": "first", "csrf": amara_csrf}
    )
    thread_id = int(made.headers["location"].rsplit("/", 1)[1])
    post_id = await post_reply(amara, amara_csrf, thread_id, "React to this")
    origin = {"origin": a.url}

    async def react(kind: str) -> None:
        done = await amara.post(
            f"/p/{post_id}/react", data={"kind": kind, "csrf": amara_csrf}, headers=origin
        )
        assert done.status_code == 303, done.text

    try:
        async with Socket(b.url, bo.cookies["forum_session"]) as sock:
            await sock.send({"op": "subscribe", "topic": f"thread:{thread_id}", "after": 2})
            await react("agree")
            event = await sock.event()
            assert event["kind"] == "post.reactions" and event["seq"] == 3
            assert event["data"]["post_id"] == post_id
            assert event["data"]["counts"] == {"agree": 1}
            private_redis.kill()
            await react("solidarity")
            private_redis.start()
            event = await sock.event(timeout=20)
            assert event["seq"] == 4
            assert event["data"]["counts"] == {"agree": 1, "solidarity": 1}
            await react("agree")  # taken back
            event = await sock.event(timeout=20)
            assert (event["seq"], event["data"]["counts"]) == (5, {"solidarity": 1})
        # Bo's page, from the other process, says the same.
        page = (await bo.get(f"/t/{thread_id}")).text
        assert 'data-counts="solidarity:1"' in page
    finally:
        await amara.aclose()
        await bo.aclose()


async def caucus_with_bo(amara: httpx.AsyncClient, amara_csrf: str, bo_url: str) -> tuple[str, int]:
    """amara convenes a caucus that bo joins, with a thread in its channel: (slug, thread id)."""
    made = await amara.post(
        "/caucuses",
        data={"name": "Renters", "listed": "0", "join_policy": "invite", "csrf": amara_csrf},
    )
    slug = made.headers["location"].rsplit("/", 1)[1]
    invited = await amara.post(
        f"/caucuses/{slug}/invite", data={"handle": "bo", "csrf": amara_csrf}
    )
    assert invited.status_code == 303, invited.text
    bo, bo_csrf = await sign_in(bo_url, "bo")
    try:
        accepted = await bo.post(f"/caucuses/{slug}/accept", data={"csrf": bo_csrf})
        assert accepted.status_code == 303, accepted.text
    finally:
        await bo.aclose()
    started = await amara.post(
        f"/c/{slug}-talk/threads", data={"title": "Rent", "body": "first", "csrf": amara_csrf}
    )
    assert started.status_code == 303, started.text
    return slug, int(started.headers["location"].rsplit("/", 1)[1])


async def assert_nothing_more(sock: Socket, seconds: float = 3.0) -> None:
    with contextlib.suppress(TimeoutError):
        frame = await sock.event(timeout=seconds)
        raise AssertionError(f"a removed member's socket got {frame}")


@pytest.mark.parametrize("leaves", [True, False], ids=["leaves", "is removed"])
async def test_an_access_change_during_a_redis_outage_reaches_the_socket_after_it(
    postgres_url: str, private_redis: RedisProcess, tmp_path: Path, leaves: bool
) -> None:
    # No periodic pass during the test: the broker's reconnection alone must narrow the socket.
    with running_cluster(
        postgres_url, private_redis, tmp_path, FORUM_WS_RECHECK_SECONDS="3600"
    ) as (a, b):
        amara, amara_csrf = await sign_in(a.url, "amara")
        bo, bo_csrf = await sign_in(a.url, "bo")  # bo acts over HTTP on A; the socket is on B
        try:
            slug, thread_id = await caucus_with_bo(amara, amara_csrf, a.url)
            topic = f"thread:{thread_id}"
            async with Socket(b.url, bo.cookies["forum_session"]) as sock:
                await sock.send({"op": "subscribe", "topic": topic})
                await post_reply(amara, amara_csrf, thread_id, "before the outage")
                assert (await sock.event())["kind"] == "post.created"
                private_redis.kill()
                if leaves:
                    gone = await bo.post(f"/caucuses/{slug}/leave", data={"csrf": bo_csrf})
                else:
                    gone = await amara.post(
                        f"/caucuses/{slug}/members/bo/remove", data={"csrf": amara_csrf}
                    )
                assert gone.status_code == 303, gone.text
                assert (await bo.get(f"/t/{thread_id}")).status_code == 404
                private_redis.start()
                await post_reply(amara, amara_csrf, thread_id, "after the outage: secret")
                frame = await sock.event(timeout=20)
                assert frame == {"op": "revoked", "topic": topic}, frame
                await assert_nothing_more(sock)
        finally:
            await amara.aclose()
            await bo.aclose()


async def test_while_redis_is_down_the_periodic_pass_narrows_sockets(
    postgres_url: str, private_redis: RedisProcess, tmp_path: Path
) -> None:
    with running_cluster(postgres_url, private_redis, tmp_path, FORUM_WS_RECHECK_SECONDS="0.5") as (
        a,
        b,
    ):
        amara, amara_csrf = await sign_in(a.url, "amara")
        bo, _ = await sign_in(a.url, "bo")
        try:
            slug, thread_id = await caucus_with_bo(amara, amara_csrf, a.url)
            topic = f"thread:{thread_id}"
            async with Socket(b.url, bo.cookies["forum_session"]) as sock:
                await sock.send({"op": "subscribe", "topic": topic})
                await post_reply(amara, amara_csrf, thread_id, "before the outage")
                assert (await sock.event())["kind"] == "post.created"
                private_redis.kill()
                gone = await amara.post(
                    f"/caucuses/{slug}/members/bo/remove", data={"csrf": amara_csrf}
                )
                assert gone.status_code == 303, gone.text
                frame = await sock.event(timeout=10)  # Redis is still down
                assert frame == {"op": "revoked", "topic": topic}, frame
        finally:
            await amara.aclose()
            await bo.aclose()
