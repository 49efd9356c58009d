"""`forum` commands for content: channels, statements and the demo data."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from forum.services.demo import DEMO_PASSWORD
from forum.settings import Settings


def _run_rendering(settings: Settings, work: Any) -> None:
    """Run a command that renders text (statements, posts): it renders in the worker pool like
    the app does, time-limited, and the pool stops when the command is done."""
    from forum import renderer
    from forum.cli import _with_db

    renderer.acquire()
    try:
        asyncio.run(_with_db(settings, work))
    finally:
        renderer.release()


def cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    from forum.services import demo

    async def work(services: Any) -> None:
        created = await demo.load(services)
        print("Demo content loaded." if created else "Demo content is already there.")
        print(
            f"Demo sign-in: handle 'admin' (or 'fran', 'amara', 'bo'; committee 'cass', 'dee', "
            f"alternate 'eli'), password '{DEMO_PASSWORD}'"
        )

    _run_rendering(settings, work)


def cmd_create_channel(settings: Settings, args: argparse.Namespace) -> None:
    from forum.cli import _with_db
    from forum.services import channels

    async def work(services: Any) -> None:
        channel = await channels.create_channel(
            None, args.name, args.slug or "", args.description or "", args.public
        )
        print(f"Created channel {channel.name} at /c/{channel.slug}")

    asyncio.run(_with_db(settings, work))


def _files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(
                sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            )
        else:
            out.append(path)
    return out


def cmd_import(settings: Settings, args: argparse.Namespace) -> None:
    """Import each file; a bad file is reported by name and the others still import."""
    from tqdm import tqdm

    from forum.cli import CommandError
    from forum.errors import Invalid
    from forum.importers import ImportProblem, parse_path
    from forum.services import statements

    files = _files(args.paths)
    problems: list[str] = []
    counts = {"created": 0, "amended": 0, "unchanged": 0}

    async def work(services: Any) -> None:
        bar = tqdm(files, unit="file", disable=len(files) < 5 or not sys.stderr.isatty())
        for path in bar:
            try:
                items = parse_path(path, default_author=args.author)
            except ImportProblem as exc:
                problems.append(str(exc))
                continue
            for item in items:
                if not item.external_id and not item.source_url:
                    # A plain file is known by its name: importing it again amends it.
                    item = replace(item, external_id=f"file:{path.stem}")
                if not item.author:
                    problems.append(f"{path.name}: no author found; pass --author")
                    continue
                try:
                    result = await statements.publish(
                        None, item, args.channel, publish_event=None, settings=settings
                    )
                except Invalid as exc:
                    detail = "; ".join(exc.fields.values()) or exc.message
                    problems.append(f"{path.name}: {detail}")
                    continue
                counts[result.outcome] += 1
                bar.write(f"{result.outcome}: {item.title} -> /t/{result.thread.id}")

    _run_rendering(settings, work)
    print(
        f"{counts['created']} created, {counts['amended']} amended, "
        f"{counts['unchanged']} unchanged."
    )
    if problems:
        for line in problems:
            print(f"error: {line}", file=sys.stderr)
        raise CommandError(f"{len(problems)} problem(s); the other files were imported")


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="load demo members and content (safe to run twice)")
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("create-channel", help="create an open channel")
    p.add_argument("name")
    p.add_argument("--slug", help="the address part, e.g. strategy (default: from the name)")
    p.add_argument("--description")
    p.add_argument("--public", action="store_true", help="readable without signing in")
    p.set_defaults(run=cmd_create_channel)

    p = sub.add_parser(
        "import-statements",
        help="import statements from text/markdown, RSS/Atom or WordPress files",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders of files")
    p.add_argument("--channel", default="statements", help="open channel for their threads")
    p.add_argument("--author", help="author when a file does not say (e.g. 'Steering Group')")
    p.set_defaults(run=cmd_import)
