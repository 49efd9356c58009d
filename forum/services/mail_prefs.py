"""Email preferences: per member and per topic, how often to be told by email; and the signed
tokens of one-click unsubscribe links, which work without signing in."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from forum import policy
from forum.errors import Invalid
from forum.models import MailSettings, Member
from forum.models.mail_prefs import CADENCES
from forum.policy import Action
from forum.services.context import Ctx

# Topics a member chooses a cadence for, in the order the preferences form shows them, with
# their defaults: what concerns the member directly comes at once (replies, mentions, caucus
# requests and invitations, moderation acts about them, report updates); decisions daily;
# new statements weekly; what one follows in the daily digest.
TOPICS: dict[str, str] = {
    "reply": "immediately",
    "mention": "immediately",
    "caucus": "immediately",
    "moderation": "immediately",
    "report": "immediately",
    "decision": "daily",
    "statement": "weekly",
    "following": "daily",
}
LABELS: dict[str, str] = {
    "reply": "Replies to your posts",
    "mention": "Mentions of you",
    "caucus": "Caucus requests and invitations, and activity in your caucuses",
    "moderation": "Moderation acts concerning you (hidden posts, warnings, flag outcomes)",
    "report": "Updates on your reports",
    "decision": "Decisions",
    "statement": "New statements",
    "following": "Threads and channels you follow (new replies, new threads)",
}
CADENCE_LABELS: dict[str, str] = {
    "immediately": "At once",
    "daily": "Daily digest",
    "weekly": "Weekly digest",
    "never": "Never",
}
# Notification kind -> topic. Any kind not named here is mailed as "moderation" would be
# if it comes from moderation, else not at all (a new kind is never mailed by accident).
KIND_TOPIC: dict[str, str] = {
    "reply": "reply",
    "mention": "mention",
    "caucus": "caucus",
    "moderation": "moderation",
    "warning": "moderation",
    "flag_outcome": "moderation",
    "report": "report",
    "decision": "decision",
    "following": "following",
}
# Unsubscribe groups beyond single topics: a digest turns off every topic at its cadence, a
# batch of mixed topics every topic mailed at once.
GROUPS = (*TOPICS, "immediately", "daily", "weekly")


def topic_of(kind: str) -> str | None:
    return KIND_TOPIC.get(kind)


def cadences_of(row: MailSettings | None) -> dict[str, str]:
    """A member's cadence per topic (the defaults when they have no row)."""
    if row is None:
        return dict(TOPICS)
    return {topic: getattr(row, topic) for topic in TOPICS}


async def preferences(ctx: Ctx) -> dict[str, str]:
    policy.require(ctx.actor, Action.USE_ACCOUNT)
    row = await MailSettings.get_or_none(member_id=ctx.actor.member_id)
    return cadences_of(row)


async def _save(member_id: int, changes: dict[str, str]) -> dict[str, str]:
    for topic, cadence in changes.items():
        if topic not in TOPICS or cadence not in CADENCES:
            raise ValueError(f"not a topic and cadence: {topic}={cadence}")
    row = await MailSettings.get_or_none(member_id=member_id)
    if row is None:
        row, _ = await MailSettings.get_or_create(member_id=member_id)
    if changes:
        extra: dict[str, object] = {}
        if changes.get("statement") == "immediately" and row.statement != "immediately":
            # From now on: statements published before this choice are not mailed at once.
            extra["statements_mailed_at"] = datetime.now(UTC)
        await MailSettings.filter(id=row.id).update(**changes, **extra)
        for topic, cadence in changes.items():
            setattr(row, topic, cadence)
    return cadences_of(row)


async def update_preferences(ctx: Ctx, changes: dict[str, str]) -> dict[str, str]:
    """Set some topics' cadences (already validated by the schema); returns all of them."""
    policy.require(ctx.actor, Action.USE_ACCOUNT)
    assert ctx.actor.member_id is not None
    return await _save(ctx.actor.member_id, changes)


# ---- one-click unsubscribe ------------------------------------------------------------------
# TOKEN = "{member id}-{group}-{mac}": the mac is an HMAC of the member id and group with the
# site's secret key, so a token cannot be made for another member or group, or altered.

_MAC_CHARS = 22


def _mac(secret: str, member_id: int, group: str) -> str:
    key = hashlib.sha256(b"forum unsubscribe\0" + secret.encode()).digest()
    digest = hmac.new(key, f"{member_id}:{group}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_MAC_CHARS]


def unsubscribe_token(secret: str, member_id: int, group: str) -> str:
    return f"{member_id}-{group}-{_mac(secret, member_id, group)}"


def parse_unsubscribe(secret: str, token: str) -> tuple[int, str] | None:
    """(member id, group) of a token this site made; None for anything else."""
    if len(token) > 80:
        return None
    parts = token.split("-", 2)
    if len(parts) != 3:
        return None
    raw_id, group, mac = parts
    if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 10 or group not in GROUPS:
        return None
    member_id = int(raw_id)
    if not hmac.compare_digest(mac.encode(), _mac(secret, member_id, group).encode()):
        return None
    return member_id, group


BAD_LINK = (
    "This unsubscribe link is not valid: check it was copied whole, or choose what you get in "
    "your email settings after signing in."
)


def unsubscribe_url(base_url: str, secret: str, member_id: int, group: str) -> str:
    return f"{base_url}/unsubscribe/{unsubscribe_token(secret, member_id, group)}"


def group_label(group: str) -> str:
    if group in TOPICS:
        return LABELS[group].lower()
    if group == "immediately":
        return "every email sent at once"
    return f"the {group} digest"


async def unsubscribe_target(secret: str, token: str) -> tuple[Member, str]:
    """The member and group a token names; Invalid (400, with a plain message) for a forged,
    altered or truncated token."""
    found = parse_unsubscribe(secret, token)
    if found is None:
        raise Invalid(BAD_LINK)
    member = await Member.get_or_none(id=found[0])
    if member is None:
        raise Invalid(BAD_LINK)
    return member, found[1]


async def unsubscribe(secret: str, token: str) -> tuple[Member, str]:
    """Turn off what the token names: one topic, or every topic at a cadence. Needs no
    session: the signed token is the proof. Doing it twice is harmless."""
    member, group = await unsubscribe_target(secret, token)
    current = cadences_of(await MailSettings.get_or_none(member_id=member.id))
    if group in TOPICS:
        changes = {group: "never"}
    else:
        changes = {topic: "never" for topic, cadence in current.items() if cadence == group}
    await _save(member.id, changes)
    return member, group
