"""Members, their sessions, API tokens and invites."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

ROLES = ("member", "facilitator", "admin")
STATUSES = ("pending", "active", "suspended")


class Member(Model):
    id = fields.IntField(primary_key=True)
    handle = fields.CharField(max_length=32)
    # Handles are unique without regard to case; this column holds the lowercased handle.
    handle_key = fields.CharField(max_length=32, unique=True)
    display_name = fields.CharField(max_length=80)
    email = fields.CharField(max_length=254, null=True)
    password_hash = fields.CharField(max_length=255)
    role = fields.CharField(max_length=16, default="member")
    status = fields.CharField(max_length=16, default="active")
    suspended_until = fields.DatetimeField(null=True)
    suspension_reason = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Kept in step with Notification rows so the header badge costs no query.
    unread_notifications = fields.IntField(default=0)
    # The per-topic sequence counter of this member's private topic `member:ID`.
    event_seq = fields.BigIntField(default=0)

    class Meta:
        table = "member"

    def __str__(self) -> str:
        return self.handle


class Session(Model):
    # Foreign key columns, typed for the checker (tortoise sets them).
    member_id: int
    id = fields.IntField(primary_key=True)
    # sha256 of the 256-bit cookie value; the value itself is never stored.
    token_hash = fields.CharField(max_length=64, unique=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="sessions", on_delete=fields.CASCADE
    )
    csrf_token = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    user_agent = fields.CharField(max_length=200, default="")

    class Meta:
        table = "session"


class ApiToken(Model):
    # Foreign key columns, typed for the checker (tortoise sets them).
    member_id: int
    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="tokens", on_delete=fields.CASCADE
    )
    label = fields.CharField(max_length=80, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"


class Invite(Model):
    # Foreign key columns, typed for the checker (tortoise sets them).
    created_by_id: int | None
    used_by_id: int | None
    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="invites_made", on_delete=fields.SET_NULL, null=True
    )
    role = fields.CharField(max_length=16, default="member")
    note = fields.CharField(max_length=200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="invite_used", on_delete=fields.SET_NULL, null=True
    )
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invite"
