"""`forum mail-in` as a process of its own: its replies reach app processes' sockets through
Redis (PostgreSQL shared, a Redis of the test's own), and it stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import asyncpg
import pytest

from forum.mail.reply_tokens import reply_address
from forum.settings import Settings
from tests.conftest import free_port
from tests.servers import RedisProcess, wait_for_port
from tests.test_ws_processes import Socket, running_cluster, sign_in

SECRET = "a secret shared by every process"


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_reply_received_by_forum_mail_in_reaches_another_process_live(
    postgres_url: str, private_redis: RedisProcess, tmp_path: Path
) -> None:
    with running_cluster(postgres_url, private_redis, tmp_path, FORUM_SECRET_KEY=SECRET) as (a, b):
        dsn = postgres_url.replace("postgres://", "postgresql://", 1)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                "UPDATE member SET email = 'bo@example.org', email_confirmed_at = now() "
                "WHERE handle_key = 'bo'"
            )
            bo_id = await conn.fetchval("SELECT id FROM member WHERE handle_key = 'bo'")
        finally:
            await conn.close()
        amara, amara_csrf = await sign_in(a.url, "amara")
        made = await amara.post(
            "/c/general/threads", data={"title": "Across", "body": "first", "csrf": amara_csrf}
        )
        thread_id = int(made.headers["location"].rsplit("/", 1)[1])
        conn = await asyncpg.connect(dsn)
        try:
            post_id = await conn.fetchval("SELECT id FROM post WHERE thread_id = $1", thread_id)
        finally:
            await conn.close()

        port = free_port()
        env = {
            **os.environ,
            "FORUM_DATABASE_URL": postgres_url,
            "FORUM_REDIS_URL": private_redis.url,
            "FORUM_SECRET_KEY": SECRET,
            "FORUM_EMAIL_URL": f"file://{tmp_path / 'mail'}",
        }
        with open(tmp_path / "mail-in.log", "wb") as log:
            mail_in = subprocess.Popen(
                [sys.executable, "-m", "forum", "mail-in", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port(port, 30)
            cookie = amara.cookies["forum_session"]
            async with Socket(b.url, cookie) as sock:
                await sock.send({"op": "subscribe", "topic": f"thread:{thread_id}", "after": 1})
                message = EmailMessage()
                message["From"] = "bo@example.org"
                message["To"] = reply_address(Settings(secret_key=SECRET), post_id, bo_id)
                message["Subject"] = "Re: Across"
                message["Message-ID"] = make_msgid(domain="example.org")
                message.set_content(
                    "Heard, and agreed.\n\nOn Wed, Dec 2, 2026, forum wrote:\n> first\n"
                )

                def send() -> None:
                    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                        client.send_message(message)

                await asyncio.to_thread(send)
                event = await sock.event(timeout=20)
                assert event["kind"] == "post.created"
                assert "Heard, and agreed." in event["html"] and "first" not in event["html"]
        finally:
            mail_in.terminate()
            code = mail_in.wait(15)
            await amara.aclose()
        assert code == 0, (tmp_path / "mail-in.log").read_text()


def test_forum_mail_in_needs_the_shared_secret_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FORUM_SECRET_KEY"}
    env["FORUM_DATABASE_URL"] = f"sqlite://{tmp_path / 'forum.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "-m", "forum", "mail-in", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "FORUM_SECRET_KEY" in done.stderr
