"""Decisions taken in a thread: the motion or poll, its frozen electorate, and its ballots.

Secret ballots keep who voted (`DecisionVoter`) apart from what was chosen (`Ballot`): the two
tables share only the decision. A ballot has a random id, no time and no member; the voter's row
has a random id and a flag. Both are written in one transaction, so nobody can vote twice or
lose a vote, and nothing in either row says which ballot a voter cast. (What PostgreSQL keeps
beside the rows, such as the inserting transaction and physical order, is treated in
`forum.services.decisions.reshuffle`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from forum.models.ids import PublicIdModel, random_id_field

if TYPE_CHECKING:
    from forum.models.members import Member
    from forum.models.threads import Thread

KINDS = ("motion", "poll", "ranked", "time")
POSITIONS = ("agree", "abstain", "disagree", "block")
THRESHOLDS = ("simple", "two_thirds", "consensus", "plurality")
RESULTS_SHOWN = ("closed", "voted")
STATUSES = ("draft", "open", "closed")
OUTCOMES = ("carried", "not_carried", "no_quorum")


class Decision(PublicIdModel):
    # Foreign key columns, typed for the checker (tortoise sets them).
    thread_id: int
    proposer_id: int | None
    caucus_id: int | None
    id = random_id_field()
    thread: fields.ForeignKeyRelation[Thread] = fields.ForeignKeyField(
        "forum.Thread", related_name="decisions", on_delete=fields.CASCADE
    )
    proposer: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="decisions_proposed", on_delete=fields.SET_NULL, null=True
    )
    # The caucus whose register lists it (its thread's caucus); null for open channels.
    caucus: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Caucus", related_name="decisions", on_delete=fields.CASCADE, null=True
    )
    kind = fields.CharField(max_length=16)
    title = fields.CharField(max_length=200)
    body = fields.TextField(default="")
    options: fields.Field[Any] = fields.JSONField(default=list)
    # A poll may allow several options; a ranked choice fills this many seats.
    multiple = fields.BooleanField(default=False)
    seats = fields.IntField(default=1)
    secret = fields.BooleanField(default=False)
    results_shown = fields.CharField(max_length=16, default="closed")
    # Percent of the electorate whose ballots make the count valid (0: no quorum).
    quorum = fields.IntField(default=0)
    threshold = fields.CharField(max_length=16, default="simple")
    status = fields.CharField(max_length=16, default="draft")
    closes_at = fields.DatetimeField()
    opened_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    electorate = fields.IntField(default=0)
    ballots_cast = fields.IntField(default=0)
    outcome = fields.CharField(max_length=16, null=True)
    result: fields.Field[Any] = fields.JSONField(null=True)
    statement = fields.TextField(default="")
    statement_at = fields.DatetimeField(null=True)
    reminded = fields.BooleanField(default=False)
    # Keys the hash of this decision's ballot receipts.
    receipt_key = fields.CharField(max_length=64, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "decision"
        indexes = (("status", "closes_at"), ("caucus_id", "closed_at"), ("thread_id", "created_at"))


class DecisionVoter(PublicIdModel):
    # One member of a decision's electorate, frozen when voting opened, and whether they voted.
    # (A comment, not a docstring: tortoise writes docstrings into the schema as comments.)

    decision_id: int
    member_id: int
    id = random_id_field()
    decision: fields.ForeignKeyRelation[Decision] = fields.ForeignKeyField(
        "forum.Decision", related_name="voters", on_delete=fields.CASCADE
    )
    member: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="decision_seats", on_delete=fields.CASCADE
    )
    voted = fields.BooleanField(default=False)

    class Meta:
        table = "decision_voter"
        unique_together = (("decision", "member"),)


class Ballot(PublicIdModel):
    # What one voter chose. No time, no order; the member only for open ballots.

    decision_id: int
    member_id: int | None
    id = random_id_field()
    decision: fields.ForeignKeyRelation[Decision] = fields.ForeignKeyField(
        "forum.Decision", related_name="ballots", on_delete=fields.CASCADE
    )
    choice: fields.Field[Any] = fields.JSONField(default=dict)
    # Secret ballots: the keyed hash of the receipt the voter keeps (changing a vote shows it).
    receipt_hash = fields.CharField(max_length=64, null=True, unique=True)
    # Open ballots: who chose this.
    member: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="open_ballots", on_delete=fields.SET_NULL, null=True
    )

    class Meta:
        table = "ballot"
        unique_together = (("decision", "member"),)
