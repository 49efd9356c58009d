"""Notifications: a member is told, and keeps being shown, only what concerns things they can
still read."""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.expressions import Q

from forum.policy.actors import Actor


# A member sees notifications about open channels and about the caucuses they sit in, were
# invited to or asked to join: leave a caucus and its notifications go too.
def visible_notifications(caucus_ids: Iterable[int]) -> Q:
    """The filter for a member whose caucus rows (of any status) are `caucus_ids`."""
    mine = sorted(set(caucus_ids))
    open_q = Q(caucus_id__isnull=True)
    return open_q | Q(caucus_id__in=mine) if mine else open_q


def filter_notifications(actor: Actor) -> Q:
    return visible_notifications(set(actor.seats) | set(actor.pending_seats))


# A notice about a caucus reaches its active members only; the caucus's own membership notices
# ("caucus") also reach members who asked to join or were invited.
def seat_statuses_told(kind: str) -> tuple[str, ...]:
    return ("active", "requested", "invited") if kind == "caucus" else ("active",)


# ---- email -------------------------------------------------------------------------------------

# What an email may say about a notification. An inbox is outside the forum: mail is forwarded,
# read over shoulders, kept by providers. So an email about anything in a caucus says only that
# something happened in one of the member's caucuses, and one about a report only that the case
# has an update; neither carries a name, title, text, author or a URL that names them. Only
# notifications about open channels may show their text (and, for posts, the post).
EMAIL_FULL = "full"
EMAIL_CAUCUS = "caucus"
EMAIL_REPORT = "report"

# Notification kinds about the confidential reports process.
REPORT_KINDS = frozenset({"report"})


def email_view(kind: str, caucus_id: int | None, thread_caucus_id: int | None = None) -> str:
    """How much an email may say about a notification: `EMAIL_FULL`, `EMAIL_CAUCUS` (only the
    neutral line) or `EMAIL_REPORT` (only "your report has an update")."""
    if kind in REPORT_KINDS:
        return EMAIL_REPORT
    if caucus_id is not None or thread_caucus_id is not None or kind == "caucus":
        return EMAIL_CAUCUS
    return EMAIL_FULL


def email_may_show(kind: str, caucus_id: int | None, thread_caucus_id: int | None = None) -> bool:
    """True when an email may carry the notification's text, title, author and link."""
    return email_view(kind, caucus_id, thread_caucus_id) == EMAIL_FULL


# Mail goes only to an active member's confirmed address: a pending or suspended member is told
# nothing, and an address nobody proved they read may belong to someone else.
def may_receive_mail(status: str, email: str | None, email_confirmed_at: object | None) -> bool:
    return status == "active" and bool(email) and email_confirmed_at is not None
