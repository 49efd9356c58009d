"""The committee and its alternate body: seating and unseating members, and the roster.

Seats are not site roles. Every change is a public, reasoned entry in the moderation log (the
roster is the one thing about reports the log shows) and tells the seated members that the
roster changed. An admin may not take a seat, and a seated member may not be made an admin
(see `policy.reports` and `accounts.set_role`).
"""

from __future__ import annotations

from dataclasses import dataclass

from forum import limits, policy
from forum.errors import Invalid, NotFound
from forum.models import CommitteeSeat, Member, ModerationAction
from forum.models.reports import BODIES
from forum.realtime.events import Tx, unit_of_work
from forum.services import accounts, notifications
from forum.services.context import Ctx, Services

ROSTER_TEXT = "The committee roster changed"


@dataclass(frozen=True)
class Roster:
    committee: list[Member]
    alternate: list[Member]


async def seat_of(member_id: int | None) -> str | None:
    """The body a member sits on (committee | alternate), or None."""
    if member_id is None:
        return None
    rows = await CommitteeSeat.filter(member_id=member_id).values_list("body", flat=True)
    return str(rows[0]) if rows else None


async def holds_seat(member_id: int) -> bool:
    return await CommitteeSeat.exists(member_id=member_id)


async def roster(ctx: Ctx | None = None) -> Roster:
    """Who sits on each body (every member who can sign in may read it)."""
    if ctx is not None and not policy.reports.can_see_roster(ctx.actor):
        raise NotFound()
    seats = await CommitteeSeat.all().select_related("member").order_by("created_at")
    by_body: dict[str, list[Member]] = {b: [] for b in BODIES}
    for seat in seats:
        by_body.setdefault(seat.body, []).append(seat.member)  # type: ignore[arg-type]
    for members in by_body.values():
        members.sort(key=lambda m: m.handle_key)
    return Roster(committee=by_body["committee"], alternate=by_body["alternate"])


def _reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid(fields={"reason": "Give a reason: the log shows it to every member."})
    if len(reason) > limits.MAX_REASON:
        raise Invalid(fields={"reason": f"A reason has at most {limits.MAX_REASON:,} characters."})
    return reason


async def _tell_roster(tx: Tx, also: int | None = None) -> None:
    rows = await CommitteeSeat.all().using_db(tx.conn).values_list("member_id", flat=True)
    ids: set[int] = {int(i) for i in rows}  # type: ignore[call-overload]
    if also is not None:
        ids.add(also)
    for member_id in sorted(ids):
        await notifications.notify(tx, member_id, "report", ROSTER_TEXT, "/committee")


async def add(
    services: Services, ctx: Ctx | None, handle: str, reason: str, body: str = "committee"
) -> Member:
    """Seat a member (ctx None: the operator at the command line)."""
    if ctx is not None and not policy.reports.can_manage_committee(ctx.actor):
        raise NotFound()
    if body not in BODIES:
        raise Invalid(fields={"body": "Choose the committee or the alternate body."})
    reason = _reason(reason)
    try:
        member = await accounts.member_by_handle(handle.strip().lstrip("@"))
    except NotFound:
        raise Invalid(fields={"handle": f"There is no member @{handle.lstrip('@')}."}) from None
    policy.reports.check_may_take_seat(policy.is_admin_account(member))
    async with unit_of_work(services.publish) as tx:
        if await CommitteeSeat.filter(member_id=member.id).using_db(tx.conn).exists():
            raise Invalid(fields={"handle": f"@{member.handle} already holds a seat."})
        await CommitteeSeat.create(member_id=member.id, body=body, using_db=tx.conn)
        await ModerationAction.create(
            actor_id=ctx.member.id if ctx and ctx.member else None,
            action="committee.add" if body == "committee" else "alternate.add",
            reason=reason,
            subject_id=member.id,
            target_label=f"@{member.handle} ({body})",
            using_db=tx.conn,
        )
        await _tell_roster(tx)
    return member


async def remove(services: Services, ctx: Ctx | None, handle: str, reason: str) -> Member:
    if ctx is not None and not policy.reports.can_manage_committee(ctx.actor):
        raise NotFound()
    reason = _reason(reason)
    try:
        member = await accounts.member_by_handle(handle.strip().lstrip("@"))
    except NotFound:
        raise Invalid(fields={"handle": f"There is no member @{handle.lstrip('@')}."}) from None
    async with unit_of_work(services.publish) as tx:
        seat = await CommitteeSeat.filter(member_id=member.id).using_db(tx.conn).first()
        if seat is None:
            raise Invalid(fields={"handle": f"@{member.handle} holds no seat."})
        await CommitteeSeat.filter(id=seat.id).using_db(tx.conn).delete()
        await ModerationAction.create(
            actor_id=ctx.member.id if ctx and ctx.member else None,
            action="committee.remove" if seat.body == "committee" else "alternate.remove",
            reason=reason,
            subject_id=member.id,
            target_label=f"@{member.handle} ({seat.body})",
            using_db=tx.conn,
        )
        await _tell_roster(tx, also=member.id)
        # Their open sockets on case topics are asked again (they no longer handle any case).
        await tx.emit("member", member.id, "access.changed", {"change": "committee"})
    return member
