"""The data model: fields and typed relations only; workflows live in services."""

from forum.models.caucuses import Caucus, CaucusMembership
from forum.models.channels import Channel
from forum.models.decisions import Ballot, Decision, DecisionVoter
from forum.models.events import Event
from forum.models.follows import Follow
from forum.models.mail import OutboxMessage
from forum.models.mail_prefs import MailSettings
from forum.models.members import ApiToken, EmailToken, Invite, Member, Session, SignInAddress
from forum.models.moderation import Flag, ModerationAction, ReviewItem
from forum.models.notifications import Notification
from forum.models.reactions import Bookmark, Reaction
from forum.models.reports import (
    CaseEntry,
    CommitteeSeat,
    Recusal,
    Report,
    ReportLogHead,
    ReportRespondent,
)
from forum.models.statements import Statement, StatementVersion
from forum.models.threads import Draft, Post, PostRevision, ReadMarker, Thread

__all__ = [
    "ApiToken",
    "Ballot",
    "Bookmark",
    "CaseEntry",
    "Caucus",
    "CaucusMembership",
    "Channel",
    "CommitteeSeat",
    "Decision",
    "DecisionVoter",
    "Draft",
    "EmailToken",
    "Event",
    "Flag",
    "Follow",
    "Invite",
    "MailSettings",
    "Member",
    "ModerationAction",
    "Notification",
    "OutboxMessage",
    "Post",
    "PostRevision",
    "Reaction",
    "ReadMarker",
    "Recusal",
    "Report",
    "ReportLogHead",
    "ReportRespondent",
    "ReviewItem",
    "Session",
    "SignInAddress",
    "Statement",
    "StatementVersion",
    "Thread",
]
