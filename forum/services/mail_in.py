"""Replies by email: one incoming message to a `reply+TOKEN@` address, posted as the member the
token names, or refused with a bounce to that member's confirmed address.

The token (forum.mail.reply_tokens) names a post and a member and is signed, so it cannot be
made up; it can be forwarded, though, with the notification that carries it. So the message must
also come from the member's confirmed address. Then the reply goes through the same service as
the site's reply form (`posting.reply`), which asks the policy and the posting limits again.

A refusal is mailed only to the member's confirmed address, never to the message's From address
(which anyone can write: answering it would make the forum a source of backscatter), and a
message whose token names nobody with a confirmed address is dropped and logged. Caucus threads
are never answered by email, and their bounce names nothing of the caucus.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from email import policy as email_policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses

from forum import policy
from forum.errors import DomainError, Invalid, RateLimited
from forum.mail import reply_text
from forum.mail.compose import render
from forum.mail.outbox import domain_of, enqueue
from forum.mail.reply_tokens import parse_token, token_of
from forum.models import Member, Post, Thread
from forum.policy import Action, Actor
from forum.services import accounts, posting
from forum.services.context import Ctx, Services

log = logging.getLogger("forum.mail.in")

# The one sentence a refused reply to a caucus thread gets: nothing of the caucus in it.
CAUCUS_REFUSAL = "Replies by email are not possible here; please reply on the site."
REASONS = {
    "from_mismatch": (
        "It came from an address that is not the one your account uses. Replies by email are "
        "accepted only from your confirmed address: send it again from there, or post it on "
        "the site."
    ),
    "gone": "The post you answered is no longer there.",
    "caucus": CAUCUS_REFUSAL,
    "suspended": "Your account is suspended, so you cannot post.",
    "inactive": "Your account is not active, so you cannot post.",
    "no_access": "You can no longer read this thread, so you cannot reply to it.",
    "archived": "This thread is archived: nobody can reply to it any more.",
    "locked": "This thread is locked by its moderators: new replies are closed.",
    "unreadable": (
        "We could not read your email: it has no text part we could decode. Please post your "
        "reply on the site."
    ),
    "empty": (
        "We found no text of your own in it, only the quoted message (or nothing at all). "
        "Write your reply above the quoted message."
    ),
    "cannot_reply": "You can no longer reply in this thread.",
}
# Bounces one member may receive an hour; past it refusals are only logged (the token could be
# in a stranger's hands, and the forum must not become a way to flood a member's inbox).
BOUNCE_RATE = "20/hour"
# A bounce returns at most this much of the member's text.
MAX_RETURNED = 60_000
# Headers that mark a message sent by a machine (out-of-office answers, mailing lists, other
# bounces): never posted and never answered, or two robots answer each other for ever.
_AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}


@dataclass(frozen=True)
class Outcome:
    """What became of one message for one recipient: "posted", "duplicate" (a redelivery of a
    message already posted), "bounced" or "dropped"; `reason` is a REASONS key or a short code."""

    status: str
    reason: str = ""
    post_id: int | None = None


def parse_message(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=email_policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def read(raw: bytes, envelope_from: str | None) -> tuple[EmailMessage, bool, str | None]:
    """The parsed message, whether a machine sent it, and the member's new text in it (None if
    no text part could be read)."""
    message = parse_message(raw)
    automatic = is_automatic(message, envelope_from)
    try:
        text: str | None = reply_text.new_text(reply_text.text_of_message(message))
    except reply_text.Unreadable:
        text = None
    except Exception as exc:  # what the libraries trip on (HTML nested too deep) is unreadable too
        log.warning("mail-in: a message could not be read (%s)", type(exc).__name__)
        text = None
    return message, automatic, text


def is_automatic(message: Message, envelope_from: str | None) -> bool:
    """Whether the message was sent by a machine (RFC 3834 and common practice)."""
    if envelope_from is not None and envelope_from.strip("<> ") == "":
        return True  # a delivery status notification has an empty envelope sender
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        return True
    if str(message.get("Precedence", "")).strip().lower() in _AUTOMATIC_PRECEDENCE:
        return True
    return any(message.get(name) is not None for name in ("X-Autoreply", "X-Autorespond"))


def idempotency_key(message: Message, raw: bytes, post_id: int) -> str:
    """The post's client key (its author is the token's member): from the Message-ID (a mail
    server that delivers the same message again makes no second post) and the post answered
    (one message sent to two reply addresses is two replies). Without a Message-ID, the
    message's bytes stand in for it."""
    ident = str(message.get("Message-ID", "") or "").strip()
    seed = ident.encode() if ident else raw
    digest = hashlib.sha256(seed + b"\0" + str(post_id).encode()).hexdigest()
    return f"mail-{digest[:48]}"


def _sender(message: Message) -> str | None:
    """The one address in From, lower-cased; None if there is not exactly one."""
    values = [str(value) for value in message.get_all("From", [])]
    addresses = [address for _, address in getaddresses(values) if "@" in address]
    if len(addresses) != 1:
        return None
    return addresses[0].strip().lower()


def _field_messages(exc: Invalid) -> str:
    return " ".join(exc.fields.values()) or exc.message


async def receive(
    services: Services, recipient: str, raw: bytes, envelope_from: str | None = None
) -> Outcome:
    """Handle one message for one `reply+TOKEN@` recipient. Refusals are answered with a bounce
    (see the module's docstring); only an unforeseen failure (the database away) raises, and the
    listener then asks the sending server to try again later."""
    token = token_of(recipient) or ""
    names = parse_token(services.settings.secret_key, token) if token else None
    if names is None:
        log.info("mail-in: a message for an address with no valid reply token was dropped")
        return Outcome("dropped", "unknown_token")
    post_id, member_id = names
    try:
        # Parsing and cutting a large message takes a moment: not on the event loop.
        message, automatic, text = await asyncio.to_thread(read, raw, envelope_from)
    except Exception:  # the parser is lenient; a header it chokes on makes the message unreadable
        log.info("mail-in: an unparseable message for member %s was dropped", member_id)
        return Outcome("dropped", "unparseable")
    if automatic:
        log.info("mail-in: an automatic message for member %s was dropped", member_id)
        return Outcome("dropped", "automatic")

    member = await Member.get_or_none(id=member_id)
    if member is None or not member.email or member.email_confirmed_at is None:
        # Nowhere safe to send a bounce: the From address is whatever the sender wrote.
        log.info("mail-in: member %s has no confirmed address; the message was dropped", member_id)
        return Outcome("dropped", "no_address")
    actor = await accounts.load_actor(member)
    post = await Post.filter(id=post_id).select_related("thread__channel").first()
    thread: Thread | None = post.thread if post is not None else None
    bounce = _Bounce(services, member, actor, thread, message, text)

    if _sender(message) != member.email.strip().lower():
        return await bounce.send("from_mismatch", with_text=False)
    if post is None or thread is None or post.deleted:
        return await bounce.send("gone")
    # Before the rules: a message posted once and delivered again is no refusal, even if the
    # thread was locked in between.
    key = idempotency_key(message, raw, post.id)
    if await Post.filter(author_id=member.id, client_key=key).exists():
        log.info("mail-in: a message already posted for member %s came again", member.id)
        return Outcome("duplicate", "redelivered")
    refusal = policy.threads.email_reply_refusal(actor, thread)
    if refusal == "caucus":
        return await bounce.send("caucus")
    if refusal is not None:
        return await bounce.send(refusal)
    if bounce.text is None:
        return await bounce.send("unreadable")
    if not bounce.text.strip():
        return await bounce.send("empty")

    ctx = Ctx(services=services, actor=actor, member=member, address="email")
    try:
        reply = await posting.reply(ctx, thread.id, bounce.text, parent_id=post.id, key=key)
    except RateLimited as exc:
        return await bounce.send("rate_limited", words=exc.message)
    except Invalid as exc:
        return await bounce.send("invalid", words=_field_messages(exc))
    except DomainError:  # NotFound or Forbidden: access changed while the text rendered
        return await bounce.send("cannot_reply")
    services.wake_mail()  # the reply may have notified members by email
    log.info("mail-in: member %s replied by email (post %s)", member.id, reply.id)
    return Outcome("posted", "", reply.id)


class _Bounce:
    """The refusal mailed to the member: the reason in plain words and, unless the message may
    not be theirs, the text they wrote."""

    def __init__(
        self,
        services: Services,
        member: Member,
        actor: Actor,
        thread: Thread | None,
        message: EmailMessage,
        text: str | None,
    ) -> None:
        self.services = services
        self.member = member
        self.actor = actor
        self.thread = thread
        self.message = message
        self.text = text

    def _names_thread(self) -> bool:
        # Only an open thread the member reads is named: never a caucus's, never one they left.
        thread = self.thread
        return (
            thread is not None
            and policy.threads.email_reply_refusal(self.actor, thread) != "caucus"
            and policy.can(self.actor, Action.READ, thread)
        )

    async def send(self, reason: str, *, words: str = "", with_text: bool = True) -> Outcome:
        member = self.member
        assert member.email is not None
        log.info("mail-in: a reply by member %s was refused (%s)", member.id, reason)
        try:
            await self.services.throttle.hit(BOUNCE_RATE, "mail-bounce", str(member.id))
        except RateLimited:
            log.warning("mail-in: too many bounces for member %s; this one is not sent", member.id)
            return Outcome("bounced", reason)
        settings = self.services.settings
        text = (self.text or "")[:MAX_RETURNED] if with_text else ""
        names = self._names_thread()
        thread = self.thread
        subject = "Your reply by email was not posted"
        body_text, body_html = render(
            "bounce",
            subject=subject,
            site_name=settings.email_from_name,
            reason=words or REASONS[reason],
            text=text,
            thread_title=thread.title if names and thread is not None else "",
            thread_url=f"{settings.base_url}/t/{thread.id}" if names and thread else "",
        )
        headers = {"Auto-Submitted": "auto-replied"}
        incoming = str(self.message.get("Message-ID", "") or "").strip()
        if incoming.startswith("<") and incoming.endswith(">") and len(incoming) < 250:
            headers["In-Reply-To"] = incoming
            headers["References"] = incoming
        await enqueue(
            None,
            kind="bounce",
            to=member.email,
            subject=subject,
            text=body_text,
            html=body_html,
            headers=headers,
            member_id=member.id,
            domain=domain_of(settings.base_url),
        )
        self.services.wake_mail()
        return Outcome("bounced", reason)
