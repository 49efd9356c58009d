"""`forum` commands for confidential reports: the committee roster and verifying the case log."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from forum.settings import Settings


def cmd_committee(settings: Settings, args: argparse.Namespace) -> None:
    from forum.cli import _with_db
    from forum.services import committee

    async def work(services: Any) -> None:
        body = "alternate" if args.alternate else "committee"
        if args.action == "add":
            member = await committee.add(services, None, args.handle, args.reason, body)
            print(f"@{member.handle} now sits on the {body}.")
        else:
            member = await committee.remove(services, None, args.handle, args.reason)
            print(f"@{member.handle} no longer holds a seat.")

    asyncio.run(_with_db(settings, work))


def cmd_verify_reports(settings: Settings, args: argparse.Namespace) -> None:
    from tortoise import connections

    from forum.cli import CommandError, _with_db
    from forum.services import reports_log

    async def work(services: Any) -> tuple[int, list[reports_log.Problem], str, float]:
        started = time.perf_counter()
        count, problems = await reports_log.verify(connections.get("default"))
        _, head = await reports_log.head(connections.get("default"))
        return count, problems, head, time.perf_counter() - started

    count, problems, head, took = asyncio.run(_with_db(settings, work))
    if problems:
        for problem in problems[:200]:
            print(f"BROKEN {problem}")
        raise CommandError(
            f"{len(problems)} problem(s) in the case log ({count} entries read): see above"
        )
    print(f"The case log verifies: {count} entries, head {head or '(empty)'} ({took:.2f} s).")


def register(sub: Any) -> None:
    p = sub.add_parser("committee", help="seat or unseat a member of the reports committee")
    p.add_argument("action", choices=("add", "remove"))
    p.add_argument("handle")
    p.add_argument("--reason", required=True, help="shown to every member in the log")
    p.add_argument(
        "--alternate",
        action="store_true",
        help="the alternate body (takes reports naming a committee member)",
    )
    p.set_defaults(run=cmd_committee)

    p = sub.add_parser(
        "verify-reports",
        help="recompute the hash chains of the confidential case log; exit 1 naming any break",
    )
    p.set_defaults(run=cmd_verify_reports)
