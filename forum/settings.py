"""Settings, read once from FORUM_* variables and handed to create_app; nothing else reads env."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

SignupMode = Literal["invite", "approval", "open"]


class SettingsError(ValueError):
    """A FORUM_* variable holds a value we cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://forum.sqlite3"
    redis_url: str | None = None
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    signup: SignupMode = "invite"
    # Sessions end after this long without a request, and after the absolute limit in any case.
    session_idle_seconds: int = 14 * 24 * 3600
    session_absolute_seconds: int = 60 * 24 * 3600
    max_body_bytes: int = 256 * 1024
    # Throttles, as `limits` strings.
    login_rate: str = "5/minute"
    signup_rate: str = "10/hour"
    post_rate: str = "12/minute"
    new_member_post_rate: str = "4/minute"
    # Password-reset requests: per typed address or handle and per account (`reset_rate`), and
    # per client address (`reset_address_rate`); confirmation mails (a change of address, "send
    # it again") per member (`confirm_rate`).
    reset_rate: str = "5/hour"
    reset_address_rate: str = "20/hour"
    confirm_rate: str = "5/hour"
    # Hashing runs in threads; this many at once keeps a login flood from starving the loop.
    hash_threads: int = 4
    # Live events older than this are pruned; a client further behind reloads its page.
    event_retention_days: int = 14
    # Posts render in worker processes (this many per app process); a text that takes longer
    # than the limit to render is refused with a message, never left to stall the process.
    render_timeout_seconds: float = 3.0
    render_workers: int = 2
    # `forum serve`: reverse proxies (IPs or networks, comma-separated, or "*") whose
    # X-Forwarded-For and X-Forwarded-Proto are believed; by default none is.
    trusted_proxies: str = ""
    # A request's headers must arrive within this long, its body within that long after them.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    # Open connections per process (websockets included); past it new requests are answered 503.
    max_connections: int = 10_000
    # Websockets, per process: at most this many per member and per client address; replays
    # (catching up from the event table) are a bucket of events per socket, refilled per
    # second; every process re-reads access changes and re-checks sessions this often.
    ws_per_member: int = 20
    ws_per_address: int = 50
    ws_replay_burst: int = 2000
    ws_replay_rate: float = 200.0
    ws_recheck_seconds: float = 5.0
    # Outgoing mail (see forum.mail.transport): smtp://, smtps://, file:///folder or console.
    # Unset: a `mail` folder beside a SQLite database, the console otherwise.
    email_url: str = "console"
    # The From address; unset: forum@ the base URL's host.
    email_from: str = ""
    email_from_name: str = "forum"
    # Replies by email (see forum.mail.listener): "host:port" starts a listener inside each app
    # process (empty: none; `forum mail-in` runs one on its own), speaking LMTP when
    # `mail_in_lmtp` is set (for a mail server such as Postfix), SMTP otherwise. Messages larger
    # than `mail_in_max_bytes` are refused (552).
    mail_in: str = ""
    mail_in_lmtp: bool = False
    mail_in_max_bytes: int = 10 * 1024 * 1024
    # True when FORUM_SECRET_KEY was not set and a random key stands in (`forum doctor` says so).
    secret_key_generated: bool = False
    # `/metrics` answers only a scraper that sends `Authorization: Bearer <this>`; unset: 404.
    metrics_token: str = ""
    # `forum serve` logs one line per request: "json" (one object a line) or "text".
    log_format: Literal["json", "text"] = "json"
    # Notification email (see forum.services.mail_notices): a notification is mailed once it is
    # this old and still unread, with whatever else arrived for the member meanwhile; each app
    # process looks every `mail_pass_seconds`. Digests go at `digest_hour` (UTC), the weekly
    # one on `digest_weekday` (0 = Monday).
    mail_batch_seconds: float = 120.0
    mail_pass_seconds: float = 20.0
    digest_hour: int = 7
    digest_weekday: int = 0
    # Confidential reports: the AES-GCM key (urlsafe base64 of 32 bytes) from FORUM_REPORTS_KEY;
    # unset on SQLite means the key file beside the database (see forum.services.reports_crypto).
    reports_key: str | None = None
    # Days the committee has to acknowledge a report, and to decide it.
    reports_ack_days: int = 2
    reports_decide_days: int = 30
    # The outbox: a claimed message is another process's to send once this long has passed
    # (a process killed mid-send); sent messages are kept this many days, failed ones longer.
    email_lease_seconds: float = 120.0
    email_sent_retention_days: int = 30
    email_failed_retention_days: int = 90

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def sender(self) -> str:
        from urllib.parse import urlsplit

        return self.email_from or f"forum@{urlsplit(self.base_url).hostname or 'localhost'}"

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite file of a sqlite:// database URL (None for PostgreSQL or in-memory)."""
        if not self.database_url.startswith("sqlite://"):
            return None
        path = self.database_url.split("://", 1)[1].split("?", 1)[0]
        return None if path in ("", ":memory:") else path

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://", "asyncpg://"))

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        signup = env.get("FORUM_SIGNUP", "invite")
        if signup not in ("invite", "approval", "open"):
            raise SettingsError("FORUM_SIGNUP must be one of invite, approval, open")
        secret = env.get("FORUM_SECRET_KEY") or secrets.token_urlsafe(32)
        database_url = env.get("FORUM_DATABASE_URL", cls.database_url)
        log_format = env.get("FORUM_LOG_FORMAT", "json")
        if log_format not in ("json", "text"):
            raise SettingsError("FORUM_LOG_FORMAT must be json or text")
        return cls(
            database_url=database_url,
            email_url=_email_url(env, database_url),
            email_from=env.get("FORUM_EMAIL_FROM", ""),
            email_from_name=env.get("FORUM_EMAIL_FROM_NAME", cls.email_from_name),
            mail_in=_mail_in(env),
            mail_in_lmtp=env.get("FORUM_MAIL_IN_LMTP", "") in ("1", "true", "yes"),
            mail_in_max_bytes=int(_number(env, "FORUM_MAIL_IN_MAX_BYTES", cls.mail_in_max_bytes)),
            mail_batch_seconds=_number(env, "FORUM_MAIL_BATCH_SECONDS", cls.mail_batch_seconds),
            mail_pass_seconds=_number(env, "FORUM_MAIL_PASS_SECONDS", cls.mail_pass_seconds),
            digest_hour=_bounded(env, "FORUM_DIGEST_HOUR", cls.digest_hour, 23),
            digest_weekday=_bounded(env, "FORUM_DIGEST_WEEKDAY", cls.digest_weekday, 6),
            email_lease_seconds=_number(env, "FORUM_EMAIL_LEASE_SECONDS", cls.email_lease_seconds),
            email_sent_retention_days=int(
                _number(env, "FORUM_EMAIL_SENT_RETENTION_DAYS", cls.email_sent_retention_days)
            ),
            email_failed_retention_days=int(
                _number(env, "FORUM_EMAIL_FAILED_RETENTION_DAYS", cls.email_failed_retention_days)
            ),
            redis_url=env.get("FORUM_REDIS_URL") or None,
            secret_key=secret,
            base_url=env.get("FORUM_BASE_URL", cls.base_url).rstrip("/"),
            signup=signup,  # type: ignore[arg-type]
            post_rate=_rate(env, "FORUM_POST_RATE", cls.post_rate),
            new_member_post_rate=_rate(env, "FORUM_NEW_MEMBER_POST_RATE", cls.new_member_post_rate),
            trusted_proxies=_proxies(env),
            header_timeout_seconds=_number(env, "FORUM_HEADER_TIMEOUT", cls.header_timeout_seconds),
            body_timeout_seconds=_number(env, "FORUM_BODY_TIMEOUT", cls.body_timeout_seconds),
            max_connections=int(_number(env, "FORUM_MAX_CONNECTIONS", cls.max_connections)),
            ws_per_member=int(_number(env, "FORUM_WS_PER_MEMBER", cls.ws_per_member)),
            ws_per_address=int(_number(env, "FORUM_WS_PER_ADDRESS", cls.ws_per_address)),
            ws_replay_burst=int(_number(env, "FORUM_WS_REPLAY_BURST", cls.ws_replay_burst)),
            ws_replay_rate=_number(env, "FORUM_WS_REPLAY_RATE", cls.ws_replay_rate),
            ws_recheck_seconds=_number(env, "FORUM_WS_RECHECK_SECONDS", cls.ws_recheck_seconds),
            secret_key_generated=not env.get("FORUM_SECRET_KEY"),
            metrics_token=env.get("FORUM_METRICS_TOKEN", ""),
            log_format=log_format,  # type: ignore[arg-type]
            reports_key=env.get("FORUM_REPORTS_KEY") or None,
            reports_ack_days=int(_number(env, "FORUM_REPORTS_ACK_DAYS", cls.reports_ack_days)),
            reports_decide_days=int(
                _number(env, "FORUM_REPORTS_DECIDE_DAYS", cls.reports_decide_days)
            ),
        )


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive number (whole where the default is whole); anything else is refused at start."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    whole = isinstance(default, int)
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = 0
    if not value > 0 or value == float("inf"):  # also refuses nan
        raise SettingsError(f"{name} must be a positive {'whole number' if whole else 'number'}")
    return value


def _bounded(env: Mapping[str, str], name: str, default: int, top: int) -> int:
    """A whole number from 0 to `top`; anything else is refused at start."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > top:
        raise SettingsError(f"{name} must be a whole number from 0 to {top}")
    return int(raw)


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    """A `limits` rate such as "12/minute"; a malformed one is refused at start."""
    value = env.get(name, default)
    from limits import parse

    try:
        parse(value)
    except ValueError:
        raise SettingsError(f"{name} must be a rate like 12/minute") from None
    return value


def _email_url(env: Mapping[str, str], database_url: str) -> str:
    """FORUM_EMAIL_URL, checked; unset, a `mail` folder beside a SQLite database file."""
    from pathlib import Path
    from urllib.parse import urlsplit

    raw = env.get("FORUM_EMAIL_URL", "").strip()
    if not raw:
        if database_url.startswith("sqlite://"):
            path = database_url.split("://", 1)[1].split("?", 1)[0]
            if path and path != ":memory:":
                return "file://" + str(Path(path).resolve().parent / "mail")
        return "console"
    scheme = urlsplit(raw).scheme
    if raw == "console" or (scheme == "file" and urlsplit(raw).path):
        return raw
    if scheme in ("smtp", "smtps") and urlsplit(raw).hostname:
        return raw
    raise SettingsError(
        "FORUM_EMAIL_URL must be smtp://user:pass@host:port, smtps://..., file:///folder or console"
    )


def _mail_in(env: Mapping[str, str]) -> str:
    """FORUM_MAIL_IN as "host:port" (port 0: any free port), or empty for no listener."""
    raw = env.get("FORUM_MAIL_IN", "").strip()
    if not raw:
        return ""
    host, colon, port = raw.rpartition(":")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise SettingsError("FORUM_MAIL_IN must be host:port, such as 127.0.0.1:2525")
    return raw


def mail_in_address(value: str) -> tuple[str, int]:
    """The (host, port) of a FORUM_MAIL_IN value checked by `from_env`."""
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


def _proxies(env: Mapping[str, str]) -> str:
    """FORUM_TRUSTED_PROXIES as uvicorn's forwarded-allow-ips: addresses, networks or "*"."""
    import ipaddress

    items = [item.strip() for item in env.get("FORUM_TRUSTED_PROXIES", "").split(",")]
    items = [item for item in items if item]
    for item in items:
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(
                f"FORUM_TRUSTED_PROXIES: {item!r} is not an IP address or network"
            ) from None
    return ",".join(items)
