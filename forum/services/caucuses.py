"""Caucuses: founded by any member, governed by their conveners, invisible to outsiders.

Every change of seat is an event on the member's own topic, written with the change, from which
every process narrows that member's open sockets; a member who leaves keeps no notification
about the caucus.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from forum import limits, policy
from forum.errors import Forbidden, Invalid, NotFound
from forum.models import Caucus, CaucusMembership, Channel, Member, Thread
from forum.models.caucuses import JOIN_POLICIES
from forum.policy import Action
from forum.realtime.events import Tx, unit_of_work
from forum.services import access, follows, moderation_log, notifications
from forum.services.channels import slugify
from forum.services.context import Ctx


@dataclass
class CaucusView:
    caucus: Caucus
    seat: str | None  # convener | member | None
    pending: str | None  # requested | invited | None
    channels: list[Channel]
    members: list[CaucusMembership]
    requests: list[CaucusMembership]
    invited: list[CaucusMembership]


def _clean(name: str, description: str, join_policy: str) -> tuple[str, str, str]:
    name = " ".join(name.split())
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Give the caucus a name."
    elif len(name) > limits.MAX_NAME:
        errors["name"] = f"A name has at most {limits.MAX_NAME:,} characters."
    if len(description) > limits.MAX_DESCRIPTION:
        errors["description"] = f"A description has at most {limits.MAX_DESCRIPTION:,} characters."
    if join_policy not in JOIN_POLICIES:
        errors["join_policy"] = "Choose how members join: by request or by invitation."
    if errors:
        raise Invalid(fields=errors)
    return name, description.strip(), join_policy


async def found(
    ctx: Ctx, name: str, description: str = "", listed: bool = True, join_policy: str = "request"
) -> Caucus:
    """Any active member founds a caucus and becomes its first convener."""
    policy.require(ctx.actor, Action.FOUND_CAUCUS)
    name, description, join_policy = _clean(name, description, join_policy)
    # Refuse a duplicate only among caucuses the founder can know of.
    if await Caucus.filter(policy.visible_caucuses(ctx.actor), name_key=name.lower()[:80]).exists():
        raise Invalid(
            fields={"name": "A caucus with this name exists: join it, or choose another name."}
        )
    slug = f"{slugify(name)[:60]}-{secrets.token_hex(3)}"
    async with unit_of_work(ctx.services.publish) as tx:
        caucus = await Caucus.create(
            name=name,
            name_key=name.lower()[:80],
            slug=slug,
            description=description,
            listed=listed,
            join_policy=join_policy,
            member_count=1,
            using_db=tx.conn,
        )
        await CaucusMembership.create(
            caucus=caucus,
            member_id=ctx.actor.member_id,
            role="convener",
            status="active",
            decided_by_id=ctx.actor.member_id,
            using_db=tx.conn,
        )
        await Channel.create(
            name=name,
            slug=f"{slug}-talk",
            caucus=caucus,
            description=f"The private channel of {name}.",
            using_db=tx.conn,
        )
        await _announce(tx, ctx.actor.member_id, caucus.id, "joined")  # type: ignore[arg-type]
    return caucus


async def listing(ctx: Ctx) -> list[Caucus]:
    """The caucuses this actor may know of: listed ones, and their own."""
    return await Caucus.filter(policy.visible_caucuses(ctx.actor)).order_by("name_key")


async def view(ctx: Ctx, slug: str) -> CaucusView:
    caucus = await access.caucus_by_slug(ctx, slug)
    seat = policy.caucuses.seat_of(ctx.actor, caucus)
    pending = None
    if policy.caucuses.is_waiting(ctx.actor, caucus):
        row = await CaucusMembership.get_or_none(caucus_id=caucus.id, member_id=ctx.actor.member_id)
        pending = row.status if row else None
    channels: list[Channel] = []
    members: list[CaucusMembership] = []
    requests: list[CaucusMembership] = []
    invited: list[CaucusMembership] = []
    if policy.can(ctx.actor, Action.READ_MEMBERS, caucus):
        channels = await Channel.filter(caucus_id=caucus.id).order_by("created_at", "id")
        rows = (
            await CaucusMembership.filter(caucus_id=caucus.id)
            .select_related("member")
            .order_by("-role", "created_at")
        )
        members = [r for r in rows if r.status == "active"]
        if policy.can(ctx.actor, Action.READ_REQUESTS, caucus):
            requests = [r for r in rows if r.status == "requested"]
            invited = [r for r in rows if r.status == "invited"]
    return CaucusView(caucus, seat, pending, channels, members, requests, invited)


async def _announce(tx: Tx, member_id: int, caucus_id: int, change: str) -> None:
    await tx.emit(
        "member", member_id, "caucus.membership", {"caucus_id": caucus_id, "change": change}
    )


async def _seat_of(
    caucus: Caucus, handle: str, active_only: bool = True
) -> tuple[Member, CaucusMembership | None]:
    """The member and their seat; removing or declining also reaches a suspended member."""
    # A handle longer than any can be names no one (and would not fit the column).
    too_long = len(handle) > limits.MAX_HANDLE
    member = None if too_long else await Member.get_or_none(handle_key=handle.lower())
    if member is None or (active_only and member.status != "active"):
        raise Invalid(fields={"handle": "There is no active member with that handle."})
    seat = await CaucusMembership.get_or_none(caucus_id=caucus.id, member_id=member.id)
    return member, seat


async def request_join(ctx: Ctx, slug: str, note: str = "") -> None:
    caucus = await access.caucus_by_slug(ctx, slug)
    policy.caucuses.check_request_join(ctx.actor, caucus)
    try:
        await _request(ctx, caucus, note)
    except IntegrityError:
        # The same request sent twice at once: the second is refused like any repeat.
        raise Forbidden("You have already asked to join.") from None


async def _request(ctx: Ctx, caucus: Caucus, note: str) -> None:
    async with unit_of_work(ctx.services.publish) as tx:
        await CaucusMembership.create(
            caucus=caucus,
            member_id=ctx.actor.member_id,
            status="requested",
            note=note.strip()[:500],
            using_db=tx.conn,
        )
        await _announce(tx, ctx.actor.member_id, caucus.id, "requested")  # type: ignore[arg-type]
        conveners = await CaucusMembership.filter(
            caucus_id=caucus.id, role="convener", status="active"
        ).using_db(tx.conn)
        for seat in conveners:
            await notifications.notify(
                tx,
                seat.member_id,
                "caucus",
                f"@{ctx.actor.handle} asked to join {caucus.name}",
                f"/caucuses/{caucus.slug}#requests",
                actor_id=ctx.actor.member_id,
                caucus_id=caucus.id,
            )


async def decide(ctx: Ctx, slug: str, handle: str, verb: str) -> Member:
    """A convener admits, declines, removes, appoints or invites a member."""
    caucus = await access.caucus_by_slug(ctx, slug)
    policy.require(ctx.actor, Action.GOVERN, caucus)
    member, seat = await _seat_of(caucus, handle, active_only=verb not in ("remove", "decline"))
    try:
        return await _decide(ctx, caucus, member, seat, verb)
    except IntegrityError:
        # The same invitation sent twice at once: the second finds the first's seat.
        raise Invalid(f"@{member.handle} is already in this caucus or waiting.") from None


async def _decide(
    ctx: Ctx, caucus: Caucus, member: Member, seat: CaucusMembership | None, verb: str
) -> Member:
    async with unit_of_work(ctx.services.publish) as tx:
        if verb == "admit":
            if seat is None or seat.status != "requested":
                raise Invalid(f"@{member.handle} has not asked to join.")
            seat.status = "active"
            seat.decided_by_id = ctx.actor.member_id
            await seat.save(using_db=tx.conn)
            await (
                Caucus.filter(id=caucus.id)
                .using_db(tx.conn)
                .update(member_count=F("member_count") + 1)
            )
            await notifications.notify(
                tx,
                member.id,
                "caucus",
                f"You were admitted to {caucus.name}",
                f"/caucuses/{caucus.slug}",
                actor_id=ctx.actor.member_id,
                caucus_id=caucus.id,
            )
            await _announce(tx, member.id, caucus.id, "joined")
        elif verb == "decline":
            if seat is None or seat.status != "requested":
                raise Invalid(f"@{member.handle} has not asked to join.")
            await seat.delete(using_db=tx.conn)
            await notifications.forget_caucus(tx.conn, member.id, caucus.id)
            # The requester knew of the caucus; the notice stays theirs after the seat is gone.
            await notifications.notify(
                tx,
                member.id,
                "caucus",
                f"Your request to join {caucus.name} was declined",
                "/caucuses",
                actor_id=ctx.actor.member_id,
            )
            await _announce(tx, member.id, caucus.id, "declined")
        elif verb == "invite":
            if seat is not None:
                raise Invalid(f"@{member.handle} is already in this caucus or waiting.")
            await CaucusMembership.create(
                caucus=caucus,
                member=member,
                status="invited",
                decided_by_id=ctx.actor.member_id,
                using_db=tx.conn,
            )
            await notifications.notify(
                tx,
                member.id,
                "caucus",
                f"@{ctx.actor.handle} invited you to join {caucus.name}",
                f"/caucuses/{caucus.slug}",
                actor_id=ctx.actor.member_id,
                caucus_id=caucus.id,
            )
            await _announce(tx, member.id, caucus.id, "invited")
        elif verb == "remove":
            if seat is None:
                raise Invalid(f"@{member.handle} is not in this caucus.")
            await _remove_seat(tx, caucus, seat, member.id)
            if seat.status == "active":
                await moderation_log.record(
                    tx.conn,
                    ctx,
                    "caucus_remove",
                    "removed by a convener",
                    caucus_id=caucus.id,
                    subject=member,
                    label=f"@{member.handle}",
                )
        elif verb == "appoint":
            if seat is None or seat.status != "active":
                raise Invalid(f"@{member.handle} must be a member of the caucus first.")
            if policy.is_convener_seat(seat):
                raise Invalid(f"@{member.handle} is already a convener.")
            seat.role = "convener"
            await seat.save(using_db=tx.conn)
            await _announce(tx, member.id, caucus.id, "appointed")
        else:
            raise NotFound()
    return member


async def _remove_seat(tx: Tx, caucus: Caucus, seat: CaucusMembership, member_id: int) -> None:
    if policy.is_convener_seat(seat):
        others = (
            await CaucusMembership.filter(caucus_id=caucus.id, role="convener", status="active")
            .exclude(id=seat.id)
            .using_db(tx.conn)
            .count()
        )
        if others == 0:
            raise Invalid("A caucus keeps at least one convener: appoint another first.")
    await seat.delete(using_db=tx.conn)
    if seat.status == "active":
        await (
            Caucus.filter(id=caucus.id).using_db(tx.conn).update(member_count=F("member_count") - 1)
        )
    await notifications.forget_caucus(tx.conn, member_id, caucus.id)
    await _announce(tx, member_id, caucus.id, "left")


async def leave(ctx: Ctx, slug: str) -> None:
    """Members leave at will (a last convener appoints another first); a pending request or
    invitation is withdrawn the same way."""
    caucus = await access.caucus_by_slug(ctx, slug)
    policy.require(ctx.actor, Action.LEAVE, caucus)
    seat = await CaucusMembership.get(caucus_id=caucus.id, member_id=ctx.actor.member_id)
    async with unit_of_work(ctx.services.publish) as tx:
        await _remove_seat(tx, caucus, seat, ctx.actor.member_id)  # type: ignore[arg-type]


async def accept_invitation(ctx: Ctx, slug: str) -> None:
    caucus = await access.caucus_by_slug(ctx, slug)
    seat = await CaucusMembership.get_or_none(
        caucus_id=caucus.id, member_id=ctx.actor.member_id, status="invited"
    )
    if seat is None or not policy.can(ctx.actor, Action.ACCEPT_INVITATION, caucus):
        raise Invalid("There is no invitation to accept.")
    async with unit_of_work(ctx.services.publish) as tx:
        seat.status = "active"
        await seat.save(using_db=tx.conn)
        await (
            Caucus.filter(id=caucus.id).using_db(tx.conn).update(member_count=F("member_count") + 1)
        )
        await _announce(tx, ctx.actor.member_id, caucus.id, "joined")  # type: ignore[arg-type]


async def step_down(ctx: Ctx, slug: str) -> None:
    caucus = await access.caucus_by_slug(ctx, slug)
    policy.require(ctx.actor, Action.GOVERN, caucus)
    others = (
        await CaucusMembership.filter(caucus_id=caucus.id, role="convener", status="active")
        .exclude(member_id=ctx.actor.member_id)
        .count()
    )
    if others == 0:
        raise Invalid("A caucus keeps at least one convener: appoint another first.")
    async with unit_of_work(ctx.services.publish) as tx:
        await (
            CaucusMembership.filter(caucus_id=caucus.id, member_id=ctx.actor.member_id)
            .using_db(tx.conn)
            .update(role="member")
        )
        await _announce(tx, ctx.actor.member_id, caucus.id, "stepped_down")  # type: ignore[arg-type]


async def archive(ctx: Ctx, slug: str, reason: str) -> Caucus:
    """Site admins may archive a listed caucus (its metadata only): its channels become
    read-only, and the act with its reason is logged where the caucus's members read it."""
    caucus = await access.caucus_by_slug(ctx, slug)
    policy.require(ctx.actor, Action.ARCHIVE, caucus)
    reason = reason.strip()
    if not reason:
        raise Invalid(fields={"reason": "Give a reason: the caucus's members will read it."})
    if caucus.archived_at is not None:
        raise Invalid("This caucus is already archived.")
    async with unit_of_work(ctx.services.publish) as tx:
        caucus.archived_at = datetime.now(UTC)
        await caucus.save(update_fields=["archived_at"], using_db=tx.conn)
        await Channel.filter(caucus_id=caucus.id).using_db(tx.conn).update(archived=True)
        seated = await CaucusMembership.filter(caucus_id=caucus.id).using_db(tx.conn)
        for seat in seated:
            await _announce(tx, seat.member_id, caucus.id, "archived")
        await moderation_log.record(
            tx.conn,
            ctx,
            "caucus_archive",
            reason,
            caucus_id=caucus.id,
            label="this caucus (site-wide act)",
        )
    return caucus


async def discuss_statement(ctx: Ctx, slug: str, statement_thread_id: int) -> Thread:
    """Open a caucus thread about a published statement, linking to it."""
    caucus = await access.caucus_by_slug(ctx, slug)
    policy.require(ctx.actor, Action.READ_MEMBERS, caucus)
    source = await access.thread_for(ctx, statement_thread_id)
    if source.statement_id is None or not source.seeded:
        raise Invalid("That thread is not a statement.")
    channel = await Channel.filter(caucus_id=caucus.id).order_by("created_at", "id").first()
    if channel is None:
        raise NotFound()
    policy.require(ctx.actor, Action.START_THREAD, channel)
    async with unit_of_work(ctx.services.publish) as tx:
        thread = await Thread.create(
            channel_id=channel.id,
            title=source.title,
            statement_id=source.statement_id,
            author_id=ctx.actor.member_id,
            using_db=tx.conn,
        )
        await (
            Channel.filter(id=channel.id)
            .using_db(tx.conn)
            .update(thread_count=F("thread_count") + 1)
        )
        await tx.emit("channel", channel.id, "thread.created", {"thread_id": thread.id})
        thread.channel = channel
        if ctx.actor.member_id is not None:
            await follows.follow_own(tx.conn, ctx.actor.member_id, thread.id)
            await follows.tell_channel_followers(
                tx, thread, None, ctx.actor.member_id, ctx.actor.handle, set()
            )
    return thread


async def my_caucuses(ctx: Ctx) -> list[Caucus]:
    """The caucuses the actor sits in (not archived), where a statement may be discussed."""
    mine = policy.caucuses.my_caucuses(ctx.actor)
    return await Caucus.filter(mine) if mine is not None else []
