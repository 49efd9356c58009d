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
    # The profile a member writes about themselves (plain text).
    pronouns = fields.CharField(max_length=40, default="")
    bio = fields.TextField(default="")
    email = fields.CharField(max_length=254, null=True)
    # The address lowercased: no two members share an address, whatever its case. Set with
    # `email` (a confirmed address, or one an admin gave); an address waiting for its
    # confirmation lives in its EmailToken until the link is followed.
    email_key = fields.CharField(max_length=254, null=True, unique=True)
    # Set when the member proved they read `email` (a confirmation link); no notification is
    # mailed to an address that is not confirmed.
    email_confirmed_at = fields.DatetimeField(null=True)
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


# What a personal API token may do. `read`: safe methods only; `write`: also change things as
# the member; `admin`: also use the member's site role (facilitator or admin powers).
TOKEN_SCOPES = ("read", "write", "admin")


class ApiToken(Model):
    # Foreign key columns, typed for the checker (tortoise sets them).
    member_id: int
    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="tokens", on_delete=fields.CASCADE
    )
    # The token's name, chosen by the member ("label" in the database since the first release).
    label = fields.CharField(max_length=80, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    # Written at most once a minute (see accounts.TOKEN_TOUCH_EVERY), so API reads cost no write.
    last_used_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)
    # A revoked token is kept (refused) so the member's list can say when it stopped.
    revoked_at = fields.DatetimeField(null=True)
    # Space-separated TOKEN_SCOPES; "read" alone unless the member asked for more.
    scopes = fields.CharField(max_length=32, default="read")
    # The token that made this one (a token may make tokens within its own scopes): revoking a
    # token revokes what it made, so a leaked token leaves no working copies behind.
    made_by_id = fields.IntField(null=True, db_index=True)

    class Meta:
        table = "api_token"


class SignInAddress(Model):
    """An address a member signed in from recently. Failed sign-ins from such an address do not
    count toward the member's per-handle limit, so strangers cannot lock the member out. The
    address is kept only as a keyed hash."""

    # Foreign key columns, typed for the checker (tortoise sets them).
    member_id: int
    id = fields.IntField(primary_key=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="sign_in_addresses", on_delete=fields.CASCADE
    )
    address_hash = fields.CharField(max_length=64)
    last_at = fields.DatetimeField()

    class Meta:
        table = "sign_in_address"
        unique_together = (("member", "address_hash"),)


# A sign-up link, usable once. Only the token's sha256 finds it; the token itself is kept sealed
# (AES-GCM under a key derived from the site's secret key, `services.invites`) while the invite
# is unused, so admins can copy the link again, and a copy of the database alone holds no
# working link. Used and revoked invites are kept, so the link can say so.
class Invite(Model):
    # Foreign key columns, typed for the checker (tortoise sets them).
    created_by_id: int | None
    used_by_id: int | None
    revoked_by_id: int | None
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
    # The token, sealed (see above); cleared once the invite is used or revoked.
    sealed = fields.CharField(max_length=200, null=True)
    # Invites made together (several at once, or one per address) share a batch, so the page
    # after making them can show that batch's links together.
    batch = fields.CharField(max_length=32, null=True, db_index=True)
    # The address the invite was mailed to (None: made as a link to hand over).
    email = fields.CharField(max_length=254, null=True)
    revoked_at = fields.DatetimeField(null=True)
    revoked_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="invites_revoked", on_delete=fields.SET_NULL, null=True
    )

    class Meta:
        table = "invite"


# What an emailed link does: `confirm` proves the member reads `address` (which then becomes
# their address); `reset` sets a new password.
EMAIL_TOKEN_PURPOSES = ("confirm", "reset")


class EmailToken(Model):
    """A single-use link sent by email. Only the token's sha256 is kept. A used token is kept
    (marked used) so the link can say it was used, and so an admin-sent reset leaves a record
    of who sent it: the admins' private audit, never the public moderation log."""

    # Foreign key columns, typed for the checker (tortoise sets them).
    member_id: int
    sent_by_id: int | None
    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    member: fields.ForeignKeyRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="email_tokens", on_delete=fields.CASCADE
    )
    purpose = fields.CharField(max_length=16)
    # The address the link went to (for `confirm`: the address it confirms).
    address = fields.CharField(max_length=254)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    # The admin who sent a reset link from the members page (None: the member asked).
    sent_by: fields.ForeignKeyNullableRelation[Member] = fields.ForeignKeyField(
        "forum.Member", related_name="email_tokens_sent", on_delete=fields.SET_NULL, null=True
    )

    class Meta:
        table = "email_token"
        indexes = (("member_id", "purpose"),)
