"""Flags, review items and the append-only moderation log."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from forum.models.ids import PublicIdModel, random_id_field

FLAG_REASONS = ("harassment", "discriminatory", "off_topic", "spam", "other")


class ReviewItem(PublicIdModel):
    # Foreign key columns, typed for the checker (tortoise sets them).
    post_id: int | None
    subject_id: int | None
    caucus_id: int | None
    claimed_by_id: int | None
    resolved_by_id: int | None
    # Set by the review queue (not columns).
    flag_list: list[Flag]
    reasons: list[str]
    id = random_id_field()
    kind = fields.CharField(max_length=16, default="flag")  # flag | appeal
    post: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Post", related_name="review_items", on_delete=fields.CASCADE, null=True
    )
    # For suspension appeals, which have no post.
    subject: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="review_items_about", on_delete=fields.CASCADE, null=True
    )
    # The caucus whose conveners review it; null means the facilitators do.
    caucus: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Caucus", related_name="review_items", on_delete=fields.CASCADE, null=True
    )
    status = fields.CharField(max_length=16, default="open")  # open | resolved
    flag_count = fields.IntField(default=0)
    note = fields.TextField(default="")
    claimed_by: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="review_claims", on_delete=fields.SET_NULL, null=True
    )
    resolution = fields.CharField(max_length=16, null=True)  # actioned | dismissed
    resolution_reason = fields.TextField(null=True)
    resolved_by: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="review_resolved", on_delete=fields.SET_NULL, null=True
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    resolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "review_item"


class Flag(PublicIdModel):
    # Foreign key columns, typed for the checker (tortoise sets them).
    item_id: int
    post_id: int
    reporter_id: int | None
    id = random_id_field()
    item: fields.ForeignKeyRelation[ReviewItem] = fields.ForeignKeyField(
        "forum.ReviewItem", related_name="flags", on_delete=fields.CASCADE
    )
    post: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "forum.Post", related_name="flags", on_delete=fields.CASCADE
    )
    reporter: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="flags_made", on_delete=fields.SET_NULL, null=True
    )
    reason = fields.CharField(max_length=16)
    note = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "flag"


class ModerationAction(PublicIdModel):
    """One act of moderation or site governance. Rows are only ever inserted."""

    actor_id: int | None
    caucus_id: int | None
    thread_id: int | None
    post_id: int | None
    subject_id: int | None

    id = random_id_field()
    actor: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="acts", on_delete=fields.SET_NULL, null=True
    )
    action = fields.CharField(max_length=32)
    reason = fields.TextField()
    # Where the act is read: a caucus's members read its acts; null means everyone.
    caucus: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Caucus", related_name="acts", on_delete=fields.CASCADE, null=True
    )
    thread: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Thread", related_name="acts", on_delete=fields.SET_NULL, null=True
    )
    post: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Post", related_name="acts", on_delete=fields.SET_NULL, null=True
    )
    subject: fields.ForeignKeyNullableRelation[Model] = fields.ForeignKeyField(
        "forum.Member", related_name="acts_about", on_delete=fields.SET_NULL, null=True
    )
    # A short, already-safe description of the target, e.g. "thread “Title”" (escaped on output).
    target_label = fields.CharField(max_length=400, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "moderation_action"
        # The log is read newest first, by time: ids are random.
        indexes = (("caucus_id", "created_at"),)
