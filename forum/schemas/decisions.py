"""Decisions: proposing one, voting, closing, the outcome statement, and the register."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from forum import limits
from forum.errors import Invalid
from forum.schemas.accounts import MemberRef
from forum.schemas.base import (
    Body,
    Choice,
    Id,
    Input,
    Moment,
    Output,
    Page,
    Query,
    Reason,
    Slug,
    When,
)
from forum.schemas.base import Title as TitleText
from forum.services.decisions import Choice as Ballot
from forum.services.decisions import Rules

Option = Annotated[str, Field(max_length=200)]
Kind = Literal["motion", "poll", "ranked", "time"]
Threshold = Literal["simple", "two_thirds", "consensus", "plurality"]
Outcome = Literal["carried", "not_carried", "no_quorum"]


class DecisionPath(Input):
    decision_id: Id


class DecisionRules(Input):
    """What is stated before voting opens, and fixed once it does."""

    MESSAGES = {"kind": "Choose a motion, a poll, a ranked choice or a time poll."}

    kind: Choice = Field("", description="motion | poll | ranked | time")
    title: TitleText = ""
    body: Body = Field("", description="What is proposed (plain text).")
    options: list[Option] = Field(
        default_factory=list,
        max_length=20,
        description="The options (2 to 20); a motion's are always agree/abstain/disagree/block.",
    )
    multiple: bool = Field(False, description="A poll: several options may be chosen.")
    seats: int = Field(1, ge=1, le=10, description="Ranked choice: seats to fill (STV if > 1).")
    secret: bool = Field(False, description="A secret ballot: nobody sees who chose what.")
    results_shown: Choice = Field(
        "closed", description="closed (results hidden until close) | voted (after one votes)"
    )
    quorum: int = Field(0, ge=0, le=100, description="Percent of the electorate that must vote.")
    threshold: Choice = Field(
        "simple",
        description="Motion: simple | two_thirds | consensus; poll: plurality | simple.",
    )
    closes_at: Moment | None = Field(None, description="When voting closes (UTC if no offset).")

    def rules(self) -> Rules:
        if self.closes_at is None:
            raise Invalid(fields={"closes_at": "Say when voting closes."})
        return Rules(
            kind=self.kind,
            title=self.title,
            body=self.body,
            options=list(self.options),
            closes_at=self.closes_at,
            multiple=self.multiple,
            seats=self.seats,
            secret=self.secret,
            results_shown=self.results_shown,
            quorum=self.quorum,
            threshold=self.threshold,
        )


class NewDecision(DecisionRules):
    open: bool = Field(True, description="Open voting at once (false: keep it as a draft).")


class Vote(Input):
    position: Choice = Field("", description="Motion: agree | abstain | disagree | block.")
    reason: Reason = ""
    options: list[int] = Field(
        default_factory=list, max_length=20, description="Poll: the chosen options' indexes."
    )
    ranking: list[int] = Field(
        default_factory=list,
        max_length=20,
        description="Ranked choice: option indexes, most preferred first.",
    )
    receipt: str = Field(
        "", max_length=100, description="Changing a secret vote: the receipt the vote gave."
    )

    def ballot(self) -> Ballot:
        return Ballot(
            position=self.position,
            reason=self.reason,
            options=tuple(self.options),
            ranking=tuple(self.ranking),
        )


class CloseDecision(Input):
    reason: Reason = ""


class MoveClose(Input):
    closes_at: Moment | None = None
    reason: Reason = ""


class OutcomeStatement(Input):
    statement: Annotated[str, Field(max_length=limits.MAX_NOTE * 5)] = ""


class RegisterQuery(Input):
    q: Query = ""
    caucus: Slug | None = Field(None, description="A caucus's register (its members only).")
    page: Page = 1


class SetProposers(Input):
    proposers: Choice = Field("", description="members | moderators")
    reason: Reason = ""


# ---- output -----------------------------------------------------------------------------------


class Round(Output):
    votes: dict[str, float] = Field(description="Votes per option index in this round.")
    exhausted: float
    elected: list[int]
    excluded: list[int]
    by_lot: bool


class Result(Output):
    counts: dict[str, int] = Field(description="Motion: per position; poll: per option index.")
    winners: list[int]
    rounds: list[Round]
    quota: float | None
    note: str


class OpenBallot(Output):
    handle: str
    choice: dict[str, object]


class DecisionOut(Output):
    id: Id
    thread_id: Id
    kind: Kind
    title: str
    body: str
    options: list[str]
    multiple: bool
    seats: int
    secret: bool
    results_shown: Literal["closed", "voted"]
    quorum: int = Field(description="Percent of the electorate.")
    quorum_needed: int = Field(description="Ballots needed for the count to stand.")
    threshold: Threshold
    abstentions: str = Field(description="How abstentions and blocks count.")
    status: Literal["draft", "open", "closed"]
    proposer: MemberRef | None
    closes_at: When
    opened_at: When | None
    closed_at: When | None
    electorate: int = Field(description="Members entitled to vote, frozen when voting opened.")
    ballots_cast: int
    in_electorate: bool
    has_voted: bool
    can_vote: bool
    outcome: Outcome | None
    result: Result | None = Field(description="Null while the caller may not see results.")
    open_ballots: list[OpenBallot] = Field(description="Open ballots: who chose what.")
    statement: str
    url: str


class Decisions(Output):
    decisions: list[DecisionOut]
    more: bool = False


class Voted(Output):
    decision: DecisionOut
    receipt: str | None = Field(
        description="A new secret ballot's receipt: keep it to change the vote. Shown once."
    )
    changed: bool
