"""The `forum` command: serve, migrate, and the operator's tasks. Settings come from FORUM_*."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise import Tortoise

from forum.db import apply_migrations, tortoise_config
from forum.errors import DomainError, Invalid
from forum.models.members import ROLES, TOKEN_SCOPES
from forum.security import Hasher, Throttle
from forum.services.context import Services
from forum.settings import Settings, SettingsError


class CommandError(Exception):
    """A clear message for the operator; the command exits with status 1."""


def _services(settings: Settings) -> Services:
    return Services(settings=settings, hasher=Hasher(2), throttle=Throttle(None))


async def _with_db(settings: Settings, work: Callable[[Services], Awaitable[Any]]) -> Any:
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        return await work(_services(settings))
    finally:
        await Tortoise.close_connections()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    from forum.server import serve

    if args.migrate:
        asyncio.run(apply_migrations(settings.database_url))
    print(f"forum is serving on http://{args.host}:{args.port}/", flush=True)
    serve(settings, args.host, args.port, args.workers, args.verbose)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    from forum.services import reports_crypto

    asyncio.run(apply_migrations(settings.database_url))
    print("Migrations applied.")
    made = reports_crypto.ensure_key_file(settings)
    print(
        f"Reports key: {reports_crypto.key_source(settings)}"
        if made or settings.reports_key
        else "Reports key: none (set FORUM_REPORTS_KEY: reports are off until then)"
    )


def cmd_create_member(settings: Settings, args: argparse.Namespace) -> None:
    from forum.services import accounts

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        import getpass

        password = getpass.getpass(f"Password for @{args.handle}: ")

    async def work(services: Services) -> None:
        member = await accounts.create_member(
            services, args.handle, password, args.role, args.display_name or "", args.email or ""
        )
        print(f"Created @{member.handle} ({member.role}).")

    asyncio.run(_with_db(settings, work))


def cmd_invite(settings: Settings, args: argparse.Namespace) -> None:
    from forum.services import accounts

    async def work(services: Services) -> None:
        token = await accounts.create_invite(None, args.role, args.note or "", settings)
        print(f"{settings.base_url}/signup?invite={token}")

    asyncio.run(_with_db(settings, work))


def cmd_create_token(settings: Settings, args: argparse.Namespace) -> None:
    from forum.errors import NotFound
    from forum.services import accounts, tokens

    async def work(services: Services) -> None:
        try:
            member = await accounts.member_by_handle(args.handle)
        except NotFound:
            raise CommandError(f"no member with the handle @{args.handle}") from None
        token = await tokens.create_api_token(
            member, args.name or "", scopes=args.scope or ["read"], expires_days=args.expires_days
        )
        print(token)

    asyncio.run(_with_db(settings, work))


def cmd_mail_in(settings: Settings, args: argparse.Namespace) -> None:
    from forum.mail.listener import serve

    if settings.secret_key_generated:
        raise CommandError(
            "set FORUM_SECRET_KEY (the same as the app's): reply addresses are signed with it"
        )
    asyncio.run(serve(settings, args.host, args.port, args.lmtp or settings.mail_in_lmtp))


def cmd_mail_test(settings: Settings, args: argparse.Namespace) -> None:
    from forum.mail.check import send_test

    async def work(_services: Services) -> Any:
        try:
            return await send_test(settings, args.address)
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    result = asyncio.run(_with_db(settings, work))
    if not result.ok:
        raise CommandError(f"not sent through {result.transport}: {result.error}")
    print(f"sent to {args.address} through {result.transport}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forum",
        description="A member discussion forum. Settings come from FORUM_* environment variables "
        "(FORUM_DATABASE_URL, FORUM_REDIS_URL, FORUM_SECRET_KEY, FORUM_BASE_URL, FORUM_SIGNUP; "
        "for serve also FORUM_TRUSTED_PROXIES, FORUM_HEADER_TIMEOUT, FORUM_BODY_TIMEOUT, "
        "FORUM_MAX_CONNECTIONS).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="run the web server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="app processes (share events via Redis)")
    p.add_argument("--migrate", action="store_true", help="apply migrations first")
    p.add_argument("--verbose", action="store_true", help="also log uvicorn's own notices")
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("migrate", help="apply the database migrations")
    p.set_defaults(run=cmd_migrate)

    p = sub.add_parser("create-member", help="create an active member")
    p.add_argument("handle")
    p.add_argument("--role", choices=ROLES, default="member")
    p.add_argument("--display-name")
    p.add_argument(
        "--email",
        help="the member's email address (password resets go to it; a link asks them to "
        "confirm it before notifications do)",
    )
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(run=cmd_create_member)

    p = sub.add_parser("invite", help="print a sign-up link (valid 14 days, usable once)")
    p.add_argument("--role", choices=ROLES, default="member")
    p.add_argument("--note", help="who the invite is for (shown to admins)")
    p.set_defaults(run=cmd_invite)

    p = sub.add_parser("create-token", help="print a personal API token for a member")
    p.add_argument("handle")
    p.add_argument("--name", "--label", help="what the token is for (shown on the account page)")
    p.add_argument(
        "--scope",
        action="append",
        choices=TOKEN_SCOPES,
        help="read (the default), write (change things), admin (use the member's site role); "
        "repeat for more than one",
    )
    p.add_argument("--expires-days", type=int, help="the token stops working after this many days")
    p.set_defaults(run=cmd_create_token)

    p = sub.add_parser(
        "mail-in",
        help="receive replies by email (SMTP, or LMTP from a mail server such as Postfix)",
        description="Listen for mail to reply+TOKEN@ addresses and post each reply as its "
        "member. Replies reach open pages live through FORUM_REDIS_URL; without Redis, set "
        "FORUM_MAIL_IN=host:port to listen inside the app process instead. Messages larger "
        "than FORUM_MAIL_IN_MAX_BYTES are refused.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2525)
    p.add_argument("--lmtp", action="store_true", help="speak LMTP (also FORUM_MAIL_IN_LMTP=1)")
    p.set_defaults(run=cmd_mail_in)

    p = sub.add_parser(
        "mail-test",
        help="send a test message through FORUM_EMAIL_URL now and say what happened",
    )
    p.add_argument("address", help="where to send it")
    p.set_defaults(run=cmd_mail_test)

    _more_commands(sub)
    return parser


def _more_commands(sub: Any) -> None:
    """Content commands (channels, statements, demo), the operator's (doctor, backup, restore)
    and the reports' (committee, verify-reports), kept apart from account ones."""
    from forum import cli_content, cli_ops, cli_reports

    cli_content.register(sub)
    cli_ops.register(sub)
    cli_reports.register(sub)


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        args.run(settings, args)
    except (CommandError, SettingsError) as exc:
        print(f"forum {args.command}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except Invalid as exc:
        detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message
        print(f"forum {args.command}: {detail}", file=sys.stderr)
        raise SystemExit(1) from None
    except DomainError as exc:
        print(f"forum {args.command}: {exc.message}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
