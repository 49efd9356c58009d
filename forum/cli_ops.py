"""`forum` commands for operators: doctor, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from forum.settings import Settings


def _error(message: str) -> Exception:
    from forum.cli import CommandError

    return CommandError(message)


def cmd_doctor(settings: Settings, args: argparse.Namespace) -> None:
    from forum import doctor

    found = asyncio.run(doctor.diagnose(settings))
    print(doctor.report(found))
    if any(f.level == "fail" for f in found):
        raise SystemExit(1)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> None:
    from forum import backup

    try:
        manifest = backup.backup(
            settings, Path(args.dir), Path(args.key_out) if args.key_out else None
        )
    except backup.BackupError as exc:
        raise _error(str(exc)) from None
    print(
        f"Backed up the {manifest['database']} database to {args.dir} ({manifest['bytes']} bytes)."
    )
    key = backup.report_key_file(settings)
    if args.key_out:
        print(f"Report key written to {args.key_out}: store it apart from the backups.")
    elif key is not None and key.exists():
        print(
            f"The report key ({key}) is not in the backup: keep a copy apart "
            "(forum backup ... --key-out PATH); without it the reports cannot be read."
        )


def cmd_restore(settings: Settings, args: argparse.Namespace) -> None:
    from forum import backup

    try:
        key_in = Path(args.key_in) if args.key_in else None
        done = backup.restore(settings, Path(args.dir), key_in)
    except backup.BackupError as exc:
        raise _error(str(exc)) from None
    print(done)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "doctor", help="check the configuration before going live, and say what to fix"
    )
    p.set_defaults(run=cmd_doctor)

    p = sub.add_parser("backup", help="copy the database into a new directory (online)")
    p.add_argument("dir", help="a new or empty directory")
    p.add_argument(
        "--key-out",
        metavar="PATH",
        help="also write the reports' key file to PATH (outside DIR; keep it apart)",
    )
    p.set_defaults(run=cmd_backup)

    p = sub.add_parser("restore", help="restore a backup into an empty database, then migrate")
    p.add_argument("dir", help="a directory written by forum backup")
    p.add_argument("--key-in", metavar="PATH", help="the reports' key file saved with --key-out")
    p.set_defaults(run=cmd_restore)
