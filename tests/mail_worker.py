"""A deliverer in a process of its own, as each app process runs one:

    python -m tests.mail_worker DATABASE_URL SMTP_URL LEASE_SECONDS [GO_FILE]

It prints "ready", waits for GO_FILE to exist (so that several start sending together), then
sends until no message is queued or claimed, and prints how many rows it handled. Killed, it
leaves its claims behind, as a crashed app process would.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tortoise import Tortoise

from forum.db import tortoise_config
from forum.mail.outbox import Deliverer, backlog
from forum.mail.transport import SmtpTransport


async def main(database_url: str, smtp_url: str, lease: float, go: Path | None) -> None:
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        deliverer = Deliverer(
            SmtpTransport(smtp_url, timeout=600, local_hostname="worker.test"),
            "forum@forum.test",
            lease=lease,
            batch=10,
        )
        print("ready", flush=True)
        while go is not None and not go.exists():
            await asyncio.sleep(0.02)
        handled = 0
        while True:
            n = await deliverer.run_once()
            handled += n
            if n:
                continue
            left = await backlog()
            if left["queued"] + left["sending"] == 0:
                break
            await asyncio.sleep(0.05)  # others' claims, or backoff: look again
        await deliverer.transport.close()
        print(f"handled {handled}", flush=True)
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    asyncio.run(
        main(
            sys.argv[1],
            sys.argv[2],
            float(sys.argv[3]),
            Path(sys.argv[4]) if len(sys.argv) > 4 else None,
        )
    )
