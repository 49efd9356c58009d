"""The listener for replies by email: SMTP, or LMTP for a mail server (such as Postfix) to hand
incoming mail to, on a local port (aiosmtpd). Like `forum.web`, it is an entry point: it speaks
the protocol and hands each accepted message to `forum.services.mail_in`.

What is answered in the protocol, and what by a bounce:
- RCPT for anything but a `reply+TOKEN@` address with a valid signature: 550 at once. Nothing is
  accepted, so nothing is bounced (the sending server tells its own user), and a guessed or
  altered token costs us no more than that.
- A message larger than `mail_in_max_bytes` (SIZE is announced): 552, so the sending server
  returns it to its author, whole.
- Every other refusal (From not the member's, a locked thread, a suspended member, a caucus
  thread, an empty or unreadable reply, the posting limits): 250, then a bounce through the
  outbox to the member's confirmed address. Answering those with 5xx would make the server that
  handed us the message (a Postfix in front, having accepted it already) send its own notice to
  the envelope sender, who may be anyone, and would say the reason to a stranger.
- A failure of ours (the database away): 451, and the sending server tries again later; the
  message's idempotency key makes a retry that finds the reply already posted a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from forum.mail.outbox import domain_of
from forum.mail.reply_tokens import parse_token, token_of
from forum.services import mail_in
from forum.services.context import Services
from forum.settings import Settings

log = logging.getLogger("forum.mail.in")

# Recipients one message may have: a reply goes to one address; more is a mass mailing.
MAX_RECIPIENTS = 10
NO_SUCH_ADDRESS = "550 5.1.1 No such reply address here"
TOO_MANY = "452 4.5.3 Too many recipients"
TRY_LATER = "451 4.3.0 The forum could not take this message now; try again later"
ACCEPTED = "250 2.0.0 Message accepted"


def _too_large(limit: int) -> str:
    return (
        f"552 5.3.4 The message is larger than the {limit // 1024:,} KB the forum accepts by "
        "email; please post your reply on the site"
    )


class ReplyHandler:
    """aiosmtpd's handler: checks recipients at RCPT, hands each message to the mail service."""

    def __init__(self, services: Services, lmtp: bool = False) -> None:
        self.services = services
        self.lmtp = lmtp

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        token = token_of(address)
        if token is None or parse_token(self.services.settings.secret_key, token) is None:
            log.info("mail-in: refused a recipient that is not a reply address")
            return NO_SUCH_ADDRESS
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return TOO_MANY
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):  # pragma: no cover - decode_data is off
            raw = raw.encode("utf-8", "surrogateescape")
        answers = [
            await self._one(recipient, raw, envelope.mail_from) for recipient in envelope.rcpt_tos
        ]
        if self.lmtp:
            # LMTP answers DATA once per recipient, in order (RFC 2033).
            return "\r\n".join(answers)
        # SMTP has one answer: try again later if any recipient needs it (those already posted
        # are recognised by their idempotency key when the message comes again).
        return next((a for a in answers if not a.startswith("250")), ACCEPTED)

    async def _one(self, recipient: str, raw: bytes, envelope_from: str | None) -> str:
        try:
            await mail_in.receive(self.services, recipient, raw, envelope_from)
        except Exception:  # never let a message end the listener: the sender retries
            log.exception("mail-in: a message could not be handled now; the sender will retry")
            return TRY_LATER
        return ACCEPTED


class _Protocol:
    """Words the refusal of a too-large message in the forum's terms (aiosmtpd's own line says
    only "Too much mail data")."""

    too_large = "552 Error"

    async def push(self, status: Any) -> None:
        if isinstance(status, str) and status.startswith("552 Error"):
            status = self.too_large
        await super().push(status)  # type: ignore[misc]


class _SmtpProtocol(_Protocol, SMTP):
    pass


class _LmtpProtocol(_Protocol, LMTP):
    pass


class MailListener:
    """One listening socket in the running event loop (not aiosmtpd's Controller, which runs a
    loop in a thread of its own: the handler needs this loop's database connections)."""

    def __init__(self, services: Services, host: str, port: int, lmtp: bool = False) -> None:
        self.services = services
        self.host = host
        self.port = port
        self.lmtp = lmtp
        self.handler = ReplyHandler(services, lmtp)
        self._server: asyncio.Server | None = None

    @property
    def protocol_name(self) -> str:
        return "LMTP" if self.lmtp else "SMTP"

    def _protocol(self) -> SMTP:
        settings = self.services.settings
        kind = _LmtpProtocol if self.lmtp else _SmtpProtocol
        protocol = kind(
            self.handler,
            data_size_limit=settings.mail_in_max_bytes,
            enable_SMTPUTF8=True,
            hostname=domain_of(settings.base_url),
            ident="forum mail-in",
            loop=asyncio.get_running_loop(),
        )
        protocol.too_large = _too_large(settings.mail_in_max_bytes)
        return protocol

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # reuse_port: every worker of `forum serve --workers N` listens on the same port, and the
        # kernel shares the connections out among them.
        self._server = await loop.create_server(
            self._protocol, host=self.host, port=self.port, reuse_port=True
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("mail-in: %s listening on %s:%s", self.protocol_name, self.host, self.port)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()


async def serve(settings: Settings, host: str, port: int, lmtp: bool) -> None:
    """`forum mail-in`: the listener in a process of its own, until SIGINT or SIGTERM.

    Its replies reach the app processes' open sockets through Redis (FORUM_REDIS_URL); without
    Redis they appear on the next page load only, so a single-process forum without Redis
    should set FORUM_MAIL_IN to listen inside the app instead."""
    from tortoise import Tortoise

    from forum import renderer
    from forum.db import tortoise_config
    from forum.mail.outbox import Deliverer
    from forum.mail.transport import make_transport
    from forum.realtime.broker import make_broker
    from forum.security import Hasher, Throttle

    services = Services(settings=settings, hasher=Hasher(1), throttle=Throttle(settings.redis_url))
    broker = make_broker(settings.redis_url) if settings.redis_url else None
    if broker is not None:
        services.publish = broker.publish  # publishing needs no subscription
    else:
        log.warning(
            "mail-in: no FORUM_REDIS_URL, so replies reach open pages only when they reload; "
            "set FORUM_MAIL_IN to receive mail inside the app process instead"
        )
    deliverer = Deliverer(
        make_transport(settings.email_url), settings.sender, settings.email_from_name
    )
    services.wake_mail = deliverer.poke
    listener = MailListener(services, host, port, lmtp)
    await Tortoise.init(config=tortoise_config(settings.database_url))
    renderer.acquire()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    try:
        deliverer.start()
        await listener.start()
        print(
            f"forum mail-in is receiving {listener.protocol_name} on {host}:{listener.port}",
            flush=True,
        )
        await stopping.wait()
    finally:
        await listener.stop()
        await deliverer.stop()
        if broker is not None:
            await broker.stop()
        await services.throttle.close()
        await asyncio.to_thread(renderer.release)
        await Tortoise.close_connections()
