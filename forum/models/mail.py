"""The email outbox: every message is a row, written in the transaction of what causes it."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

# queued: waiting (or waiting again, after a temporary failure, until `next_attempt_at`);
# sending: claimed by a worker until `claimed_until` (a worker killed mid-send leaves it to be
# claimed again once that passes); sent; failed: refused for good, or out of attempts.
STATUSES = ("queued", "sending", "sent", "failed")


class OutboxMessage(Model):
    # Foreign key columns, typed for the checker (tortoise sets them).
    member_id: int | None
    id = fields.BigIntField(primary_key=True)
    # What the message is (confirm, reset, notify, digest, bounce...): for the operator's page.
    kind = fields.CharField(max_length=24)
    member: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="outbox", on_delete=fields.SET_NULL, null=True
    )
    to_address = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=300)
    body_text = fields.TextField()
    body_html = fields.TextField(null=True)
    # Extra headers (Message-ID, In-Reply-To, References, List-Unsubscribe...), as a dict.
    headers: fields.Field[dict] = fields.JSONField(default=dict)
    status = fields.CharField(max_length=8, default="queued")
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    claimed_until = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "email_outbox"
        indexes = (("status", "next_attempt_at"),)
