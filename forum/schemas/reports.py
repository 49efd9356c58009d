"""Confidential reports in the API: filing, a case with its timeline, acts, the roster."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forum import limits
from forum.schemas.accounts import MemberRef
from forum.schemas.base import Handle, Id, Input, Output, When

Level = Literal["record", "formal", "escrow"]
Verb = Literal[
    "message",
    "acknowledge",
    "ask_consent",
    "inform_respondent",
    "record_response",
    "recommend",
    "close",
    "declare_conflict",
    "consent_yes",
    "consent_no",
    "escalate",
    "withdraw",
    "erase",
]
Outcome = Literal["no_action", "advice", "mediation", "warning", "suspension_recommended", "other"]


class FileReport(Input):
    level: Level = Field(
        description="record: kept, no action unless escalated later; formal: the committee "
        "takes it up; escrow: held, seen by nobody but you, until another member's report "
        "names the same member."
    )
    respondents: list[Handle] = Field(
        default_factory=list, max_length=limits.MAX_RESPONDENTS, description="Handles named."
    )
    body: str = Field(min_length=1, max_length=limits.MAX_REPORT, description="What happened.")
    post_id: Id | None = Field(None, description="The post reported from (its text is not copied).")


class CasePath(Input):
    report_id: Id


class CaseAct(Input):
    act: Verb
    text: str = Field("", max_length=limits.MAX_REPORT, description="A message, reason or answer.")
    outcome: Outcome | None = Field(None, description="For `close`: the outcome.")


class CaseSummary(Output):
    id: Id
    level: Level
    state: str
    created_at: When


class CaseEntry(Output):
    kind: str
    label: str
    who: str
    text: str | None
    erased: bool
    at: str


class Case(CaseSummary):
    body: Literal["committee", "alternate"]
    consent: Literal["none", "asked", "given", "refused"]
    outcome: Outcome | None
    respondents: list[MemberRef]
    ack_due: When | None
    decide_due: When | None
    overdue: bool
    is_reporter: bool
    acts: list[Verb] = Field(description="What the caller may do on this case now.")
    seq: int = Field(description="The live topic `case:ID`'s current sequence number.")
    entries: list[CaseEntry]


class CaseLists(Output):
    mine: list[CaseSummary]
    handled: list[CaseSummary]


class Roster(Output):
    committee: list[MemberRef]
    alternate: list[MemberRef]
