"""Real mail for tests: an aiosmtpd server on a free port, and the file transport's folder."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


def parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


class SmtpSink:
    """An SMTP server (aiosmtpd, in a thread of its own) that keeps what it receives. Set
    `answer` to a reply such as "451 try later" or "550 no such user" to refuse messages, or to
    "stall" to take each message's DATA and never answer (`stalled` counts them)."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []
        self.answer = "250 OK"
        self.stalled = 0
        self.sessions = 0  # EHLOs seen: how many connections clients opened
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=port or _free_port())

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self._lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.answer == "stall":
            # Hold the message without an answer, as a server that hung mid-transaction does.
            with self._lock:
                self.stalled += 1
            await asyncio.sleep(3600)
        if not self.answer.startswith("250"):
            return self.answer
        with self._lock:
            self.received.append(
                (envelope.mail_from, list(envelope.rcpt_tos), parse(envelope.original_content))
            )
        return "250 OK"

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [message for _, _, message in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.messages
            time.sleep(0.02)
        raise AssertionError(f"expected {count} messages, received {len(self.messages)}")


class SilentServer:
    """Accepts TCP connections on a free port and never says a word (not even SMTP's greeting):
    a mail server that hangs."""

    def __init__(self) -> None:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[Any] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed by stop()
                return
            self.accepted.append(conn)

    def stop(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()
        self._thread.join(5)


def folder_messages(folder: Path) -> list[EmailMessage]:
    """What the file transport wrote, oldest first."""
    if not folder.exists():
        return []
    return [parse(path.read_bytes()) for path in sorted(folder.glob("*.eml"))]


def text_of(message: EmailMessage) -> str:
    """Every text part of a message, decoded, joined (plain and HTML)."""
    parts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
