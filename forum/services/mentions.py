"""Group mentions: `@caucus-slug` inside a caucus's own channels tells its members, and
`@facilitators` in an open channel tells the site's facilitators.

Which groups an author may address where is the policy's (forum.policy.follows). Finding them
costs no query: a caucus can only be addressed in its own channel, whose caucus is already
loaded, so no name written anywhere else is ever looked up, and an outsider's `@some-caucus`
renders and notifies exactly like a name nobody has.

A group mention is a mention: it reaches members who muted the thread, it is told as kind
"mention", and it tells at most `GROUP_MENTION_CAP` members (the longest-standing first), never
the author.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from forum import policy
from forum.models import CaucusMembership, Channel, Member, Thread
from forum.policy import Actor
from forum.policy.follows import FACILITATORS, GROUP_MENTION_CAP
from forum.realtime.events import Tx
from forum.services import notifications


@dataclass(frozen=True)
class Group:
    name: str
    # Where the mention links to.
    href: str
    # The caucus addressed; None for the facilitators.
    caucus_id: int | None


def addressable(actor: Actor, channel: Channel, names: Iterable[str]) -> dict[str, Group]:
    """The groups among `names` that `actor` may address in `channel`, by name."""
    wanted = set(names)
    out: dict[str, Group] = {}
    if FACILITATORS in wanted and policy.follows.can_mention_facilitators(actor, channel):
        out[FACILITATORS] = Group(FACILITATORS, "/moderation/log", None)
    caucus = channel.caucus if channel.caucus_id is not None else None
    if (
        caucus is not None
        and caucus.slug.lower() in wanted
        and policy.follows.can_mention_caucus(actor, channel, caucus)
    ):
        out[caucus.slug.lower()] = Group(caucus.slug.lower(), f"/caucuses/{caucus.slug}", caucus.id)
    return out


async def members_of(tx: Tx, group: Group, author_id: int | None) -> list[int]:
    """Up to GROUP_MENTION_CAP active members of the group, the author left out."""
    if group.caucus_id is not None:
        query = CaucusMembership.filter(
            caucus_id=group.caucus_id, status="active", member__status="active"
        )
        if author_id is not None:
            query = query.exclude(member_id=author_id)
        rows = await (
            query.order_by("created_at", "id")
            .limit(GROUP_MENTION_CAP)
            .using_db(tx.conn)
            .values_list("member_id", flat=True)
        )
    else:
        found = Member.filter(policy.follows.facilitators())
        if author_id is not None:
            found = found.exclude(id=author_id)
        rows = await (
            found.order_by("created_at", "id")
            .limit(GROUP_MENTION_CAP)
            .using_db(tx.conn)
            .values_list("id", flat=True)
        )
    return [int(r) for r in rows]  # type: ignore[call-overload]


async def tell(
    tx: Tx,
    thread: Thread,
    post_id: int,
    author_id: int | None,
    author: str,
    groups: Iterable[Group],
    told: set[int],
) -> set[int]:
    """Tell each addressed group's members (those not told of this post already, and who may
    read the thread now) that they were mentioned; returns who was told."""
    reached: set[int] = set()
    for group in groups:
        ids = set(await members_of(tx, group, author_id)) - told - reached
        if not ids:
            continue
        members = await Member.filter(id__in=sorted(ids), status="active").using_db(tx.conn)
        actors = await notifications.actors_for(members)
        allowed = [mid for mid, a in actors.items() if policy.can(a, policy.Action.READ, thread)]
        reached |= set(
            await notifications.notify_many(
                tx,
                allowed,
                "mention",
                f"@{author} mentioned @{group.name} in “{thread.title}”",
                f"/t/{thread.id}#p{post_id}",
                actor_id=author_id,
                thread=thread,
                post_id=post_id,
            )
        )
    return reached
