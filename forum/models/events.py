"""The outbox of live events: written in the transaction of the change they announce."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Event(Model):
    id = fields.BigIntField(primary_key=True)
    topic = fields.CharField(max_length=64)
    seq = fields.BigIntField()
    kind = fields.CharField(max_length=32)
    payload: fields.Field[dict] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "event"
        unique_together = (("topic", "seq"),)
