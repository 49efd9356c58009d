"""Two app processes on one PostgreSQL database run the notification email pass at once: each
member's batch is mailed exactly once (the passes claim members with SKIP LOCKED)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
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


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    try:
        yield server
    finally:
        server.stop()


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
