"""Decisions in a thread: propose, open (freezing the electorate), vote, close, state the outcome.

Every rule (who proposes, votes, closes, sees results) is asked of `forum.policy.decisions`;
this module keeps the state machine (draft -> open -> closed) and the ballots. Rules stated
before voting opens (kind, options, quorum, threshold, secrecy, when results show) never change
afterwards: the only updates an open decision takes are ballots, an earlier or later close, and
its closing.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from forum import limits, policy
from forum.errors import Conflict, Forbidden, Invalid, NotFound
from forum.models import Ballot, Decision, DecisionVoter, Member, Thread
from forum.models.decisions import KINDS, POSITIONS, RESULTS_SHOWN, THRESHOLDS
from forum.models.ids import distinct_ids
from forum.realtime.events import Publish, Tx, unit_of_work
from forum.services import access, moderation_log, notifications, tally
from forum.services.context import Ctx

MAX_OPTIONS = 20
MAX_OPTION = 200
MAX_SEATS = 10
MIN_VOTING = timedelta(minutes=5)
MAX_VOTING = timedelta(days=90)
REMIND_BEFORE = timedelta(hours=24)

KIND_LABELS = {
    "motion": "Motion",
    "poll": "Poll",
    "ranked": "Ranked choice",
    "time": "Time poll",
}
THRESHOLD_LABELS = {
    "simple": "simple majority (more agree than disagree)",
    "two_thirds": "two thirds of those agreeing or disagreeing",
    "consensus": "consensus (no block, and more agree than disagree)",
    "plurality": "the option chosen most",
}


@dataclass(frozen=True)
class Rules:
    """What a proposer states before voting opens."""

    kind: str
    title: str
    body: str
    options: list[str]
    closes_at: datetime
    multiple: bool = False
    seats: int = 1
    secret: bool = False
    results_shown: str = "closed"
    quorum: int = 0
    threshold: str = "simple"


def now() -> datetime:
    return datetime.now(UTC)


def _check_rules(rules: Rules, moment: datetime) -> dict[str, Any]:
    """The decision's columns for these rules, or Invalid naming every field that is wrong."""
    errors: dict[str, str] = {}
    title = " ".join(rules.title.split())
    if not title:
        errors["title"] = "Give the decision a title."
    elif len(title) > limits.MAX_TITLE:
        errors["title"] = f"A title has at most {limits.MAX_TITLE} characters."
    if rules.kind not in KINDS:
        errors["kind"] = "Choose a motion, a poll, a ranked choice or a time poll."
    options = [" ".join(o.split()) for o in rules.options]
    options = [o for o in options if o]
    if rules.kind == "motion":
        options = list(POSITIONS)
    elif len(options) < 2:
        errors["options"] = "Give at least two options, one a line."
    elif len(options) > MAX_OPTIONS:
        errors["options"] = f"At most {MAX_OPTIONS} options."
    elif any(len(o) > MAX_OPTION for o in options):
        errors["options"] = f"An option has at most {MAX_OPTION} characters."
    elif len({o.casefold() for o in options}) < len(options):
        errors["options"] = "Each option must differ from the others."
    threshold = rules.threshold
    if rules.kind == "motion" and threshold not in ("simple", "two_thirds", "consensus"):
        errors["threshold"] = "A motion is carried by a simple majority, two thirds or consensus."
    if rules.kind in ("poll", "time") and threshold not in ("plurality", "simple"):
        errors["threshold"] = "A poll is decided by the option chosen most, or a majority."
    if rules.kind == "ranked":
        threshold = "plurality"  # the count itself (instant runoff or STV) decides
    if rules.threshold not in THRESHOLDS:
        errors["threshold"] = "Choose a threshold."
    seats = rules.seats if rules.kind == "ranked" else 1
    if not 1 <= seats <= min(MAX_SEATS, max(1, len(options) - 1)):
        errors["seats"] = "Seats: at least one, and fewer than the options."
    if not 0 <= rules.quorum <= 100:
        errors["quorum"] = "A quorum is a share of the electorate: 0 to 100 percent."
    if rules.results_shown not in RESULTS_SHOWN:
        errors["results_shown"] = "Choose when results are shown."
    closes_at = rules.closes_at.astimezone(UTC)
    if closes_at < moment + MIN_VOTING:
        errors["closes_at"] = "Voting must stay open at least five minutes."
    elif closes_at > moment + MAX_VOTING:
        errors["closes_at"] = "Voting may stay open at most 90 days."
    if len(rules.body) > limits.MAX_BODY:
        errors["body"] = f"A description has at most {limits.MAX_BODY:,} characters."
    if errors:
        raise Invalid(fields=errors)
    return {
        "kind": rules.kind,
        "title": title,
        "body": rules.body.strip(),
        "options": options,
        "multiple": rules.kind == "time" or (rules.kind == "poll" and rules.multiple),
        "seats": seats,
        "secret": rules.secret,
        "results_shown": rules.results_shown,
        "quorum": rules.quorum,
        "threshold": threshold,
        "closes_at": closes_at,
    }


# ---- fetch and authorize ---------------------------------------------------------------------


async def decision_for(ctx: Ctx, decision_id: int) -> Decision:
    """The decision if the actor may read it (NotFound otherwise); one whose time has passed is
    closed first, so no reader ever sees a decision open after its close."""
    if not 0 < decision_id < 2**31:
        raise NotFound()
    decision = (
        await Decision.filter(id=decision_id)
        .select_related("thread__channel__caucus", "proposer")
        .first()
    )
    if decision is None or not policy.decisions.can_read_decision(ctx.actor, decision):
        raise NotFound()
    if decision.status == "open" and decision.closes_at <= now():
        await close_by_time(decision.id, ctx.services.publish)
        return await decision_for(ctx, decision_id)
    return decision


async def for_thread(ctx: Ctx, thread: Thread) -> list[Decision]:
    """The decisions of a thread the actor reads, oldest first."""
    policy.require(ctx.actor, policy.Action.READ, thread)
    found = await Decision.filter(thread_id=thread.id).order_by("created_at", "id")
    for d in found:
        d.thread = thread
    return list(found)


# ---- propose, edit the draft, open -----------------------------------------------------------


async def propose(ctx: Ctx, thread_id: int, rules: Rules, open_now: bool = True) -> Decision:
    thread = await access.thread_for(ctx, thread_id)
    policy.decisions.check_propose(ctx.actor, thread)
    columns = _check_rules(rules, now())
    async with unit_of_work(ctx.services.publish) as tx:
        decision = await Decision.create(
            thread_id=thread.id,
            proposer_id=ctx.actor.member_id,
            caucus_id=thread.channel.caucus_id,
            receipt_key=secrets.token_hex(32),
            using_db=tx.conn,
            **columns,
        )
        decision.thread = thread
        if open_now:
            await _open(tx, decision)
        await _announce(tx, decision)
    return decision


async def update_rules(ctx: Ctx, decision_id: int, rules: Rules) -> Decision:
    decision = await decision_for(ctx, decision_id)
    policy.decisions.check_manage(ctx.actor, decision)
    if decision.status != "draft":
        raise Conflict("The rules are fixed once voting opens: they cannot change now.")
    columns = _check_rules(rules, now())
    async with unit_of_work(ctx.services.publish) as tx:
        changed = (
            await Decision.filter(id=decision.id, status="draft")
            .using_db(tx.conn)
            .update(**columns)
        )
        if not changed:
            raise Conflict("The rules are fixed once voting opens: they cannot change now.")
        await _announce(tx, decision)
    return await decision_for(ctx, decision_id)


async def open_voting(ctx: Ctx, decision_id: int) -> Decision:
    decision = await decision_for(ctx, decision_id)
    policy.decisions.check_manage(ctx.actor, decision)
    if decision.status != "draft":
        raise Conflict("Voting is already open, or closed.")
    if decision.closes_at < now() + MIN_VOTING:
        raise Invalid(fields={"closes_at": "Set a closing time at least five minutes away."})
    async with unit_of_work(ctx.services.publish) as tx:
        await _open(tx, decision)
        await _announce(tx, decision)
    return await decision_for(ctx, decision_id)


async def _open(tx: Tx, decision: Decision) -> None:
    """Freeze the electorate: the active members who may read the thread now."""
    moment = now()
    changed = (
        await Decision.filter(id=decision.id, status="draft")
        .using_db(tx.conn)
        .update(status="open", opened_at=moment)
    )
    if not changed:
        raise Conflict("Voting is already open, or closed.")
    channel = decision.thread.channel
    member_ids = list(
        await Member.filter(policy.decisions.electorate(channel))
        .using_db(tx.conn)
        .distinct()
        .values_list("id", flat=True)
    )
    ids = distinct_ids(len(member_ids))
    await DecisionVoter.bulk_create(
        [
            DecisionVoter(id=i, decision_id=decision.id, member_id=m)
            for i, m in zip(ids, member_ids, strict=True)
        ],
        batch_size=500,
        using_db=tx.conn,
    )
    # A vote of less than a day has no reminder: it would arrive as voting opens.
    reminded = decision.closes_at - moment <= REMIND_BEFORE
    await (
        Decision.filter(id=decision.id)
        .using_db(tx.conn)
        .update(electorate=len(member_ids), reminded=reminded)
    )
    decision.status = "open"
    decision.opened_at = moment
    decision.electorate = len(member_ids)


def public_data(decision: Decision) -> dict[str, Any]:
    """What every reader of the thread may receive live: counts, and the result once closed."""
    data: dict[str, Any] = {
        "decision_id": decision.id,
        "status": decision.status,
        "electorate": decision.electorate,
        "ballots_cast": decision.ballots_cast,
        "closes_at": decision.closes_at.isoformat(),
    }
    if policy.decisions.tally_is_public(decision):
        data["outcome"] = decision.outcome
        data["result"] = decision.result
    return data


async def _announce(tx: Tx, decision: Decision, reread: bool = True) -> None:
    if reread:
        decision = await Decision.filter(id=decision.id).using_db(tx.conn).get()
    await tx.emit("thread", decision.thread_id, "decision.updated", public_data(decision))


# ---- voting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    position: str = ""
    reason: str = ""
    options: tuple[int, ...] = ()
    ranking: tuple[int, ...] = ()


def _check_choice(decision: Decision, choice: Choice) -> dict[str, Any]:
    count = len(decision.options)
    if decision.kind == "motion":
        if choice.position not in POSITIONS:
            raise Invalid(fields={"position": "Choose agree, abstain, disagree or block."})
        reason = " ".join(choice.reason.split())[: limits.MAX_REASON]
        if choice.position == "block" and not reason:
            raise Invalid(fields={"reason": "A block needs a reason: say what you object to."})
        return {"position": choice.position, "reason": reason}
    if decision.kind == "ranked":
        ranking = list(choice.ranking)
        if not ranking:
            raise Invalid(fields={"ranking": "Rank at least one option."})
        if any(not 0 <= o < count for o in ranking):
            raise Invalid(fields={"ranking": "That option is not on this ballot."})
        if len(set(ranking)) < len(ranking):
            raise Invalid(fields={"ranking": "Give each option one rank at most."})
        return {"ranking": ranking}
    chosen = sorted(set(choice.options))
    if not chosen:
        raise Invalid(fields={"options": "Choose an option."})
    if any(not 0 <= o < count for o in chosen):
        raise Invalid(fields={"options": "That option is not on this ballot."})
    if not decision.multiple and len(chosen) > 1:
        raise Invalid(fields={"options": "Choose one option only."})
    return {"options": chosen}


def _receipt_hash(decision: Decision, receipt: str) -> str:
    key = decision.receipt_key.encode()
    return hmac.new(key, receipt.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Voted:
    decision: Decision
    receipt: str | None  # a new secret ballot's receipt: shown once, never stored
    changed: bool


async def voter_of(decision: Decision, member_id: int | None) -> DecisionVoter | None:
    if member_id is None:
        return None
    return await DecisionVoter.filter(decision_id=decision.id, member_id=member_id).first()


async def vote(ctx: Ctx, decision_id: int, choice: Choice, receipt: str = "") -> Voted:
    """Cast a ballot, or change one: on an open ballot by voting again, on a secret ballot with
    the receipt the first vote gave."""
    decision = await decision_for(ctx, decision_id)
    if decision.status == "draft":
        raise Conflict("Voting has not opened yet.")
    if decision.status == "closed":
        raise Conflict("Voting has closed: no more votes are taken.")
    voter = await voter_of(decision, ctx.actor.member_id)
    if not policy.decisions.can_vote(ctx.actor, decision, voter is not None):
        if voter is None and ctx.actor.signed_in:
            raise Forbidden(
                "Only the members who could read this thread when voting opened may vote."
            )
        raise Forbidden("You may not vote now.")
    assert voter is not None
    data = _check_choice(decision, choice)
    receipt = receipt.strip()
    changing = bool(receipt) or (voter.voted and not decision.secret)
    async with unit_of_work(ctx.services.publish) as tx:
        if changing:
            await _change(tx, decision, ctx.actor.member_id or 0, data, receipt)
            made = None
        else:
            made = await _cast(tx, decision, ctx.actor.member_id or 0, data)
        # The count as this transaction left it (the decision row is locked until commit).
        counted = (
            await Decision.filter(id=decision.id)
            .using_db(tx.conn)
            .values_list("ballots_cast", flat=True)
        )
        decision.ballots_cast = int(counted[0])  # type: ignore[call-overload]
        await _announce(tx, decision, reread=False)
    return Voted(decision, made, changing)


async def _still_open(conn: BaseDBAsyncClient, decision: Decision, cast: bool) -> None:
    """Lock the decision row (so a close waits for this vote) and check it is open."""
    changed = (
        await Decision.filter(id=decision.id, status="open", closes_at__gt=now())
        .using_db(conn)
        .update(ballots_cast=F("ballots_cast") + (1 if cast else 0))
    )
    if not changed:
        raise Conflict("Voting has closed: no more votes are taken.")


async def _cast(tx: Tx, decision: Decision, member_id: int, data: dict[str, Any]) -> str | None:
    await _still_open(tx.conn, decision, cast=True)
    first = (
        await DecisionVoter.filter(decision_id=decision.id, member_id=member_id, voted=False)
        .using_db(tx.conn)
        .update(voted=True)
    )
    if not first:
        raise Conflict(
            "You have already voted. To change a secret vote, give the receipt you were shown."
        )
    if not decision.secret:
        await Ballot.create(
            decision_id=decision.id, choice=data, member_id=member_id, using_db=tx.conn
        )
        return None
    receipt = secrets.token_urlsafe(18)
    await Ballot.create(
        decision_id=decision.id,
        choice=data,
        receipt_hash=_receipt_hash(decision, receipt),
        using_db=tx.conn,
    )
    return receipt


async def _change(
    tx: Tx, decision: Decision, member_id: int, data: dict[str, Any], receipt: str
) -> None:
    await _still_open(tx.conn, decision, cast=False)
    if decision.secret:
        if not receipt or len(receipt) > 100:
            raise Invalid(fields={"receipt": "Give the receipt you were shown when you voted."})
        query = Ballot.filter(
            decision_id=decision.id, receipt_hash=_receipt_hash(decision, receipt)
        )
    else:
        query = Ballot.filter(decision_id=decision.id, member_id=member_id)
    changed = await query.using_db(tx.conn).update(choice=data)
    if not changed:
        raise Invalid(fields={"receipt": "That receipt does not match a ballot in this decision."})


# ---- closing ---------------------------------------------------------------------------------


def _reason(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise Invalid(fields={"reason": "Give a reason: the moderation log will show it."})
    if len(text) > limits.MAX_REASON:
        raise Invalid(fields={"reason": f"A reason has at most {limits.MAX_REASON:,} characters."})
    return text


async def close(ctx: Ctx, decision_id: int, reason: str) -> Decision:
    """Close early: the proposer or a moderator, with a reason in the (caucus's) log."""
    decision = await decision_for(ctx, decision_id)
    policy.decisions.check_manage(ctx.actor, decision)
    reason = _reason(reason)
    if decision.status != "open":
        raise Conflict("Only a decision open for voting can be closed.")
    async with unit_of_work(ctx.services.publish) as tx:
        if not await _finish(tx, decision):
            raise Conflict("Only a decision open for voting can be closed.")
        await _log(tx, ctx, decision, "close_decision", reason)
    return await decision_for(ctx, decision_id)


async def extend(ctx: Ctx, decision_id: int, closes_at: datetime, reason: str) -> Decision:
    """Move the close later (or earlier, but not past): with a reason in the log."""
    decision = await decision_for(ctx, decision_id)
    policy.decisions.check_manage(ctx.actor, decision)
    reason = _reason(reason)
    if decision.status != "open":
        raise Conflict("Only a decision open for voting can have its close moved.")
    moment = now()
    closes_at = closes_at.astimezone(UTC)
    if closes_at < moment + MIN_VOTING:
        raise Invalid(fields={"closes_at": "The new close must be at least five minutes away."})
    if closes_at > (decision.opened_at or moment) + MAX_VOTING:
        raise Invalid(fields={"closes_at": "Voting may stay open at most 90 days."})
    async with unit_of_work(ctx.services.publish) as tx:
        changed = (
            await Decision.filter(id=decision.id, status="open")
            .using_db(tx.conn)
            .update(closes_at=closes_at, reminded=closes_at - moment <= REMIND_BEFORE)
        )
        if not changed:
            raise Conflict("Only a decision open for voting can have its close moved.")
        label = f" to {closes_at:%Y-%m-%d %H:%M} UTC"
        await _log(tx, ctx, decision, "move_decision_close", reason, label)
        await _announce(tx, decision)
    return await decision_for(ctx, decision_id)


async def _log(
    tx: Tx, ctx: Ctx, decision: Decision, action: str, reason: str, extra: str = ""
) -> None:
    await moderation_log.record(
        tx.conn,
        ctx,
        action,
        reason,
        caucus_id=decision.caucus_id,
        thread_id=decision.thread_id,
        label=f"decision “{decision.title}”{extra}",
    )


async def _finish(tx: Tx, decision: Decision) -> bool:
    """Close and count, once: the UPDATE guarded by status makes a second closer (another
    process, the periodic task, a reader) a no-op. Returns whether this call closed it."""
    moment = now()
    changed = (
        await Decision.filter(id=decision.id, status="open")
        .using_db(tx.conn)
        .update(status="closed", closed_at=moment)
    )
    if not changed:
        return False
    fresh = await Decision.filter(id=decision.id).using_db(tx.conn).get()
    choices = (
        await Ballot.filter(decision_id=decision.id)
        .using_db(tx.conn)
        .values_list("choice", flat=True)
    )
    counted = count(fresh, list(choices))  # type: ignore[arg-type]
    await (
        Decision.filter(id=decision.id)
        .using_db(tx.conn)
        .update(outcome=counted.outcome, result=counted.as_json())
    )
    if fresh.secret:
        await reshuffle(tx.conn, decision.id)
    await _announce(tx, decision)
    if fresh.proposer_id is not None:
        thread = (
            await Thread.filter(id=decision.thread_id)
            .select_related("channel")
            .using_db(tx.conn)
            .first()
        )
        if thread is not None:
            await notifications.notify(
                tx,
                fresh.proposer_id,
                "decision",
                "Voting closed on a decision you proposed: write its outcome statement.",
                f"/d/{decision.id}",
                thread=thread,
            )
    return True


def count(decision: Decision, choices: list[dict[str, Any]]) -> tally.Count:
    """The server's count of a decision's ballots under its stated rules."""
    options = len(decision.options)
    if decision.kind == "motion":
        counted = tally.count_motion((c.get("position", "") for c in choices), decision.threshold)
    elif decision.kind == "ranked":
        counted = tally.count_ranked(
            (c.get("ranking", []) for c in choices), options, decision.seats, seed=decision.id
        )
    else:
        counted = tally.count_poll(
            (c.get("options", []) for c in choices), options, decision.threshold
        )
    if len(choices) < tally.quorum_needed(decision.electorate, decision.quorum):
        counted.outcome = "no_quorum"
    return counted


async def reshuffle(conn: BaseDBAsyncClient, decision_id: int) -> None:
    """After a secret ballot closes, write its ballots and voters again in random order, with
    new ids, in this one transaction, and forget the receipts (nothing can change any more).

    The rows themselves never linked a voter to a ballot, but PostgreSQL keeps two things
    beside each row: the transaction that wrote it (`xmin`: a ballot and its voter's flag were
    written by the same one) and its physical place (`ctid`: in order of writing). Rewriting
    both tables' rows for the decision gives them all one transaction and a random order. The
    old row versions stay on disk until vacuum, and the write-ahead log holds every change:
    someone who reads those (a database superuser) could still link them during and shortly
    after the vote; that is outside what the forum can hide."""
    ballots = list(
        await Ballot.filter(decision_id=decision_id).using_db(conn).values_list("choice", flat=True)
    )
    voters = list(
        await DecisionVoter.filter(decision_id=decision_id)
        .using_db(conn)
        .values_list("member_id", "voted")
    )
    random.SystemRandom().shuffle(ballots)
    voters.sort()
    await Ballot.filter(decision_id=decision_id).using_db(conn).delete()
    await DecisionVoter.filter(decision_id=decision_id).using_db(conn).delete()
    await Ballot.bulk_create(
        [
            Ballot(id=i, decision_id=decision_id, choice=c)
            for i, c in zip(distinct_ids(len(ballots)), ballots, strict=True)
        ],
        batch_size=500,
        using_db=conn,
    )
    await DecisionVoter.bulk_create(
        [
            DecisionVoter(id=i, decision_id=decision_id, member_id=m, voted=v)
            for i, (m, v) in zip(distinct_ids(len(voters)), voters, strict=True)
        ],
        batch_size=500,
        using_db=conn,
    )


async def close_by_time(decision_id: int, publish: Publish | None) -> bool:
    async with unit_of_work(publish) as tx:
        decision = (
            await Decision.filter(id=decision_id, status="open", closes_at__lte=now())
            .using_db(tx.conn)
            .first()
        )
        return decision is not None and await _finish(tx, decision)


async def run_due(publish: Publish | None, moment: datetime | None = None) -> tuple[int, int]:
    """Close decisions whose time has come and remind the electorate a day before; safe to run
    in every process at once (each close and each reminder is claimed by a guarded UPDATE).
    Returns (closed, reminded)."""
    moment = moment or now()
    closed = 0
    due = await Decision.filter(status="open", closes_at__lte=moment).values_list("id", flat=True)
    for decision_id in due:
        closed += await close_by_time(int(decision_id), publish)  # type: ignore[call-overload]
    reminded = 0
    soon = await Decision.filter(
        status="open", reminded=False, closes_at__lte=moment + REMIND_BEFORE
    ).values_list("id", flat=True)
    for decision_id in soon:
        reminded += await _remind(int(decision_id), publish)  # type: ignore[call-overload]
    return closed, reminded


async def _remind(decision_id: int, publish: Publish | None) -> int:
    async with unit_of_work(publish) as tx:
        claimed = (
            await Decision.filter(id=decision_id, status="open", reminded=False)
            .using_db(tx.conn)
            .update(reminded=True)
        )
        if not claimed:
            return 0
        decision = await Decision.filter(id=decision_id).using_db(tx.conn).get()
        thread = (
            await Thread.filter(id=decision.thread_id)
            .select_related("channel")
            .using_db(tx.conn)
            .first()
        )
        if thread is None:
            return 0
        if decision.caucus_id is None:
            text = f"A decision in “{thread.title}” closes within a day, and you have not voted."
        else:
            # No caucus name or thread title: this text may travel beyond the forum (email).
            text = "A decision in one of your caucuses closes within a day: you have not voted."
        waiting = (
            await DecisionVoter.filter(decision_id=decision_id, voted=False)
            .using_db(tx.conn)
            .values_list("member_id", flat=True)
        )
        for member_id in waiting:
            await notifications.notify(
                tx,
                int(member_id),  # type: ignore[call-overload]
                "decision",
                text,
                f"/d/{decision_id}",
                thread=thread,
            )
        return 1


# ---- the outcome statement -------------------------------------------------------------------


async def write_statement(ctx: Ctx, decision_id: int, text: str) -> Decision:
    decision = await decision_for(ctx, decision_id)
    policy.decisions.check_write_statement(ctx.actor, decision)
    if decision.status != "closed":
        raise Conflict("The outcome statement is written once voting has closed.")
    text = text.strip()
    if not text:
        raise Invalid(fields={"statement": "Write the outcome statement."})
    if len(text) > limits.MAX_NOTE * 5:
        raise Invalid(fields={"statement": f"At most {limits.MAX_NOTE * 5:,} characters."})
    async with unit_of_work(ctx.services.publish) as tx:
        await (
            Decision.filter(id=decision.id)
            .using_db(tx.conn)
            .update(statement=text, statement_at=now())
        )
        await _announce(tx, decision)
    return await decision_for(ctx, decision_id)


# ---- who proposes ----------------------------------------------------------------------------


async def set_proposers(ctx: Ctx, slug: str, who: str, reason: str) -> None:
    channel = await access.channel_by_slug(ctx, slug)
    policy.decisions.check_set_proposers(ctx.actor, channel)
    if who not in ("members", "moderators"):
        raise Invalid(fields={"proposers": "Choose members or moderators."})
    reason = _reason(reason)
    if channel.proposers == who:
        raise Invalid(fields={"proposers": "That is already the rule in this channel."})
    async with unit_of_work(ctx.services.publish) as tx:
        await type(channel).filter(id=channel.id).using_db(tx.conn).update(proposers=who)
        await moderation_log.record(
            tx.conn,
            ctx,
            "set_proposers",
            reason,
            caucus_id=channel.caucus_id,
            label=f"channel {channel.name}: decisions proposed by {who}",
        )
