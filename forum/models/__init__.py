"""The data model: fields and typed relations only; workflows live in services."""

from forum.models.caucuses import Caucus, CaucusMembership
from forum.models.channels import Channel
from forum.models.events import Event
from forum.models.mail import OutboxMessage
from forum.models.members import ApiToken, Invite, Member, Session, SignInAddress
from forum.models.moderation import Flag, ModerationAction, ReviewItem
from forum.models.notifications import Notification
from forum.models.reactions import Bookmark, Reaction
from forum.models.statements import Statement, StatementVersion
from forum.models.threads import Post, PostRevision, ReadMarker, Thread

__all__ = [
    "ApiToken",
    "Bookmark",
    "Caucus",
    "CaucusMembership",
    "Channel",
    "Event",
    "Flag",
    "Invite",
    "Member",
    "ModerationAction",
    "Notification",
    "OutboxMessage",
    "Post",
    "PostRevision",
    "Reaction",
    "ReadMarker",
    "ReviewItem",
    "Session",
    "SignInAddress",
    "Statement",
    "StatementVersion",
    "Thread",
]
