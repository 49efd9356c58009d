"""Confidential reports: the committee, reports (cases), the members they name, recusals, and
the append-only, hash-chained case log.

A report's words live only in `CaseEntry.ciphertext` (AES-GCM under a key kept outside the
database, see `forum.services.reports_crypto`); the rows here hold states, times and hashes.
No foreign key cascades onto a case or an entry: nothing here is ever deleted.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from forum.models.ids import PublicIdModel, random_id_field

# The two bodies: the committee, and the smaller alternate body that takes a case naming a
# committee member, or one every committee member is recused from.
BODIES = ("committee", "alternate")
LEVELS = ("record", "formal", "escrow")
STATES = (
    "held",  # escrow: seen by nobody but the reporter until another report names the member
    "received",
    "acknowledged",
    "respondent_informed",
    "response_received",
    "recommendation",
    "closed",
    "withdrawn",
)
OUTCOMES = ("no_action", "advice", "mediation", "warning", "suspension_recommended", "other")
CONSENTS = ("none", "asked", "given", "refused")


class CommitteeSeat(Model):
    """A member's seat on the committee or the alternate body (one seat at most per member)."""

    member_id: int
    id = fields.IntField(primary_key=True)
    member: fields.OneToOneRelation[Model] = fields.OneToOneField(
        "forum.Member", related_name="committee_seat", on_delete=fields.RESTRICT
    )
    body = fields.CharField(max_length=16, default="committee")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "committee_seat"


class Report(PublicIdModel):
    """A report and the case it opens. Never deleted, only closed or withdrawn."""

    reporter_id: int
    id = random_id_field()
    reporter: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="reports_made", on_delete=fields.RESTRICT
    )
    level = fields.CharField(max_length=16)
    state = fields.CharField(max_length=24)
    # Which body handles it (see BODIES).
    body = fields.CharField(max_length=16, default="committee")
    consent = fields.CharField(max_length=16, default="none")
    outcome = fields.CharField(max_length=32, null=True)
    # The post it was filed from (no foreign key: the case outlives any post).
    post_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()
    # When the committee was first told (filing, or an escrow's release): deadlines run from it.
    released_at = fields.DatetimeField(null=True)
    acknowledged_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    # This case's chain: how many entries, and the hash of the last one.
    entry_count = fields.IntField(default=0)
    head_hash = fields.CharField(max_length=64, default="")
    # The per-topic counter of the live topic `case:ID`.
    event_seq = fields.BigIntField(default=0)

    class Meta:
        table = "report"
        indexes = (("state", "body"),)


class ReportRespondent(Model):
    """A member a report names."""

    report_id: int
    member_id: int
    id = fields.IntField(primary_key=True)
    report: fields.ForeignKeyRelation[Report] = fields.ForeignKeyField(
        "forum.Report", related_name="respondents", on_delete=fields.RESTRICT
    )
    member: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="reports_naming", on_delete=fields.RESTRICT
    )

    class Meta:
        table = "report_respondent"
        unique_together = (("report", "member"),)


class Recusal(Model):
    """A committee member who declared a conflict on a case: they never see it again."""

    report_id: int
    member_id: int
    id = fields.IntField(primary_key=True)
    report: fields.ForeignKeyRelation[Report] = fields.ForeignKeyField(
        "forum.Report", related_name="recusals", on_delete=fields.RESTRICT
    )
    member: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="recusals", on_delete=fields.RESTRICT
    )

    class Meta:
        table = "report_recusal"
        unique_together = (("report", "member"),)


class CaseEntry(Model):
    """One act on a case. Rows are only inserted. The one change ever made is an erasure,
    which empties `ciphertext` and keeps `content_hash`, so the chain still verifies.

    `entry_hash` = SHA-256 over the previous entry of the whole log (`prev_hash`), the previous
    entry of this case (`case_prev_hash`), this entry's fields and `content_hash` (SHA-256 of
    the ciphertext). See `forum.services.reports_log`."""

    report_id: int
    id = fields.IntField(primary_key=True)
    # Position in the whole log (1, 2, 3...) and in its case.
    seq = fields.BigIntField(unique=True)
    case_seq = fields.IntField()
    report: fields.ForeignKeyRelation[Report] = fields.ForeignKeyField(
        "forum.Report", related_name="entries", on_delete=fields.RESTRICT
    )
    kind = fields.CharField(max_length=32)
    # Plain member id, not a foreign key: the chain covers it, so nothing may ever null it.
    actor_id = fields.IntField(null=True)
    # Who wrote the text: "reporter" or "committee" ("" when the entry has none).
    side = fields.CharField(max_length=16, default="")
    # Non-secret detail (a state, an outcome, a deadline), covered by the hash.
    detail = fields.CharField(max_length=64, default="")
    at = fields.CharField(max_length=40)  # ISO time, hashed as written
    ciphertext = fields.TextField(null=True)  # urlsafe base64 of nonce + AES-GCM output
    content_hash = fields.CharField(max_length=64, default="")
    erased = fields.BooleanField(default=False)
    prev_hash = fields.CharField(max_length=64)
    case_prev_hash = fields.CharField(max_length=64)
    entry_hash = fields.CharField(max_length=64)

    class Meta:
        table = "case_entry"
        unique_together = (("report", "case_seq"),)


class ReportLogHead(Model):
    """The head of the whole case log: one row, updated (under its row lock) by every append,
    so appends are serial and the chain never forks."""

    id = fields.IntField(primary_key=True)
    seq = fields.BigIntField(default=0)
    head_hash = fields.CharField(max_length=64, default="")

    class Meta:
        table = "report_log_head"
