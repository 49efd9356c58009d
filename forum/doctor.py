"""`forum doctor`: check a configuration before it goes live, and say what to fix.

Each check is a function in CHECKS taking the settings and returning findings; a finding is
ok, a warning (works, but not as a production forum should), or a failure (fix before going
live). More checks plug in by appending to CHECKS (the email transport and the report key do).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from forum.settings import Settings

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    level: Level
    topic: str
    text: str
    fix: str = ""


Check = Callable[[Settings], Awaitable[list[Finding]]]


def ok(topic: str, text: str) -> Finding:
    return Finding("ok", topic, text)


def warn(topic: str, text: str, fix: str) -> Finding:
    return Finding("warn", topic, text, fix)


def fail(topic: str, text: str, fix: str) -> Finding:
    return Finding("fail", topic, text, fix)


async def check_base_url(settings: Settings) -> list[Finding]:
    url = urlsplit(settings.base_url)
    topic = "base URL"
    if settings.base_url == Settings.base_url:
        return [
            fail(
                topic,
                "FORUM_BASE_URL is not set (the default only suits a laptop)",
                "set FORUM_BASE_URL to the public address, e.g. https://forum.example.org",
            )
        ]
    if url.scheme not in ("http", "https") or not url.hostname:
        return [
            fail(topic, f"{settings.base_url!r} is not an http(s) address", "fix FORUM_BASE_URL")
        ]
    if url.path not in ("", "/") or url.query:
        return [
            fail(
                topic,
                "FORUM_BASE_URL has a path: the forum must be served at the root of its host",
                "give the forum a host of its own, e.g. https://forum.example.org",
            )
        ]
    if url.scheme != "https" and url.hostname not in ("127.0.0.1", "localhost", "::1"):
        return [
            fail(
                topic,
                "FORUM_BASE_URL is http://: passwords and sessions would cross the network in "
                "clear, and cookies are not Secure",
                "serve through a TLS proxy (see deploy/) and set FORUM_BASE_URL to https://...",
            )
        ]
    return [ok(topic, settings.base_url)]


async def check_secret_key(settings: Settings) -> list[Finding]:
    topic = "secret key"
    if settings.secret_key_generated:
        return [
            fail(
                topic,
                "FORUM_SECRET_KEY is not set: each start makes a new one, so members' recent "
                "sign-in places are forgotten, unused invite links can no longer be shown to "
                "admins, and processes disagree",
                "set FORUM_SECRET_KEY to the same long random value in every process, e.g. "
                "the output of: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'",
            )
        ]
    if len(settings.secret_key) < 32:
        return [
            fail(
                topic,
                f"FORUM_SECRET_KEY is {len(settings.secret_key)} characters long",
                "use at least 32 random characters",
            )
        ]
    return [ok(topic, "set")]


async def check_database(settings: Settings) -> list[Finding]:
    from tortoise import Tortoise

    from forum.db import tortoise_config
    from forum.readiness import database_problem, migrations_problem

    topic = "database"
    path = settings.sqlite_path
    if path is not None and not _exists(path):
        return [fail(topic, f"no SQLite database at {path}", "run `forum migrate` to create it")]
    kind = "PostgreSQL" if settings.is_postgres else "SQLite"
    try:
        # Not under wait_for: that would run it in a task of its own, and tortoise keeps the
        # connections it opens in the context of the task that opened them.
        await Tortoise.init(config=tortoise_config(settings.database_url))
    except Exception as exc:
        return [
            fail(
                topic,
                f"cannot connect to {kind} ({type(exc).__name__})",
                "check FORUM_DATABASE_URL, that the server runs, and its user and password",
            )
        ]
    try:
        problem = await database_problem()
        if problem:
            return [fail(topic, problem, "check FORUM_DATABASE_URL and the database server")]
        found = [ok(topic, f"{kind} answers")]
        behind = await migrations_problem()
        if behind:
            found.append(fail("migrations", behind, "run `forum migrate` (once, from one host)"))
        else:
            found.append(ok("migrations", "all applied"))
        if not settings.is_postgres:
            found.append(
                warn(
                    topic,
                    "SQLite serves one host only (one writer at a time)",
                    "for several processes or hosts use PostgreSQL (FORUM_DATABASE_URL="
                    "postgres://user:password@host:5432/forum)",
                )
            )
        return found
    finally:
        await Tortoise.close_connections()


def _exists(path: str) -> bool:
    return os.path.exists(path)


async def check_redis(settings: Settings) -> list[Finding]:
    from forum.readiness import redis_problem

    topic = "Redis"
    if not settings.redis_url:
        return [
            warn(
                topic,
                "FORUM_REDIS_URL is not set: live updates and throttles stay inside one process",
                "with more than one app process, set FORUM_REDIS_URL (the same in every one)",
            )
        ]
    problem = await redis_problem(settings.redis_url)
    if problem:
        return [fail(topic, problem, "check FORUM_REDIS_URL and that redis-server runs")]
    return [ok(topic, "answers")]


async def check_proxies(settings: Settings) -> list[Finding]:
    topic = "reverse proxy"
    proxies = settings.trusted_proxies
    https = settings.base_url.startswith("https://")
    if https and not proxies:
        return [
            fail(
                topic,
                "FORUM_BASE_URL is https but FORUM_TRUSTED_PROXIES is empty: behind a TLS "
                "proxy every member would seem to come from the proxy's address (one throttle "
                "for all) and requests would look like plain http",
                "set FORUM_TRUSTED_PROXIES to the proxy's address as the app sees it, e.g. "
                "127.0.0.1 when nginx runs on the same host",
            )
        ]
    if "*" in proxies.split(","):
        return [
            warn(
                topic,
                "FORUM_TRUSTED_PROXIES is *: anyone who reaches the app port can claim any address",
                "list the proxies' addresses, or make sure the app port is reachable only by "
                "the proxy",
            )
        ]
    if proxies and not https:
        return [
            warn(
                topic,
                "FORUM_TRUSTED_PROXIES is set but FORUM_BASE_URL is not https",
                "set FORUM_BASE_URL to the https address the proxy serves",
            )
        ]
    if not proxies:
        return [ok(topic, "none (the app is reached directly)")]
    return [ok(topic, f"trusting {proxies}")]


async def check_metrics(settings: Settings) -> list[Finding]:
    topic = "metrics"
    if not settings.metrics_token:
        return [
            warn(
                topic,
                "FORUM_METRICS_TOKEN is not set: /metrics is off",
                "set FORUM_METRICS_TOKEN to a long random value and give it to Prometheus "
                "(authorization: credentials)",
            )
        ]
    if len(settings.metrics_token) < 16:
        return [fail(topic, "FORUM_METRICS_TOKEN is short", "use at least 16 random characters")]
    return [ok(topic, "/metrics answers the token's holder")]


# In order of what an operator fixes first. Append more (they run after these).
async def check_email(settings: Settings) -> list[Finding]:
    """The outgoing mail transport: named, and for SMTP reached (EHLO, then QUIT: nothing is
    sent; `forum mail-test ADDRESS` sends a real message)."""
    from urllib.parse import urlsplit

    import aiosmtplib

    from forum.mail.transport import make_transport

    topic = "email"
    try:
        transport = make_transport(settings.email_url)
    except ValueError as exc:
        return [fail(topic, str(exc), "set FORUM_EMAIL_URL to smtp://user:pass@host:port")]
    if settings.email_url == "console":
        return [
            warn(
                topic,
                "mail is printed to the console, not sent",
                "set FORUM_EMAIL_URL=smtp://user:pass@host:587 (or smtps://...:465)",
            )
        ]
    if settings.email_url.startswith("file://"):
        return [
            warn(
                topic,
                f"mail is written as files ({transport.description}), not sent",
                "set FORUM_EMAIL_URL=smtp://user:pass@host:587 for members to receive it",
            )
        ]
    parts = urlsplit(settings.email_url)
    implicit = parts.scheme == "smtps"
    client = aiosmtplib.SMTP(
        hostname=parts.hostname,
        port=parts.port or (465 if implicit else 25),
        use_tls=implicit,
        start_tls=None if not implicit else False,
        timeout=5,
    )
    try:
        await client.connect()
        await client.quit()
    except Exception as exc:
        return [
            fail(
                topic,
                f"{transport.description} does not answer ({type(exc).__name__})",
                "check FORUM_EMAIL_URL's host and port, and that the relay accepts this host",
            )
        ]
    found = [ok(topic, f"{transport.description} answers")]
    if not settings.email_from:
        found.append(warn(topic, f"mail comes from {settings.sender}", "set FORUM_EMAIL_FROM"))
    return found


async def check_reports_key(settings: Settings) -> list[Finding]:
    """Confidential reports need their key outside the database."""
    from forum.services import reports_crypto

    topic = "reports key"
    source = reports_crypto.key_source(settings)
    if source == "env":
        return [ok(topic, "FORUM_REPORTS_KEY is set")]
    if source.startswith("file:"):
        path = source[5:]
        if _exists(path):
            return [
                ok(topic, f"the key file {path} exists"),
                warn(
                    topic,
                    "the key lives beside the database",
                    "keep a copy apart from database backups (`forum backup --key-out`)",
                ),
            ]
        return [fail(topic, f"no key file at {path}", "run `forum migrate` to create it")]
    return [
        fail(
            topic,
            "reports are not configured (PostgreSQL without FORUM_REPORTS_KEY)",
            "set FORUM_REPORTS_KEY to urlsafe base64 of 32 random bytes, kept outside the "
            "database and its backups",
        )
    ]


CHECKS: list[Check] = [
    check_base_url,
    check_secret_key,
    check_database,
    check_redis,
    check_proxies,
    check_metrics,
    check_email,
    check_reports_key,
]


async def diagnose(settings: Settings, checks: list[Check] | None = None) -> list[Finding]:
    found: list[Finding] = []
    for check in CHECKS if checks is None else checks:
        try:
            found.extend(await check(settings))
        except Exception as exc:  # a check that breaks is itself a finding, not a crash
            name = getattr(check, "__name__", "check")
            found.append(fail(name, f"the check failed ({type(exc).__name__})", "see above"))
    return found


def report(found: list[Finding]) -> str:
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    lines = []
    for f in found:
        lines.append(f"{marks[f.level]}  {f.topic}: {f.text}")
        if f.fix:
            lines.append(f"      fix: {f.fix}")
    failed = sum(f.level == "fail" for f in found)
    warned = sum(f.level == "warn" for f in found)
    if failed:
        lines.append(f"\n{failed} problem(s) to fix before going live, {warned} warning(s).")
    else:
        lines.append(f"\nReady to go live ({warned} warning(s)).")
    return "\n".join(lines)
