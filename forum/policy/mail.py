"""Outgoing mail: who sees the outbox, and whose message bodies they may read there."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from forum.policy.actors import Actor, deny, is_admin

if TYPE_CHECKING:
    from forum.models import OutboxMessage

# Kinds of message whose body carries nothing that acts for its recipient. Every other kind may:
# a password-reset, confirmation or change-of-address link is the account itself, a personal
# reply address posts as its member, an unsubscribe link changes their settings.
PLAIN_KINDS = frozenset({"test"})


# Admins open the outbox page (the list of messages sent, in development, or its counts).
def can_see_mail_log(actor: Actor, _target: Any = None) -> bool:
    return is_admin(actor)


def check_see_mail_log(actor: Actor) -> None:
    if not can_see_mail_log(actor):
        deny(actor, True)


# There, an admin reads the body of a message only when it is of a plain kind or was sent to
# the admin themself; of any other message they see who it went to and its subject, never
# its links.
def can_read_mail_body(actor: Actor, message: OutboxMessage) -> bool:
    if not can_see_mail_log(actor):
        return False
    own = message.member_id is not None and message.member_id == actor.member_id
    return own or message.kind in PLAIN_KINDS
