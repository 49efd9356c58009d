"""Survival: steady posting on two app processes while one is killed, Redis restarts and the
process comes back. Every acknowledged post is stored exactly once, and every connected client
ends with every event of its topic, in order. Small and bounded; `scripts/bench` runs longer."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets

from tests.conftest import PASSWORD, free_port
from tests.servers import AppProcess, RedisProcess
from tests.test_ws_processes import forum_cli

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

WRITERS = 3
POSTS_EACH = 12


async def signed_in(base: str, handle: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(base_url=base, timeout=10)
    page = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]*)"', page.text).group(1)  # type: ignore[union-attr]
    await client.post("/login", data={"handle": handle, "password": PASSWORD, "csrf": token})
    csrf = re.search(r'data-csrf="([^"]*)"', (await client.get("/account")).text)
    return client, csrf.group(1)  # type: ignore[union-attr]


class Follower:
    """A websocket client that follows one topic and reconnects from its last sequence number,
    as the browser script does."""

    def __init__(self, apps: list[AppProcess], cookie: str, topic: str) -> None:
        self.apps = apps
        self.cookie = cookie
        self.topic = topic
        self.seqs: list[int] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        turn = 0
        while not self.stop.is_set():
            app = self.apps[turn % len(self.apps)]
            turn += 1
            try:
                async with websockets.connect(
                    app.url.replace("http", "ws") + "/ws",
                    origin=app.url,  # type: ignore[arg-type]
                    additional_headers={"cookie": f"forum_session={self.cookie}"},
                    open_timeout=3,
                ) as ws:
                    after = self.seqs[-1] if self.seqs else 0
                    await ws.send(
                        json.dumps({"op": "subscribe", "topic": self.topic, "after": after})
                    )
                    while not self.stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.5)
                        except TimeoutError:
                            continue
                        frame = json.loads(raw)
                        if frame.get("topic") == self.topic and "seq" in frame and "kind" in frame:
                            self.seqs.append(frame["seq"])
            except (OSError, websockets.exceptions.WebSocketException, TimeoutError):
                await asyncio.sleep(0.2)


async def writer(
    apps: list[AppProcess], handle: str, thread_id: int, acked: set[str], stop_at: float
) -> None:
    """Posts with client keys, retrying a key until some process acknowledges it."""
    loop = asyncio.get_running_loop()
    sessions: dict[str, tuple[httpx.AsyncClient, str]] = {}
    try:
        for i in range(POSTS_EACH):
            key = f"{handle}-{i}-{uuid.uuid4().hex[:6]}"
            attempt = 0
            while loop.time() < stop_at:
                app = apps[(i + attempt) % len(apps)]
                attempt += 1
                try:
                    if app.url not in sessions:
                        sessions[app.url] = await signed_in(app.url, handle)
                    client, csrf = sessions[app.url]
                    response = await client.post(
                        f"/t/{thread_id}/posts",
                        data={"body": f"steady post {key}", "key": key, "csrf": csrf},
                        headers={"origin": app.url},
                    )
                    if response.status_code == 303:
                        acked.add(key)
                        break
                except (httpx.HTTPError, OSError):
                    sessions.pop(app.url, None)
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.15)
    finally:
        for client, _ in sessions.values():
            await client.aclose()


async def test_steady_posting_survives_a_killed_process_and_a_redis_restart(
    postgres_url: str, private_redis: RedisProcess, tmp_path: Path
) -> None:
    env = {"FORUM_DATABASE_URL": postgres_url, "FORUM_REDIS_URL": private_redis.url,
           # Writers here post faster than any person; the posting limits have tests of their own.
           "FORUM_POST_RATE": "600/minute", "FORUM_NEW_MEMBER_POST_RATE": "600/minute"}
    forum_cli(env, "migrate")
    handles = [f"writer{i}" for i in range(WRITERS)] + ["reader"]
    for handle in handles:
        forum_cli(env, "create-member", handle, "--password-stdin", stdin=PASSWORD + "\n")
    forum_cli(env, "create-channel", "General", "--slug", "general")
    apps = [AppProcess(free_port(), env, tmp_path / f"app{i}.log") for i in range(2)]
    for app in apps:
        app.start()
    clients: list[httpx.AsyncClient] = []
    try:
        starter, csrf = await signed_in(apps[0].url, "writer0")
        clients.append(starter)
        made = await starter.post(
            "/c/general/threads", data={"title": "Steady", "body": "opening", "csrf": csrf}
        )
        thread_id = int(made.headers["location"].rsplit("/", 1)[1])
        reader, _ = await signed_in(apps[0].url, "reader")
        clients.append(reader)
        cookie = reader.cookies["forum_session"]
        topic = f"thread:{thread_id}"
        followers = [Follower(apps, cookie, topic), Follower(apps[::-1], cookie, topic)]
        tasks = [asyncio.create_task(f.run()) for f in followers]
        acked: set[str] = set()
        stop_at = asyncio.get_running_loop().time() + 60
        writing = [
            asyncio.create_task(writer(apps, h, thread_id, acked, stop_at))
            for h in handles[:WRITERS]
        ]
        await asyncio.sleep(1.0)
        apps[1].kill()
        await asyncio.sleep(1.0)
        private_redis.kill()
        await asyncio.sleep(0.5)
        private_redis.start()
        apps[1].start()
        await asyncio.wait_for(asyncio.gather(*writing), 90)

        conn = await asyncpg.connect(postgres_url.replace("postgres://", "postgresql://", 1))
        try:
            stored = await conn.fetch(
                "SELECT client_key FROM post WHERE thread_id = $1 AND client_key IS NOT NULL",
                thread_id,
            )
            newest = await conn.fetchval("SELECT event_seq FROM thread WHERE id = $1", thread_id)
        finally:
            await conn.close()
        keys = [r["client_key"] for r in stored]
        assert len(acked) == WRITERS * POSTS_EACH, "some posts were never acknowledged"
        assert sorted(keys) == sorted(acked), "an acknowledged post is missing or doubled"
        # Every follower catches up to the newest event and saw each one once, in order.
        deadline = asyncio.get_running_loop().time() + 30
        while any(not f.seqs or f.seqs[-1] < newest for f in followers):
            assert asyncio.get_running_loop().time() < deadline, [f.seqs[-3:] for f in followers]
            await asyncio.sleep(0.2)
        for follower in followers:
            follower.stop.set()
        await asyncio.gather(*tasks)
        for follower in followers:
            assert follower.seqs == list(range(1, newest + 1)), follower.seqs
    finally:
        for client in clients:
            await client.aclose()
        for app in apps:
            app.stop()
