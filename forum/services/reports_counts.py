"""The public counts of confidential reports: per quarter, never an identity, and the head of
the case log. Held reports are not counted (nobody but their reporter may learn of one)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tortoise import connections

from forum import policy
from forum.errors import NotFound
from forum.models import Report
from forum.services import reports_log
from forum.services.context import Ctx


@dataclass
class Quarter:
    name: str
    received: int = 0
    open: int = 0
    overdue: int = 0
    closed: dict[str, int] = field(default_factory=dict)
    withdrawn: int = 0
    days_to_ack: float | None = None
    days_to_close: float | None = None


@dataclass
class Transparency:
    quarters: list[Quarter]
    open: int
    overdue: int
    log_length: int
    log_head: str


def _quarter(when: datetime) -> str:
    return f"{when.year} Q{(when.month - 1) // 3 + 1}"


async def transparency(ctx: Ctx) -> Transparency:
    """Counts only, never an identity; held reports are not counted (nobody may learn of one)."""
    if not policy.reports.can_see_roster(ctx.actor):
        raise NotFound()
    rows = await Report.exclude(state="held").values_list(
        "released_at", "acknowledged_at", "closed_at", "state", "outcome"
    )
    quarters: dict[str, Quarter] = {}
    acks: dict[str, list[float]] = {}
    closes: dict[str, list[float]] = {}
    total_open = total_overdue = 0
    now = datetime.now(UTC)
    ack_days = timedelta(days=ctx.settings.reports_ack_days)
    decide_days = timedelta(days=ctx.settings.reports_decide_days)
    for released, acked, closed, state, outcome in rows:
        if released is None:
            continue
        q = quarters.setdefault(_quarter(released), Quarter(_quarter(released)))
        q.received += 1
        if state == "closed":
            q.closed[str(outcome)] = q.closed.get(str(outcome), 0) + 1
            closes.setdefault(q.name, []).append((closed - released).total_seconds() / 86400)
        elif state == "withdrawn":
            q.withdrawn += 1
        else:
            q.open += 1
            total_open += 1
            if (acked is None and now > released + ack_days) or now > released + decide_days:
                q.overdue += 1
                total_overdue += 1
        if acked is not None:
            acks.setdefault(q.name, []).append((acked - released).total_seconds() / 86400)
    for name, q in quarters.items():
        if acks.get(name):
            q.days_to_ack = round(statistics.median(acks[name]), 1)
        if closes.get(name):
            q.days_to_close = round(statistics.median(closes[name]), 1)
    length, head = await reports_log.head(connections.get("default"))
    return Transparency(
        quarters=sorted(quarters.values(), key=lambda q: q.name, reverse=True),
        open=total_open,
        overdue=total_overdue,
        log_length=length,
        log_head=head,
    )
