"""Statements the organisation publishes, with every version kept."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Statement(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=300)
    body = fields.TextField()
    html = fields.TextField()
    caption = fields.CharField(max_length=300, null=True)
    author = fields.CharField(max_length=120)
    source_url = fields.CharField(max_length=1000, null=True, unique=True)
    published_at = fields.DatetimeField(null=True)
    external_id = fields.CharField(max_length=300, null=True, unique=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "statement"


class StatementVersion(Model):
    # Foreign key columns, typed for the checker (tortoise sets them).
    statement_id: int
    id = fields.IntField(primary_key=True)
    statement: fields.ForeignKeyRelation[Statement] = fields.ForeignKeyField(
        "forum.Statement", related_name="versions", on_delete=fields.CASCADE
    )
    version = fields.IntField()
    title = fields.CharField(max_length=300)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "statement_version"
        unique_together = (("statement", "version"),)
