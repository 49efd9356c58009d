"""One per app process: runs the notification email passes (forum.services.mail_notices) every
few seconds, and wakes the deliverer when a pass wrote mail."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from forum.services import mail_notices
from forum.settings import Settings

log = logging.getLogger("forum.mail")


@dataclass
class Notifier:
    settings: Settings
    wake_mail: Callable[[], None]

    def __post_init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="forum-mail-notifier")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> int:
        """One batch pass and one digest pass; the number of emails written."""
        written = await mail_notices.mail_batches(self.settings)
        written += await mail_notices.mail_digests(self.settings)
        if written:
            self.wake_mail()
        return written

    async def _run(self) -> None:
        while True:
            # Wait first: start-up is busy enough, and short-lived processes (tests, CLI)
            # should not leave a query in flight when they stop.
            await asyncio.sleep(self.settings.mail_pass_seconds)
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away for a moment: look again later
                log.exception("a notification email pass failed; it will look again")
