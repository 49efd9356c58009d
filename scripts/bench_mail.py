"""Notification email measures for scripts/bench (each runnable alone with --only NAME).

mail_post_ratio: posting answers as fast when the members it notifies want mail at once as when
they have mail off: the post only writes notification rows; the batch pass (running in the same
server process meanwhile, with a 1 s window) and the deliverer do the mailing. A post notifies
at most 50 mentioned members (posting.MAX_MENTIONS), so 1,000 notified members are 20 posts of
50 mentions, repeated; the same is done for 1,000 members with mail off, and for posts that
mention nobody, interleaved so noise falls on all three alike. p99 of each, and the ratios.

digest_2k: the daily digest pass for 2,000 members (each with a few notifications, some about a
caucus, and new statements), built in process against the database, timed.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from bench_data import PASSWORD, Dataset, Server, cli, create_pg_database, free_port, sign_in
from bench_load import percentile

SCRIPT = Path(__file__).resolve()
GROUP = 1000
PER_POST = 50
CYCLES = 3


async def _dataset(workdir: Path, postgres: bool, redis_url: str | None) -> Dataset:
    if postgres:
        dataset = Dataset(await create_pg_database(), redis_url, "postgres+redis")
    else:
        dataset = Dataset(f"sqlite://{workdir / 'mail.sqlite3'}", None, "sqlite")
    await asyncio.to_thread(cli, dataset, "migrate")
    await asyncio.to_thread(
        cli, dataset, "create-member", "bench", "--password-stdin", stdin=PASSWORD + "\n"
    )
    await asyncio.to_thread(cli, dataset, "create-channel", "Bench", "--slug", "bench")
    return dataset


async def _members(dataset: Dataset, groups: dict[str, dict[str, str]], n: int) -> None:
    """`n` members per group, each with a confirmed address and the group's preferences."""
    from tortoise import Tortoise

    from forum.db import tortoise_config
    from forum.models import MailSettings, Member

    await Tortoise.init(config=tortoise_config(dataset.database_url))
    try:
        bench = await Member.get(handle_key="bench")
        now = datetime.now(UTC)
        for group in groups:
            await Member.bulk_create(
                [
                    Member(
                        handle=f"{group}{i:04d}",
                        handle_key=f"{group}{i:04d}",
                        display_name=f"{group} {i}",
                        password_hash=bench.password_hash,
                        email=f"{group}{i:04d}@example.org",
                        email_confirmed_at=now,
                    )
                    for i in range(n)
                ],
                batch_size=500,
            )
        for group, prefs in groups.items():
            ids = await Member.filter(handle_key__startswith=group).values_list("id", flat=True)
            await MailSettings.bulk_create(
                [MailSettings(member_id=mid, **prefs) for mid in ids], batch_size=500
            )
    finally:
        await Tortoise.close_connections()


def _server(dataset: Dataset, workdir: Path) -> Server:
    port = free_port()
    env = {
        **dataset.env(),
        "FORUM_BASE_URL": f"http://127.0.0.1:{port}",
        "FORUM_POST_RATE": "100000/minute",
        "FORUM_NEW_MEMBER_POST_RATE": "100000/minute",
        "FORUM_EMAIL_URL": f"file://{workdir / 'mail-out'}",
        "FORUM_MAIL_BATCH_SECONDS": "1",
        "FORUM_MAIL_PASS_SECONDS": "0.5",
    }
    argv = [sys.executable, "-m", "forum", "serve", "--port", str(port)]
    return Server("forum mail", argv, env, port, workdir / f"forum-mail-{port}.log")


async def mail_post_ratio(
    workdir: Path, postgres: bool, redis_url: str | None, note: Callable[[str], None]
) -> dict[str, Any]:
    dataset = await _dataset(workdir, postgres, redis_url)
    await _members(dataset, {"on": {}, "off": {"mention": "never", "reply": "never"}}, GROUP)
    server = _server(dataset, workdir)
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            for _ in range(300):
                try:
                    if (await c.get("/healthz")).is_success:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            login = await sign_in(server.url, "bench")
            headers = {"Cookie": login.cookie, "X-CSRF-Token": login.csrf}
            made = await c.post(
                "/api/v1/channels/bench/threads",
                json={"title": "Mail bench", "body": "start"},
                headers=headers,
            )
            made.raise_for_status()
            thread_id = made.json()["id"]
            times: dict[str, list[float]] = {"on": [], "off": [], "none": []}

            async def post(kind: str, body: str) -> None:
                start = time.perf_counter()
                r = await c.post(
                    f"/api/v1/threads/{thread_id}/posts", json={"body": body}, headers=headers
                )
                times[kind].append(time.perf_counter() - start)
                if not r.is_success:
                    raise RuntimeError(f"posting answered {r.status_code}: {r.text[:300]}")

            for _warm in range(5):
                await post("none", f"warming up {_warm}")
            times["none"].clear()
            for cycle in range(CYCLES):
                note(f"mail_post_ratio: cycle {cycle + 1}/{CYCLES}")
                for k in range(GROUP // PER_POST):
                    for kind in ("on", "off", "none"):
                        if kind == "none":
                            body = f"Nobody is mentioned here ({cycle}.{k})."
                        else:
                            handles = range(k * PER_POST, (k + 1) * PER_POST)
                            body = " ".join(f"@{kind}{i:04d}" for i in handles) + f" ({cycle})"
                        await post(kind, body)
            # The batch pass ran meanwhile; let it and the deliverer finish, and count.
            mailed = 0
            folder = workdir / "mail-out"
            for _ in range(120):
                mailed = len(list(folder.glob("*.eml"))) if folder.exists() else 0
                if mailed >= GROUP:
                    break
                await asyncio.sleep(0.5)
    finally:
        await asyncio.to_thread(server.stop)
    p99 = {kind: percentile(values, 99) for kind, values in times.items()}
    return {
        "p99_ms": {k: round(v * 1000, 1) for k, v in p99.items()},
        "p50_ms": {k: round(percentile(v, 50) * 1000, 1) for k, v in times.items()},
        "on_vs_off": p99["on"] / p99["off"],
        "on_vs_none": p99["on"] / p99["none"],
        "posts_each": len(times["on"]),
        "emails_written": mailed,
        "database": dataset.database_url,
    }


async def digest_2k(
    workdir: Path, postgres: bool, redis_url: str | None, note: Callable[[str], None]
) -> dict[str, Any]:
    dataset = await _dataset(workdir, postgres, redis_url)
    prefs = {"mention": "daily", "reply": "daily", "caucus": "daily", "statement": "daily"}
    await _members(dataset, {"dig": prefs}, 2000)
    note("digest_2k: notifications and statements")
    script = SCRIPT
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(script), "digest", dataset.database_url],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=dataset.env(),
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip()[-2000:])
    seconds, written = done.stdout.split()
    return {"seconds": float(seconds), "digests": int(written), "database": dataset.database_url}


async def _digest_in_process(database_url: str) -> tuple[float, int]:
    """Seed three notifications per member (one about a caucus) and five statements, then time
    one daily digest pass."""
    from tortoise import Tortoise

    from forum.db import tortoise_config
    from forum.models import Caucus, Channel, Member, Notification, Statement, Thread
    from forum.models.ids import distinct_ids
    from forum.services import mail_notices
    from forum.settings import Settings

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        settings = Settings(database_url=database_url, secret_key="bench-secret")
        now = datetime.now(UTC)
        slot = mail_notices.digest_slot(settings, "daily", now + timedelta(days=1))
        channel = await Channel.get(slug="bench")
        author = await Member.get(handle_key="bench")
        caucus = await Caucus.create(name="Bench caucus", name_key="bench caucus", slug="bc")
        for i in range(5):
            statement = await Statement.create(
                title=f"Statement {i}", body="b", html="<p>b</p>", author="Bench"
            )
            await Thread.create(
                channel_id=channel.id,
                title=f"Statement {i}",
                author_id=author.id,
                statement_id=statement.id,
            )
        thread = await Thread.filter(channel_id=channel.id).first()
        assert thread is not None
        ids = await Member.filter(handle_key__startswith="dig").values_list("id", flat=True)
        kinds = [("mention", None), ("reply", None), ("caucus", caucus.id)]
        note_ids = iter(distinct_ids(len(ids) * len(kinds)))
        await Notification.bulk_create(
            [
                Notification(
                    id=next(note_ids),
                    member_id=mid,
                    kind=kind,
                    text=f"@bench wrote ({kind})",
                    url=f"/t/{thread.id}",
                    thread_id=thread.id if caucus_id is None else None,
                    caucus_id=caucus_id,
                    mail_state="held",
                )
                for mid in ids
                for kind, caucus_id in kinds
            ],
            batch_size=1000,
        )
        start = time.perf_counter()
        written = await mail_notices.mail_digests(settings, slot)
        return time.perf_counter() - start, written
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__" and sys.argv[1:2] == ["digest"]:
    took, count = asyncio.run(_digest_in_process(sys.argv[2]))
    print(f"{took:.3f} {count}")
