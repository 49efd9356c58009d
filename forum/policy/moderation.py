"""The moderation log and the review queue: who reads which entries, who reviews which items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q

from forum.policy.actors import Actor, convened, deny, is_site_moderator, seated

if TYPE_CHECKING:
    from forum.models import ModerationAction, ReviewItem


# Active members read the moderation log of open channels and of their own caucuses.
def visible_log(actor: Actor) -> Q:
    if not actor.is_member:
        return Q(id__in=[])
    mine = seated(actor)
    if mine:
        return Q(caucus_id__isnull=True) | Q(caucus_id__in=mine)
    return Q(caucus_id__isnull=True)


def can_read_log_entry(actor: Actor, act: ModerationAction) -> bool:
    """As `visible_log`, for one entry."""
    if not actor.is_member:
        return False
    return act.caucus_id is None or act.caucus_id in actor.seats


def check_read_log_entry(actor: Actor, act: ModerationAction) -> None:
    if not can_read_log_entry(actor, act):
        deny(actor, False)


# Facilitators and admins review items from open channels; conveners review their caucus's
# items. Nobody reviews a caucus they do not convene.
def review_scope(actor: Actor) -> Q:
    parts = Q(id__in=[])
    if is_site_moderator(actor):
        parts = Q(caucus_id__isnull=True)
    mine = convened(actor)
    if mine:
        parts = parts | Q(caucus_id__in=mine)
    return parts


def reviewers(caucus_id: int | None) -> Q:
    """Members who review a queue's items (a filter on Member): facilitators and admins for
    the open channels, the caucus's active conveners for a caucus's."""
    if caucus_id is not None:
        return Q(
            status="active",
            seats__caucus_id=caucus_id,
            seats__role="convener",
            seats__status="active",
        )
    return Q(status="active", role__in=("facilitator", "admin"))


def can_review_item(actor: Actor, item: ReviewItem) -> bool:
    """As `review_scope`, for one item."""
    if item.caucus_id is not None:
        return actor.seat(item.caucus_id) == "convener"
    return is_site_moderator(actor)


def check_review_item(actor: Actor, item: ReviewItem) -> None:
    if not can_review_item(actor, item):
        deny(actor, False)


# The review queue is open to facilitators and admins (open channels) and to conveners (their
# own caucuses' items only, by `review_scope`).
def can_review(actor: Actor, _target: Any = None) -> bool:
    return is_site_moderator(actor) or bool(convened(actor))


def check_review(actor: Actor) -> None:
    if not can_review(actor):
        deny(actor, True)


# The site-wide review of open channels is for facilitators and admins.
def can_review_site(actor: Actor, _target: Any = None) -> bool:
    return is_site_moderator(actor)
