"""How each member wants to be told by email, and where their digests stand."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

# How often a topic is mailed: at once (batched over a short window), in the daily or weekly
# digest, or not at all.
CADENCES = ("immediately", "daily", "weekly", "never")


# One row per member, made when first needed (a missing row means the defaults of
# `forum.services.mail_prefs.DEFAULTS`). Each topic column holds a cadence.
class MailSettings(Model):
    member_id: int
    id = fields.IntField(primary_key=True)
    member: fields.OneToOneRelation[Model] = fields.OneToOneField(
        "forum.Member", related_name="mail_settings", on_delete=fields.CASCADE
    )
    reply = fields.CharField(max_length=12, default="immediately")
    mention = fields.CharField(max_length=12, default="immediately")
    caucus = fields.CharField(max_length=12, default="immediately")
    moderation = fields.CharField(max_length=12, default="immediately")
    report = fields.CharField(max_length=12, default="immediately")
    decision = fields.CharField(max_length=12, default="daily")
    statement = fields.CharField(max_length=12, default="weekly")
    # Activity in threads and channels the member follows (forum.models.follows).
    following = fields.CharField(max_length=12, default="daily")
    # The digest slots already handled (the claiming UPDATE moves them forward, so a member
    # gets each digest once however many processes look); NULL: never sent.
    daily_digest_at = fields.DatetimeField(null=True)
    weekly_digest_at = fields.DatetimeField(null=True)
    # New statements mailed "immediately" were mailed up to this time.
    statements_mailed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mail_settings"
