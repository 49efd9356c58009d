"""Counting ballots: motions, polls, and ranked choice (instant runoff and STV). Pure, no I/O.

Ranked choice, one seat: instant-runoff voting. Each round counts every ballot for its highest
preference still in the count; an option with more than half of the ballots still counted wins;
otherwise the option with the fewest is excluded and its ballots move on.

Ranked choice, several seats: single transferable vote as the Scottish Local Government
Elections Order 2007 (SSI 2007/42, schedule 1, rules 45-52) counts it: the Droop quota
(valid ballots / (seats + 1), rounded down, plus 1); an option reaching it is elected; its
surplus moves on with every ballot it holds at a transfer value of surplus / its votes,
multiplied into each ballot's own value and truncated to five decimal places (rule 48, the
"weighted inclusive Gregory" method); surpluses are transferred largest first; when there is
no surplus, the option with the fewest votes is excluded and its ballots move on at their
values (rule 50); when as many options remain as seats, they are all elected (rule 52).

Ties (rule 49 and 51 of the same order): the option with the fewest (for exclusion) or most
(for a surplus) votes at the earliest stage where the tied options differed; tied at every
stage, by lot. Our lot is drawn from a generator seeded with the decision's id, so a recount
gives the same result, and the round says that a lot decided it.

Votes are kept as integers in units of 1/100,000 of a ballot, so truncation is exact.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

SCALE = 100_000  # five decimal places


@dataclass
class Count:
    """The outcome of a count, and what the page and the export show of it."""

    outcome: str  # carried | not_carried | no_quorum
    counts: dict[str, int] = field(default_factory=dict)
    winners: list[int] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    quota: float | None = None
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "winners": self.winners,
            "rounds": self.rounds,
            "quota": self.quota,
            "note": self.note,
        }


def quorum_needed(electorate: int, quorum_percent: int) -> int:
    """Ballots needed for a valid count: the stated share of the electorate, rounded up."""
    return math.ceil(electorate * quorum_percent / 100)


# ---- motions ---------------------------------------------------------------------------------


def count_motion(positions: Iterable[str], threshold: str) -> Count:
    """Abstentions count toward the quorum but not toward the majority. Under a simple majority
    or two thirds, a block counts as a vote against; under consensus a single block stops the
    motion, which otherwise needs more agreement than disagreement."""
    counts = Counter(positions)
    tally = {p: counts.get(p, 0) for p in ("agree", "abstain", "disagree", "block")}
    agree = tally["agree"]
    against = tally["disagree"] + tally["block"]
    if threshold == "consensus":
        carried = tally["block"] == 0 and agree > tally["disagree"]
    elif threshold == "two_thirds":
        carried = agree > 0 and 3 * agree >= 2 * (agree + against)
    else:
        carried = agree > against
    return Count("carried" if carried else "not_carried", counts=tally)


# ---- polls and time polls --------------------------------------------------------------------


def count_poll(choices: Iterable[Sequence[int]], options: int, threshold: str) -> Count:
    """Each ballot names one or several options. Plurality: the option named most wins (a tie
    for first place decides nothing). Simple majority: it must also be named on more than half
    of the ballots."""
    counts = Counter[int]()
    ballots = 0
    for chosen in choices:
        ballots += 1
        counts.update(set(chosen))
    tally = {str(i): counts.get(i, 0) for i in range(options)}
    top = max(tally.values(), default=0)
    leaders = [i for i in range(options) if tally[str(i)] == top and top > 0]
    carried = len(leaders) == 1 and (threshold != "simple" or 2 * top > ballots)
    return Count(
        "carried" if carried else "not_carried",
        counts=tally,
        winners=leaders if carried else [],
        note="" if carried or len(leaders) < 2 else "A tie for first place.",
    )


# ---- ranked choice ---------------------------------------------------------------------------


def _grouped(rankings: Iterable[Sequence[int]], options: int) -> Counter[tuple[int, ...]]:
    """Identical rankings counted once with their number: 10,000 ballots of 8 options are
    a few thousand distinct ones, and each round moves groups, not ballots."""
    groups = Counter[tuple[int, ...]]()
    for ranking in rankings:
        seen: list[int] = []
        for option in ranking:
            if 0 <= option < options and option not in seen:
                seen.append(option)
        if seen:
            groups[tuple(seen)] += 1
    return groups


class _Lot:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)  # a reproducible lot, not a secret

    def pick(self, tied: list[int]) -> int:
        return self.random.choice(sorted(tied))


def _break_tie(
    tied: list[int], history: list[dict[int, int]], lowest: bool, lot: _Lot
) -> tuple[int, bool]:
    """The earliest stage where the tied options differed decides; else the lot. Returns the
    option and whether a lot was drawn."""
    for stage in history:
        values = {o: stage.get(o, 0) for o in tied}
        extreme = min(values.values()) if lowest else max(values.values())
        narrowed = [o for o in tied if values[o] == extreme]
        if len(narrowed) < len(tied):
            tied = narrowed
            if len(tied) == 1:
                return tied[0], False
    return lot.pick(tied), True


def _units(value: int) -> float:
    return value / SCALE


def count_ranked(
    rankings: Iterable[Sequence[int]], options: int, seats: int, seed: int = 0
) -> Count:
    if seats <= 1:
        return instant_runoff(rankings, options, seed)
    return single_transferable_vote(rankings, options, seats, seed)


class _Piles:
    """Each continuing option's ballots as parcels (ranking, position reached, number of
    ballots, value of each in units), with running totals: a transfer moves only the parcels
    of the option elected or excluded, never the whole count."""

    def __init__(self, options: int) -> None:
        self.parcels: list[list[tuple[tuple[int, ...], int, int, int]]] = [
            [] for _ in range(options)
        ]
        self.totals = [0] * options
        self.continuing = [True] * options
        self.exhausted = 0

    def place(self, ranking: tuple[int, ...], start: int, number: int, value: int) -> None:
        continuing = self.continuing
        for position in range(start, len(ranking)):
            option = ranking[position]
            if continuing[option]:
                self.parcels[option].append((ranking, position, number, value))
                self.totals[option] += number * value
                return
        self.exhausted += number * value

    def take(self, option: int) -> list[tuple[tuple[int, ...], int, int, int]]:
        """Remove an option from the count and hand back its parcels."""
        self.continuing[option] = False
        taken = self.parcels[option]
        self.parcels[option] = []
        return taken


def instant_runoff(rankings: Iterable[Sequence[int]], options: int, seed: int = 0) -> Count:
    groups = _grouped(rankings, options)
    piles = _Piles(options)
    for ranking, number in groups.items():
        piles.place(ranking, 0, number, 1)
    continuing = set(range(options))
    rounds: list[dict[str, Any]] = []
    history: list[dict[int, int]] = []
    lot = _Lot(seed)
    while True:
        votes = {o: piles.totals[o] for o in continuing}
        history.append(votes)
        counted = sum(votes.values())
        stage: dict[str, Any] = {
            "votes": {str(o): votes[o] for o in sorted(votes)},
            "exhausted": piles.exhausted,
            "elected": [],
            "excluded": [],
            "by_lot": False,
        }
        rounds.append(stage)
        leader = max(votes, key=lambda o: votes[o]) if votes else None
        if leader is not None and counted and 2 * votes[leader] > counted:
            stage["elected"] = [leader]
            return Count("carried", winners=[leader], rounds=rounds)
        if len(continuing) <= 1 or counted == 0:
            # Nothing left to count: one option with no ballots, or every ballot exhausted.
            return Count("not_carried", rounds=rounds, note="No option won a majority.")
        fewest = min(votes.values())
        tied = [o for o in continuing if votes[o] == fewest]
        out, by_lot = (tied[0], False) if len(tied) == 1 else _break_tie(tied, history, True, lot)
        stage["excluded"] = [out]
        stage["by_lot"] = by_lot
        continuing.discard(out)
        for ranking, position, number, value in piles.take(out):
            piles.place(ranking, position + 1, number, value)


def single_transferable_vote(
    rankings: Iterable[Sequence[int]], options: int, seats: int, seed: int = 0
) -> Count:
    groups = _grouped(rankings, options)
    valid = sum(groups.values())
    seats = min(seats, options)
    quota = (valid // (seats + 1) + 1) * SCALE
    piles = _Piles(options)
    for ranking, number in groups.items():
        piles.place(ranking, 0, number, SCALE)
    totals = piles.totals
    continuing = set(range(options))
    elected: list[int] = []
    pending: list[int] = []  # elected, surplus not yet transferred
    lot = _Lot(seed)
    history: list[dict[int, int]] = []
    rounds: list[dict[str, Any]] = []
    reported: set[int] = set()

    def record(excluded: int | None, by_lot: bool = False) -> None:
        votes = {o: totals[o] for o in range(options) if o in continuing or o in elected}
        history.append(votes)
        fresh = [o for o in elected if o not in reported]
        reported.update(fresh)
        rounds.append(
            {
                "votes": {str(o): _units(v) for o, v in sorted(votes.items())},
                "exhausted": _units(piles.exhausted),
                "elected": fresh,
                "excluded": [excluded] if excluded is not None else [],
                "by_lot": by_lot,
            }
        )

    def elect_reaching_quota() -> None:
        reached = [o for o in continuing if totals[o] >= quota]
        # Highest first, as rule 48 orders their surpluses.
        reached.sort(key=lambda o: -totals[o])
        for o in reached:
            continuing.discard(o)
            piles.continuing[o] = False
            elected.append(o)
            pending.append(o)

    elect_reaching_quota()
    record(None)
    while len(elected) < seats:
        if len(continuing) + len(elected) <= seats:
            # As many options remain as seats to fill: all of them are elected (rule 52).
            elected.extend(sorted(continuing, key=lambda o: -totals[o]))
            continuing.clear()
            record(None)
            break
        surpluses = [o for o in pending if totals[o] > quota]
        if surpluses:
            biggest = max(totals[o] for o in surpluses)
            tied = [o for o in surpluses if totals[o] == biggest]
            source, by_lot = (
                (tied[0], False) if len(tied) == 1 else _break_tie(tied, history, False, lot)
            )
            pending.remove(source)
            held = totals[source]
            surplus = held - quota
            for ranking, position, number, value in piles.take(source):
                # Each ballot's new value: its value times surplus / votes, truncated (rule 48).
                piles.place(ranking, position + 1, number, value * surplus // held)
            totals[source] = quota  # the quota stays with the elected option
            elect_reaching_quota()
            record(None, by_lot)
            continue
        pending.clear()
        fewest = min(totals[o] for o in continuing)
        tied = [o for o in continuing if totals[o] == fewest]
        out, by_lot = (tied[0], False) if len(tied) == 1 else _break_tie(tied, history, True, lot)
        continuing.discard(out)
        for ranking, position, number, value in piles.take(out):
            piles.place(ranking, position + 1, number, value)
        totals[out] = 0
        elect_reaching_quota()
        record(out, by_lot)
    return Count(
        "carried" if elected else "not_carried",
        winners=elected[:seats],
        rounds=rounds,
        quota=_units(quota),
    )
