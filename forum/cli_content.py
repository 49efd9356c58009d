"""`forum` commands for content: channels, statements and the demo data."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from forum.services.demo import DEMO_PASSWORD
from forum.settings import Settings


def cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    from forum.cli import _with_db
    from forum.services import demo

    async def work(services: Any) -> None:
        created = await demo.load(services)
        if created:
            print("Demo content loaded.")
        print(f"Demo sign-in: handle 'admin' (or 'amara', 'bo'), password '{DEMO_PASSWORD}'")

    asyncio.run(_with_db(settings, work))


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="load demo members and content (safe to run twice)")
    p.set_defaults(run=cmd_demo)
