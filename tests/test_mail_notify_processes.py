"""Two app processes on one PostgreSQL database run the notification email pass at once: each
member's batch is mailed exactly once (the passes claim members with SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tortoise import Tortoise

from forum.db import tortoise_config
from forum.models import Member, Notification
from forum.models.ids import distinct_ids
from tests.conftest import free_port
from tests.mail import SmtpSink
from tests.servers import AppProcess
from tests.test_ws_processes import forum_cli

pytestmark = pytest.mark.postgres

MEMBERS = 150


async def _seed(url: str) -> None:
    """Members with three unread notifications each, all made due in one statement (the
    processes are already running), so both processes' passes meet."""
    await Tortoise.init(config=tortoise_config(url))
    try:
        author = await Member.create(
            handle="author", handle_key="author", display_name="A", password_hash="x"
        )
        past = datetime.now(UTC) - timedelta(minutes=1)
        await Member.bulk_create(
            [
                Member(
                    handle=f"m{n}",
                    handle_key=f"m{n}",
                    display_name=f"M{n}",
                    password_hash="x",
                    email=f"m{n}@example.org",
                    email_confirmed_at=past,
                )
                for n in range(MEMBERS)
            ]
        )
        ids = await Member.filter(handle_key__startswith="m").values_list("id", flat=True)
        kinds = ("mention", "reply", "mention")
        note_ids = iter(distinct_ids(len(ids) * len(kinds)))
        await Notification.bulk_create(
            [
                Notification(
                    id=next(note_ids),
                    member_id=member_id,
                    kind=kind,
                    text="@author wrote to you",
                    url="/",
                    actor_id=author.id,
                    mail_state="seeding",
                )
                for member_id in ids
                for kind in kinds
            ]
        )
        await Notification.filter().update(mail_state="new", created_at=past)
    finally:
        await Tortoise.close_connections()


async def test_two_processes_mail_each_members_batch_once(
    postgres_url: str, sink: SmtpSink, tmp_path: Path
) -> None:
    env = {
        "FORUM_DATABASE_URL": postgres_url,
        "FORUM_EMAIL_URL": sink.url,
        "FORUM_MAIL_BATCH_SECONDS": "1",
        "FORUM_MAIL_PASS_SECONDS": "0.2",
    }
    forum_cli(env, "migrate")
    apps = [AppProcess(free_port(), env, tmp_path / f"app{i}.log") for i in range(2)]
    try:
        for app in apps:
            app.start()
        await _seed(postgres_url)
        sink.wait_for(MEMBERS, timeout=60)
        time.sleep(2)  # several more passes of both processes: nothing more may go out
    finally:
        for app in apps:
            app.stop()
    per_address = Counter(to for _sender, tos, _message in sink.received for to in tos)
    assert len(per_address) == MEMBERS
    assert set(per_address.values()) == {1}, per_address.most_common(3)
    subjects = {message["Subject"] for _s, _t, message in sink.received}
    assert subjects == {"3 new notifications from forum"}


async def test_concurrent_digest_passes_on_postgresql_write_each_digest_once(
    postgres_url: str,
) -> None:
    """Two digest passes at once on separate connections (as two processes would be): the
    claiming SELECT ... FOR UPDATE SKIP LOCKED gives them disjoint members."""
    from forum.db import apply_migrations
    from forum.models import MailSettings, OutboxMessage
    from forum.services import mail_notices
    from forum.settings import Settings

    await apply_migrations(postgres_url)
    await Tortoise.init(config=tortoise_config(postgres_url))
    try:
        past = datetime.now(UTC) - timedelta(hours=1)
        await Member.bulk_create(
            [
                Member(
                    handle=f"d{n}",
                    handle_key=f"d{n}",
                    display_name="D",
                    password_hash="x",
                    email=f"d{n}@example.org",
                    email_confirmed_at=past,
                )
                for n in range(120)
            ]
        )
        ids = await Member.all().values_list("id", flat=True)
        await MailSettings.bulk_create([MailSettings(member_id=i, mention="daily") for i in ids])
        note_ids = iter(distinct_ids(len(ids)))
        await Notification.bulk_create(
            [
                Notification(id=next(note_ids), member_id=i, kind="mention", text="hi", url="/")
                for i in ids
            ]
        )
        settings = Settings(database_url=postgres_url, secret_key="k")
        slot = mail_notices.digest_slot(settings, "daily", datetime.now(UTC) + timedelta(days=1))
        written = await asyncio.gather(
            mail_notices.mail_digests(settings, slot), mail_notices.mail_digests(settings, slot)
        )
        assert sum(written) == 120 and min(written) > 0, written  # both took a share
        per_member = Counter(await OutboxMessage.all().values_list("member_id", flat=True))
        assert len(per_member) == 120 and set(per_member.values()) == {1}
        assert await mail_notices.mail_digests(settings, slot) == 0
    finally:
        await Tortoise.close_connections()
