"""Confidential reports: filing, escrow, the case and its acts, recusal, the public counts.

Every act is one transaction that appends to the case log (`reports_log.append`), changes the
case row, emits `case.entry` on the live topic `case:ID` (no text in it: the page fetches the
timeline) and tells the reporter "Your report has an update" with a link, never more. Fetch
and authorize go together (`case_for`): a case one may not read is NotFound, exactly like a
missing id, for admins and facilitators too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from forum import limits, policy
from forum.db import sql_for
from forum.errors import Conflict, Invalid, NotFound
from forum.models import (
    CaseEntry,
    CommitteeSeat,
    Member,
    Notification,
    Recusal,
    Report,
    ReportRespondent,
)
from forum.models.reports import LEVELS, OUTCOMES
from forum.policy.reports import CaseFacts
from forum.realtime.events import Tx, unit_of_work
from forum.services import access, committee, notifications, reports_crypto, reports_log
from forum.services.context import Ctx

UPDATE_TEXT = "Your report has an update"
HANDLER_TEXT = "A committee case has an update"
HANDLE_RE = re.compile(r"@?([A-Za-z0-9_.-]+)")

LEVEL_LABELS = {
    "record": "On record only",
    "formal": "Formal complaint",
    "escrow": "Held until someone else names the same member",
}
STATE_LABELS = {
    "held": "Held (only you can see it)",
    "received": "Received",
    "acknowledged": "Acknowledged",
    "respondent_informed": "Respondent informed",
    "response_received": "Response received",
    "recommendation": "Recommendation made",
    "closed": "Closed",
    "withdrawn": "Withdrawn",
}
OUTCOME_LABELS = {
    "no_action": "No action",
    "advice": "Advice given",
    "mediation": "Mediation",
    "warning": "Warning to the respondent",
    "suspension_recommended": "Suspension recommended",
    "other": "Other action",
}
ENTRY_LABELS = {
    "filed": "Report made",
    "released": "Released to the committee: another member named the same person",
    "acknowledged": "Acknowledged by the committee",
    "consent_asked": "The committee asks for your consent",
    "consent_given": "The reporter said yes",
    "consent_refused": "The reporter said no",
    "respondent_informed": "The respondent was informed",
    "response_received": "The respondent's response was received",
    "recommendation": "Recommendation",
    "closed": "Closed",
    "withdrawn": "Withdrawn by the reporter",
    "escalated": "The reporter asked the committee to act (formal complaint)",
    "message": "Message",
    "erased": "The reporter erased their text",
    "recused": "A committee member declared a conflict and stepped aside",
    "moved": "Passed to the alternate body (no committee member left who is not recused)",
}
HANDLER_VERBS = (
    "acknowledge",
    "ask_consent",
    "inform_respondent",
    "record_response",
    "recommend",
    "close",
    "declare_conflict",
)
REPORTER_VERBS = ("consent_yes", "consent_no", "escalate", "withdraw", "erase")
VERBS = (*HANDLER_VERBS, *REPORTER_VERBS, "message")


def _now() -> datetime:
    return datetime.now(UTC)


def _key(ctx: Ctx) -> bytes:
    return reports_crypto.load_key(ctx.settings)


def _text(value: str, name: str, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise Invalid(fields={name: "Please write something here."})
    if len(value) > limits.MAX_REPORT:
        raise Invalid(
            fields={name: f"At most {limits.MAX_REPORT:,} characters (this has {len(value):,})."}
        )
    return value


def parse_handles(raw: str | Iterable[str]) -> list[str]:
    text = raw if isinstance(raw, str) else " ".join(raw)
    if len(text) > limits.MAX_RESPONDENTS_INPUT:
        raise Invalid(fields={"respondents": "That is too long for a list of handles."})
    handles: list[str] = []
    for word in re.split(r"[\s,;]+", text):
        if not word:
            continue
        match = HANDLE_RE.fullmatch(word)
        if match is None or len(match.group(1)) > limits.MAX_HANDLE:
            raise Invalid(fields={"respondents": f"“{word[:40]}” is not a member's handle."})
        if match.group(1).lower() not in [h.lower() for h in handles]:
            handles.append(match.group(1))
    if len(handles) > limits.MAX_RESPONDENTS:
        raise Invalid(fields={"respondents": f"Name at most {limits.MAX_RESPONDENTS} members."})
    return handles


# ---- loading a case ----------------------------------------------------------------------------


async def _facts(report: Report, conn: BaseDBAsyncClient | None = None) -> CaseFacts:
    respondents = ReportRespondent.filter(report_id=report.id)
    recusals = Recusal.filter(report_id=report.id)
    if conn is not None:
        respondents, recusals = respondents.using_db(conn), recusals.using_db(conn)
    named = await respondents.values_list("member_id", flat=True)
    recused = await recusals.values_list("member_id", flat=True)
    return CaseFacts(
        report_id=report.id,
        reporter_id=report.reporter_id,
        state=report.state,
        level=report.level,
        body=report.body,
        consent=report.consent,
        respondent_ids=frozenset(int(i) for i in named),  # type: ignore[call-overload]
        recused_ids=frozenset(int(i) for i in recused),  # type: ignore[call-overload]
    )


async def _seat(ctx: Ctx) -> str | None:
    return policy.reports.seat_for(ctx.actor, await committee.seat_of(ctx.actor.member_id))


def _valid_id(report_id: int) -> bool:
    return 0 < report_id <= limits.MAX_ID


async def case_for(ctx: Ctx, report_id: int) -> tuple[Report, CaseFacts, str | None]:
    """The case, if this actor may read it; NotFound otherwise (as for a missing id)."""
    if not ctx.actor.signed_in or not _valid_id(report_id):
        raise NotFound()
    report = await Report.get_or_none(id=report_id)
    if report is None:
        raise NotFound()
    facts = await _facts(report)
    seat = await _seat(ctx)
    policy.reports.check_read_case(ctx.actor, seat, facts)
    return report, facts, seat


async def _eligible(conn: BaseDBAsyncClient, body: str, facts: CaseFacts) -> list[int]:
    """Active members of a body who are not recused from the case."""
    ids = await CommitteeSeat.filter(body=body).using_db(conn).values_list("member_id", flat=True)
    hidden = facts.respondent_ids | facts.recused_ids | {facts.reporter_id}
    wanted = [int(i) for i in ids if int(i) not in hidden]  # type: ignore[call-overload]
    if not wanted:
        return []
    active = await (
        Member.filter(id__in=wanted, status="active").using_db(conn).values_list("id", flat=True)
    )
    return sorted(int(i) for i in active)  # type: ignore[call-overload]


async def _choose_body(conn: BaseDBAsyncClient, facts: CaseFacts) -> str:
    """The committee, unless the report names one of its members or every one is recused."""
    seated = set(
        await CommitteeSeat.filter(body="committee")
        .using_db(conn)
        .values_list("member_id", flat=True)
    )
    if facts.respondent_ids & {int(i) for i in seated}:  # type: ignore[call-overload]
        return "alternate"
    return "committee" if await _eligible(conn, "committee", facts) else "alternate"


# ---- filing ------------------------------------------------------------------------------------


async def file(
    ctx: Ctx,
    level: str,
    respondents: str | list[str],
    body: str,
    post_id: int | None = None,
) -> Report:
    """File a report. Escrow reports are held (seen by the reporter alone) until a report by
    another member names one of the same members; then both go to the committee."""
    policy.reports.check_file(ctx.actor)
    key = _key(ctx)
    errors: dict[str, str] = {}
    if level not in LEVELS:
        errors["level"] = "Choose what should happen with your report."
    try:
        text = _text(body, "body")
    except Invalid as exc:
        errors.update(exc.fields)
        text = ""
    named: list[Member] = []
    try:
        for handle in parse_handles(respondents):
            member = await Member.get_or_none(handle_key=handle.lower())
            if member is None:
                raise Invalid(fields={"respondents": f"There is no member @{handle}."})
            if member.id == ctx.actor.member_id:
                raise Invalid(fields={"respondents": "You cannot name yourself in a report."})
            named.append(member)
    except Invalid as exc:
        errors.update(exc.fields)
    if level == "escrow" and not named and "respondents" not in errors:
        errors["respondents"] = "A held report needs the member it is about."
    if errors:
        raise Invalid(fields=errors)
    if post_id is not None:
        try:
            await access.post_for(ctx, post_id)
        except NotFound:
            post_id = None  # a post they cannot read (any more) is simply not attached
    assert ctx.actor.member_id is not None
    now = _now()
    async with unit_of_work(ctx.services.publish) as tx:
        report = await Report.create(
            reporter_id=ctx.actor.member_id,
            level=level,
            state="held" if level == "escrow" else "received",
            post_id=post_id,
            created_at=now,
            released_at=None if level == "escrow" else now,
            using_db=tx.conn,
        )
        for member in named:
            await ReportRespondent.create(
                report_id=report.id, member_id=member.id, using_db=tx.conn
            )
        facts = await _facts(report, tx.conn)
        report.body = await _choose_body(tx.conn, facts)
        await report.save(update_fields=["body"], using_db=tx.conn)
        await reports_log.append(
            tx.conn,
            key,
            report,
            "filed",
            ctx.actor.member_id,
            side="reporter",
            detail=f"{level}{f' post:{post_id}' if post_id else ''}",
            text=text,
        )
        await _release_matches(ctx, tx, key, report, [m.id for m in named])
        if report.state != "held":
            await _tell_handlers(tx, report)
        await _emit(tx, report, "filed")
    return report


async def _release_matches(ctx: Ctx, tx: Tx, key: bytes, report: Report, named: list[int]) -> None:
    """Another member's report names one of the same members: held reports on either side go
    to the committee. Two reports by the same reporter never release each other."""
    if not named:
        return
    other_ids = set(
        await ReportRespondent.filter(member_id__in=named)
        .exclude(report_id=report.id)
        .using_db(tx.conn)
        .values_list("report_id", flat=True)
    )
    if not other_ids:
        return
    others = (
        await Report.filter(id__in=list(other_ids))
        .exclude(reporter_id=report.reporter_id)
        .exclude(state="withdrawn")
        .using_db(tx.conn)
    )
    if not others:
        return
    for held in [r for r in others if r.state == "held"] + (
        [report] if report.state == "held" else []
    ):
        held.state = "received"
        held.released_at = _now()
        await held.save(update_fields=["state", "released_at"], using_db=tx.conn)
        await reports_log.append(tx.conn, key, held, "released", None)
        if held.id != report.id:
            await _tell_handlers(tx, held)
            await notifications.notify(tx, held.reporter_id, "report", UPDATE_TEXT, _url(held))
            await _emit(tx, held, "released")


def _url(report: Report) -> str:
    return f"/reports/{report.id}"


async def _tell_handlers(tx: Tx, report: Report) -> None:
    facts = await _facts(report, tx.conn)
    for member_id in await _eligible(tx.conn, report.body, facts):
        await notifications.notify(tx, member_id, "report", HANDLER_TEXT, _url(report))


async def _emit(tx: Tx, report: Report, kind: str) -> None:
    # No text, no names: the page fetches the timeline it may read. A change of who handles
    # the case is `case.access`, so every process asks the policy again for its followers.
    event = "case.access" if kind in ("recused", "moved") else "case.entry"
    await tx.emit("case", report.id, event, {"entry": kind, "state": report.state})


async def live_target(report_id: int) -> policy.reports.LiveCase | None:
    """What the live hub needs to ask the policy about `case:ID`."""
    report = await Report.get_or_none(id=report_id)
    if report is None:
        return None
    seated = await CommitteeSeat.filter(body=report.body).values_list("member_id", flat=True)
    return policy.reports.LiveCase(
        facts=await _facts(report),
        body_seats=frozenset(int(i) for i in seated),  # type: ignore[call-overload]
        event_seq=report.event_seq,
    )


# ---- lists ---------------------------------------------------------------------------------------


async def mine(ctx: Ctx) -> list[Report]:
    if not ctx.actor.signed_in:
        raise NotFound()
    return await Report.filter(reporter_id=ctx.actor.member_id).order_by("-created_at").limit(200)


async def handled(ctx: Ctx) -> list[Report]:
    """The cases this member handles: never one that names them or that they stepped aside
    from, and never a held one."""
    seat = await _seat(ctx)
    if seat is None or ctx.actor.member_id is None:
        return []
    hidden = set(
        await ReportRespondent.filter(member_id=ctx.actor.member_id).values_list(
            "report_id", flat=True
        )
    ) | set(await Recusal.filter(member_id=ctx.actor.member_id).values_list("report_id", flat=True))
    q = policy.reports.handled_cases(seat, sorted(int(i) for i in hidden))  # type: ignore[call-overload]
    if q is None:
        return []
    return (
        await Report.filter(q)
        .exclude(reporter_id=ctx.actor.member_id)
        .order_by("-created_at")
        .limit(500)
    )


# ---- the case page ------------------------------------------------------------------------------


@dataclass
class EntryView:
    entry: CaseEntry
    label: str
    who: str
    text: str | None
    erased: bool


@dataclass
class CaseView:
    report: Report
    facts: CaseFacts
    seat: str | None
    is_reporter: bool
    is_handler: bool
    respondents: list[Member]
    entries: list[EntryView]
    ack_due: datetime | None
    decide_due: datetime | None
    overdue: bool
    verbs: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.report.id

    @property
    def open(self) -> bool:
        return policy.reports.is_open(self.facts)


def deadlines(
    report: Report, ack_days: int, decide_days: int
) -> tuple[datetime | None, datetime | None, bool]:
    if report.released_at is None:
        return None, None, False
    ack_due = report.released_at + timedelta(days=ack_days)
    decide_due = report.released_at + timedelta(days=decide_days)
    now = _now()
    finished = report.state in ("closed", "withdrawn")
    overdue = not finished and (
        (report.acknowledged_at is None and now > ack_due) or now > decide_due
    )
    return ack_due, decide_due, overdue


async def view(ctx: Ctx, report_id: int) -> CaseView:
    """Everything the case page shows, in a constant number of queries."""
    report, facts, seat = await case_for(ctx, report_id)
    key = _key(ctx)
    entries = await CaseEntry.filter(report_id=report.id).order_by("case_seq")
    people_ids = {e.actor_id for e in entries if e.actor_id} | set(facts.respondent_ids)
    people = {m.id: m for m in await Member.filter(id__in=sorted(people_ids))} if people_ids else {}
    is_reporter = policy.reports.is_reporter(ctx.actor, facts)
    views = []
    for e in entries:
        if e.side == "reporter":
            who = "You" if is_reporter else "The reporter"
        elif e.kind == "recused" or e.actor_id is None:
            who = "" if e.actor_id is None else "A committee member"
        else:
            member = people.get(e.actor_id)
            who = f"@{member.handle}" if member else "A former member"
        text = (
            reports_crypto.decrypt(key, report.id, e.case_seq, e.ciphertext)
            if e.ciphertext
            else None
        )
        label = ENTRY_LABELS.get(e.kind, e.kind)
        if e.kind == "closed" and e.detail:
            label = f"Closed: {OUTCOME_LABELS.get(e.detail, e.detail)}"
        views.append(EntryView(e, label, who, text, e.erased))
    ack_due, decide_due, overdue = deadlines(
        report, ctx.settings.reports_ack_days, ctx.settings.reports_decide_days
    )
    case = CaseView(
        report=report,
        facts=facts,
        seat=seat,
        is_reporter=is_reporter,
        is_handler=policy.reports.is_handler(ctx.actor, seat, facts),
        respondents=[people[i] for i in sorted(facts.respondent_ids) if i in people],
        entries=views,
        ack_due=ack_due,
        decide_due=decide_due,
        overdue=overdue,
    )
    case.verbs = allowed_verbs(case)
    return case


def allowed_verbs(case: CaseView) -> list[str]:
    """The acts the page offers (the service refuses the rest with a reason)."""
    f = case.facts
    if not case.open:
        return ["erase"] if case.is_reporter else []
    verbs: list[str] = []
    if case.is_reporter:
        if f.consent == "asked":
            verbs += ["consent_yes", "consent_no"]
        if f.level in ("record", "escrow"):
            verbs.append("escalate")
        verbs += ["withdraw", "erase"]
        if f.state != "held":
            verbs.append("message")
    if case.is_handler:
        if f.state == "received":
            verbs.append("acknowledge")
        verbs += ["message", "ask_consent"]
        if f.level != "record" and f.consent == "given" and f.state in ("acknowledged",):
            verbs.append("inform_respondent")
        if f.state == "respondent_informed":
            verbs.append("record_response")
        if f.state in ("acknowledged", "respondent_informed", "response_received"):
            verbs.append("recommend")
        verbs += ["close", "declare_conflict"]
    return verbs


# ---- acts ----------------------------------------------------------------------------------------


async def act(ctx: Ctx, report_id: int, verb: str, text: str = "", outcome: str = "") -> Report:
    """One act on a case by its reporter or a handler."""
    if verb not in VERBS:
        raise NotFound()
    report, facts, seat = await case_for(ctx, report_id)
    key = _key(ctx)
    me = ctx.actor.member_id
    if verb in HANDLER_VERBS:
        policy.reports.check_handle(ctx.actor, seat, facts)
    elif verb in REPORTER_VERBS:
        policy.reports.check_reporter(ctx.actor, seat, facts)
    is_reporter = policy.reports.is_reporter(ctx.actor, facts)
    side = "reporter" if is_reporter else "committee"
    is_open = policy.reports.is_open(facts)
    if verb != "erase" and not is_open:
        raise Conflict("This case is closed: nothing more can be done on it.")

    async with unit_of_work(ctx.services.publish) as tx:
        # Take the case row's lock, then re-read it: two handlers acting at once see each other.
        await tx.conn.execute_query(
            sql_for(tx.conn, "UPDATE report SET event_seq = event_seq WHERE id = ?"), [report.id]
        )
        fresh = await Report.filter(id=report.id).using_db(tx.conn).first()
        assert fresh is not None
        report = fresh
        entry_kind = verb
        detail = ""
        body: str | None = None
        changed: list[str] = []
        tell_reporter = not is_reporter
        if verb == "message":
            if report.state == "held":
                raise Conflict("A held report has nobody to read a message yet.")
            body = _text(text, "text")
        elif verb == "acknowledge":
            if report.state != "received":
                raise Conflict("This case has already been acknowledged.")
            report.state, report.acknowledged_at = "acknowledged", _now()
            changed += ["state", "acknowledged_at"]
            entry_kind = "acknowledged"
            body = _text(text, "text", required=False) or None
        elif verb == "ask_consent":
            body = _text(text, "text")
            report.consent = "asked"
            changed.append("consent")
            entry_kind = "consent_asked"
        elif verb in ("consent_yes", "consent_no"):
            if report.consent != "asked":
                raise Conflict("The committee has not asked for your consent.")
            report.consent = "given" if verb == "consent_yes" else "refused"
            changed.append("consent")
            entry_kind = "consent_given" if verb == "consent_yes" else "consent_refused"
            body = _text(text, "text", required=False) or None
        elif verb == "inform_respondent":
            if report.level == "record":
                raise Conflict(
                    "This report is on record only: the reporter has not asked for action."
                )
            if report.consent != "given":
                raise Conflict("The reporter has not said yes: ask for their consent first.")
            if report.state != "acknowledged":
                raise Conflict("Acknowledge the report first.")
            report.state = "respondent_informed"
            changed.append("state")
            entry_kind = "respondent_informed"
            body = _text(text, "text", required=False) or None
        elif verb == "record_response":
            if report.state != "respondent_informed":
                raise Conflict("The respondent has not been informed.")
            report.state = "response_received"
            changed.append("state")
            entry_kind = "response_received"
            body = _text(text, "text")
        elif verb == "recommend":
            if report.state not in ("acknowledged", "respondent_informed", "response_received"):
                raise Conflict("Acknowledge the report first.")
            report.state = "recommendation"
            changed.append("state")
            entry_kind = "recommendation"
            body = _text(text, "text")
        elif verb == "close":
            errors: dict[str, str] = {}
            if outcome not in OUTCOMES:
                errors["outcome"] = "Choose an outcome."
            try:
                body = _text(text, "text")
            except Invalid:
                errors["text"] = "Give a reason: the reporter reads it."
            if errors:
                raise Invalid(fields=errors)
            if policy.reports.needs_consent(outcome) and report.consent != "given":
                raise Conflict(
                    "This outcome acts on someone: the reporter has to say yes first (ask for "
                    "their consent)."
                )
            if policy.reports.needs_consent(outcome) and report.level == "record":
                raise Conflict(
                    "This report is on record only: the reporter has not asked for action."
                )
            report.state, report.outcome, report.closed_at = "closed", outcome, _now()
            changed += ["state", "outcome", "closed_at"]
            detail = outcome
            entry_kind = "closed"
        elif verb == "withdraw":
            report.state, report.closed_at = "withdrawn", _now()
            changed += ["state", "closed_at"]
            entry_kind = "withdrawn"
            body = _text(text, "text", required=False) or None
            tell_reporter = False
        elif verb == "escalate":
            if report.level == "formal":
                raise Conflict("This is already a formal complaint.")
            report.level = "formal"
            changed.append("level")
            if report.state == "held":
                report.state, report.released_at = "received", _now()
                changed += ["state", "released_at"]
            entry_kind = "escalated"
        elif verb == "erase":
            await (
                CaseEntry.filter(report_id=report.id, side="reporter")
                .using_db(tx.conn)
                .update(ciphertext=None, erased=True)
            )
            entry_kind = "erased"
        elif verb == "declare_conflict":
            await Recusal.create(report_id=report.id, member_id=me, using_db=tx.conn)
            assert me is not None
            await _forget_notifications(tx, me, report)
            entry_kind = "recused"
            tell_reporter = False
        if changed:
            await report.save(update_fields=changed, using_db=tx.conn)
        await reports_log.append(
            tx.conn,
            key,
            report,
            entry_kind,
            me,
            side=side,
            detail=detail,
            text=body,
        )
        if verb == "declare_conflict":
            facts = await _facts(report, tx.conn)
            if report.body == "committee" and not await _eligible(tx.conn, "committee", facts):
                report.body = "alternate"
                await report.save(update_fields=["body"], using_db=tx.conn)
                await reports_log.append(tx.conn, key, report, "moved", None, detail="alternate")
                await _tell_handlers(tx, report)
        if verb == "escalate" and "released_at" in changed:
            await _tell_handlers(tx, report)
        if tell_reporter:
            await notifications.notify(tx, report.reporter_id, "report", UPDATE_TEXT, _url(report))
        elif is_reporter and report.state != "held":
            await _tell_handlers(tx, report)
        await _emit(tx, report, entry_kind)
    return report


async def _forget_notifications(tx: Tx, member_id: int, report: Report) -> None:
    """A member who steps aside keeps no trace of the case in their inbox."""
    await Notification.filter(member_id=member_id, url=_url(report)).using_db(tx.conn).delete()
    unread = await Notification.filter(member_id=member_id, read=False).using_db(tx.conn).count()
    await Member.filter(id=member_id).using_db(tx.conn).update(unread_notifications=unread)


def can_manage_committee(ctx: Ctx) -> bool:
    return policy.reports.can_manage_committee(ctx.actor)


def refuse_unknown(verb: str) -> None:
    if verb not in VERBS:
        raise NotFound()


LOCKED_ERROR = (
    "That handle and password do not match an account that is pending or suspended. "
    "(Active members: sign in, then report.)"
)


async def file_without_session(
    ctx: Ctx, handle: str, password: str, level: str, respondents: str, body: str
) -> Report:
    """A member who cannot sign in (pending or suspended) files with their password."""
    from forum.services import accounts

    _key(ctx)
    await ctx.services.throttle.hit(ctx.settings.login_rate, "locked-report", ctx.address)
    member = None
    if handle and len(handle) <= limits.MAX_HANDLE_INPUT:
        member = await Member.get_or_none(handle_key=handle.strip().lstrip("@").lower())
    ok, _ = await ctx.services.hasher.verify(
        password[:1024], member.password_hash if member else None
    )
    if member is None or not ok or not policy.reports.may_file_without_session(member.status):
        raise Invalid(fields={"password": LOCKED_ERROR})
    proven = Ctx(
        services=ctx.services,
        actor=await accounts.load_actor(member),
        member=member,
        address=ctx.address,
    )
    return await file(proven, level, respondents, body)


async def check_configured(ctx: Ctx) -> None:
    _key(ctx)


async def check_can_file(ctx: Ctx) -> None:
    """Before showing the form: filing is allowed and reports are configured."""
    policy.reports.check_file(ctx.actor)
    _key(ctx)
