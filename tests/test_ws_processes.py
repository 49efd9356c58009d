"""Two real app processes (uvicorn) sharing PostgreSQL and a Redis of the test's own: events
cross processes, a restarted process catches a client up exactly, and a Redis restart loses
nothing. The client is the `websockets` library, as a browser's socket would be."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
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


@pytest.fixture
def cluster(postgres_url: str, private_redis: RedisProcess, tmp_path: Path) -> Any:
    env = {"FORUM_DATABASE_URL": postgres_url, "FORUM_REDIS_URL": private_redis.url}
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
