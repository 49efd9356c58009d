"""The outbox measure for scripts/bench: 10,000 messages delivered to a local SMTP sink.

Three processes, so none steals the others' interpreter: an aiosmtpd sink that counts what it
receives (by Message-ID), a deliverer (`forum.mail.outbox.Deliverer` with the app's defaults:
batches of 50, 8 sends at once) over a fresh migrated database, and the bench itself. The
deliverer first writes the 10,000 rows with `enqueue` (timed apart), then drains the outbox;
the figure is the time from the first claim to the last row marked sent, and every Message-ID
must arrive exactly once. Run with SMTP connections kept open between messages (what the app
does), then, for comparison of the rate, 2,000 messages with a connection per message.

    python scripts/bench_outbox.py sink PORT            (prints "ready", then counts)
    python scripts/bench_outbox.py deliver DB SMTP MODE N  (prints one JSON line)
"""

from __future__ import annotations

import asyncio
import collections
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MESSAGES = 10_000
COMPARISON = 2_000
GOAL_SECONDS = 60.0


# ---- the sink process ----------------------------------------------------------------------


class Counter:
    def __init__(self) -> None:
        self.ids: collections.Counter[str] = collections.Counter()
        self.sessions = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # The header only: parsing every body would measure the sink, not the outbox.
        head = bytes(envelope.original_content).split(b"\r\n\r\n", 1)[0]
        for line in head.replace(b"\r\n ", b" ").split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                self.ids[line.split(b":", 1)[1].strip().decode()] += 1
        return "250 OK"


def run_sink(port: int) -> None:
    from aiosmtpd.controller import Controller

    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    done = False

    def stop(*_: Any) -> None:
        nonlocal done
        done = True

    signal.signal(signal.SIGTERM, stop)
    while not done:
        time.sleep(0.05)
    controller.stop()
    doubled = sum(1 for n in counter.ids.values() if n > 1)
    summary = {"received": len(counter.ids), "doubled": doubled, "sessions": counter.sessions}
    print(json.dumps(summary), flush=True)


# ---- the deliverer process -----------------------------------------------------------------


async def run_deliverer(database_url: str, smtp_url: str, mode: str, count: int) -> None:
    from tortoise import Tortoise
    from tortoise.transactions import in_transaction

    from forum.db import apply_migrations, tortoise_config
    from forum.mail.outbox import Deliverer, backlog, enqueue
    from forum.mail.transport import SmtpTransport

    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        t0 = time.perf_counter()
        async with in_transaction() as conn:
            for n in range(count):
                await enqueue(
                    conn,
                    kind="bench",
                    to=f"member{n}@example.org",
                    subject=f"New reply in a thread you follow ({n})",
                    text="Someone answered you.\n\n" + "A line of the reply's text.\n" * 20,
                    html="<p>Someone answered you.</p>" + "<p>A line of the reply.</p>" * 20,
                    headers={"List-Unsubscribe": "<https://forum.test/u/token>"},
                    domain="forum.test",
                )
        enqueued = time.perf_counter() - t0
        transport = SmtpTransport(smtp_url, local_hostname="bench.test", reuse=mode == "reuse")
        deliverer = Deliverer(transport, "forum@forum.test", "The forum")
        t1 = time.perf_counter()
        handled = await deliverer.drain()
        seconds = time.perf_counter() - t1
        left = await backlog()
        print(
            json.dumps(
                {
                    "mode": mode,
                    "handled": handled,
                    "seconds": seconds,
                    "enqueue_seconds": enqueued,
                    "backlog": left,
                }
            ),
            flush=True,
        )
    finally:
        await Tortoise.close_connections()


# ---- driven from scripts/bench -------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _one_run(database_url: str, mode: str, count: int) -> dict[str, Any]:
    port = _free_port()
    sink = subprocess.Popen(
        [sys.executable, str(HERE / "bench_outbox.py"), "sink", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        out = subprocess.run(
            [
                sys.executable,
                str(HERE / "bench_outbox.py"),
                "deliver",
                database_url,
                f"smtp://127.0.0.1:{port}",
                mode,
                str(count),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        sink.send_signal(signal.SIGTERM)
        sink_out, _ = sink.communicate(timeout=30)
    result["sink"] = json.loads(sink_out.strip().splitlines()[-1])
    return result


def drive(workdir: Path, note: Callable[[str], None], count: int = MESSAGES) -> dict[str, Any]:
    """Both modes, each over a fresh SQLite database; the bench's result fields."""
    runs = {}
    sizes = {"reuse": count, "per-message": min(count, COMPARISON)}
    for mode, n in sizes.items():
        note(f"outbox: {n:,} messages, SMTP connection {mode}")
        runs[mode] = _one_run(f"sqlite://{workdir / f'outbox-{mode}.sqlite3'}", mode, n)
        r = runs[mode]
        note(
            f"outbox {mode}: {r['seconds']:.1f}s, {n / r['seconds']:.0f} msg/s, "
            f"{r['sink']['sessions']} connections (enqueue {r['enqueue_seconds']:.1f}s)"
        )
    main = runs["reuse"]
    ok = (
        main["seconds"] < GOAL_SECONDS
        and main["backlog"]["sent"] == count
        and all(
            r["sink"]["received"] == sizes[mode] and r["sink"]["doubled"] == 0
            for mode, r in runs.items()
        )
    )
    other = runs["per-message"]
    return {
        "ok": ok,
        "value": f"{main['seconds']:.1f} s ({count / main['seconds']:.0f} msg/s)",
        "how": (
            f"{count:,} messages over {main['sink']['sessions']} kept connections; "
            f"a connection per message: {sizes['per-message'] / other['seconds']:.0f} msg/s "
            f"({sizes['per-message']:,} in {other['seconds']:.1f} s); each Message-ID received once"
        ),
        "data": runs,
    }


if __name__ == "__main__":
    if sys.argv[1] == "sink":
        run_sink(int(sys.argv[2]))
    elif sys.argv[1] == "deliver":
        asyncio.run(run_deliverer(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])))
    else:
        raise SystemExit(__doc__)
