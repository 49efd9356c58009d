"""Real mail for tests: an aiosmtpd server on a free port, and the file transport's folder."""

from __future__ import annotations

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
    `answer` to a reply such as "451 try later" or "550 no such user" to refuse messages."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []
        self.answer = "250 OK"
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=port or _free_port())

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
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
