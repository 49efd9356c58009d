"""Where outgoing mail goes: `FORUM_EMAIL_URL`.

- `smtp://user:pass@host:port`: SMTP, upgraded with STARTTLS when the server offers it;
  `smtps://...`: TLS from the first byte (port 465). aiosmtplib does the talking.
- `file:///path/to/dir`: every message written to the folder as an `.eml` file (the embedded
  default, under the data folder, so a forum with no mail server still shows what it sent).
- `console`: every message printed to standard output (development).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
import tempfile
from email.message import Message
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib


class TemporaryFailure(Exception):
    """Try again later: the server could not be reached, or answered 4xx."""


class PermanentFailure(Exception):
    """Do not try again: the server refused the message or its recipient (5xx)."""


class Transport(Protocol):
    description: str

    async def send(self, message: Message) -> None: ...

    async def close(self) -> None: ...


class SmtpTransport:
    """SMTP through aiosmtplib. Connections are kept open between messages (one per concurrent
    send, at most `pool` idle) and dropped by `close()`, which the deliverer calls whenever the
    outbox runs dry: opening a connection per message (TCP, EHLO, STARTTLS, AUTH) costs more
    than the message itself. A connection that failed in any way is thrown away, never reused."""

    def __init__(
        self,
        url: str,
        timeout: float = 30.0,
        local_hostname: str | None = None,
        reuse: bool = True,
        pool: int = 16,
    ) -> None:
        parts = urlsplit(url)
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        # The EHLO name; without one aiosmtplib asks socket.getfqdn() (a DNS lookup) each time.
        self.local_hostname = local_hostname
        self.reuse = reuse
        self.pool = pool
        self._idle: list[aiosmtplib.SMTP] = []
        # Built once: loading the system's CA certificates costs tens of milliseconds.
        self._tls: ssl.SSLContext | None = None
        # Never the password: this is shown to operators.
        self.description = f"{parts.scheme}://{self.host}:{self.port}"

    async def _connect(self) -> aiosmtplib.SMTP:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.implicit_tls,
            # None: STARTTLS if the server offers it, plain otherwise (a local relay).
            start_tls=None if not self.implicit_tls else False,
            tls_context=self._tls,
            timeout=self.timeout,
            local_hostname=self.local_hostname,
        )
        try:
            await client.connect()  # also EHLO, STARTTLS and AUTH when configured
        except BaseException:
            client.close()
            raise
        return client

    async def send(self, message: Message) -> None:
        try:
            await self._send(message)
        except ValueError as exc:  # an address aiosmtplib cannot put in an envelope
            raise PermanentFailure(_describe(exc)) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [err.code for err in exc.recipients]
            if all(400 <= code < 500 for code in codes):
                raise TemporaryFailure(_describe(exc)) from exc
            raise PermanentFailure(_describe(exc)) from exc
        except aiosmtplib.SMTPNotSupported as exc:  # e.g. an address that needs SMTPUTF8
            raise PermanentFailure(_describe(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentFailure(_describe(exc)) from exc
            raise TemporaryFailure(_describe(exc)) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TemporaryFailure(_describe(exc)) from exc

    async def _send(self, message: Message) -> None:
        if self.reuse and self._idle:
            client = self._idle.pop()
            try:
                await client.send_message(message)
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                client.close()  # it went stale while idle: once more on a fresh connection
            except BaseException:
                client.close()
                raise
            else:
                await self._release(client)
                return
        client = await self._connect()
        try:
            await client.send_message(message)
        except BaseException:
            client.close()
            raise
        await self._release(client)

    async def _release(self, client: aiosmtplib.SMTP) -> None:
        if self.reuse and len(self._idle) < self.pool and client.is_connected:
            self._idle.append(client)
        else:
            await _quit(client)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_quit(client) for client in idle))


async def _quit(client: aiosmtplib.SMTP) -> None:
    """Say goodbye politely, but never wait long for it."""
    try:
        await client.quit(timeout=5)
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


class FileTransport:
    """Each message an `.eml` file in the folder, written whole (to a temporary name, then
    renamed) so a reader never sees half a message."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = f"file://{folder}"

    async def send(self, message: Message) -> None:
        data = bytes(message)
        await asyncio.to_thread(self._write, data, _file_name(message))

    def _write(self, data: bytes, name: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".sending-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, self.folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def close(self) -> None:
        return None


class ConsoleTransport:
    description = "console"

    async def send(self, message: Message) -> None:
        text = message.as_string()
        sys.stdout.write(f"----- email -----\n{text}\n----- end -----\n")
        sys.stdout.flush()

    async def close(self) -> None:
        return None


def make_transport(url: str, local_hostname: str | None = None) -> Transport:
    """The transport for a FORUM_EMAIL_URL; `local_hostname` names this host in SMTP's EHLO."""
    scheme = urlsplit(url).scheme
    if scheme in ("smtp", "smtps"):
        return SmtpTransport(url, local_hostname=local_hostname)
    if scheme == "file":
        return FileTransport(Path(unquote(urlsplit(url).path)))
    if url == "console":
        return ConsoleTransport()
    raise ValueError("FORUM_EMAIL_URL must be smtp://, smtps://, file:///folder or console")


def _file_name(message: Message) -> str:
    """A sortable, unique file name: the moment and the Message-ID's random part."""
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    ident = str(message.get("Message-ID", "")).strip("<>").split("@")[0]
    safe = "".join(ch for ch in ident if ch.isalnum() or ch in "-_.")[:60] or "message"
    return f"{stamp}-{safe}.eml"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:480]
