"""Every access rule of the forum, in one package: the only gate.

One module per noun (`channels`, `threads`, `posts`, `caucuses`, `moderation`, `members`,
`notifications`), each rule written as a sentence above its code, with its faces as Misago
writes them: `can_*` answers, `check_*` raises, `filter_*` / `visible_*` narrow a query, so lists,
search, feeds and counts never fetch what they may not show. `can()` and `require()` ask the same
rules by Action. The package is pure and synchronous: it looks only at the Actor (loaded once per
request or socket) and at already-loaded model objects, and it never queries.

Raising follows one principle: what the actor may not read is NotFound (indistinguishable from a
missing thing); what they can read but may not do is Forbidden. No role or seat is read anywhere
outside this package (tests/test_policy.py greps for it).
"""

from __future__ import annotations

from forum.policy import (
    caucuses,
    channels,
    decisions,
    follows,
    mail,
    members,
    moderation,
    notifications,
    posts,
    reports,
    threads,
)
from forum.policy.actors import Action, Actor, deny, is_admin, is_site_moderator, kind_of
from forum.policy.caucuses import is_convener_seat, visible_caucuses
from forum.policy.channels import (
    ChannelScope,
    can_moderate_channel,
    can_read_channel,
    visible_channels,
)
from forum.policy.members import is_admin_account
from forum.policy.moderation import review_scope, visible_log
from forum.policy.posts import PostView, PostViews, post_view
from forum.policy.rules import can, require, topic_readable

__all__ = [
    "Action",
    "Actor",
    "ChannelScope",
    "PostView",
    "PostViews",
    "can",
    "can_moderate_channel",
    "can_read_channel",
    "caucuses",
    "channels",
    "decisions",
    "deny",
    "follows",
    "is_admin",
    "is_admin_account",
    "is_convener_seat",
    "is_site_moderator",
    "kind_of",
    "mail",
    "members",
    "moderation",
    "notifications",
    "post_view",
    "posts",
    "reports",
    "require",
    "review_scope",
    "threads",
    "topic_readable",
    "visible_caucuses",
    "visible_channels",
    "visible_log",
]
