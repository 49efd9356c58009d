"""Posts: who reads their text, replies, edits, deletes, flags, moderates and appeals them, and
the one per-post view model (`PostView`) that every surface shows: the HTML renderer, the JSON
serialiser, the templates and the live push. "May this viewer see the hidden text" is decided
here and nowhere else.

The post rules read only the viewer, the post's author, its hidden and deleted marks and its
thread, so `PostViews` asks them once per kind of post (own or not, hidden or not, deleted or
not) and a page costs the same for 10 posts or 10,000.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING, Any

from forum.policy.actors import Actor, deny, is_site_moderator
from forum.policy.channels import visible_channels
from forum.policy.threads import can_moderate_thread, can_read_thread, can_reply

if TYPE_CHECKING:
    from tortoise.expressions import Q

    from forum.models import Post, Thread


def _own(actor: Actor, post: Post) -> bool:
    return actor.member_id is not None and post.author_id == actor.member_id


# A post is read by whoever reads its thread (a hidden post shows its notice, not its text).
def can_read_post(actor: Actor, post: Post) -> bool:
    return can_read_thread(actor, post.thread)


def check_read_post(actor: Actor, post: Post) -> None:
    if not can_read_post(actor, post):
        deny(actor, False)


# Authors edit their own posts while active, while the post is neither deleted nor hidden and
# the thread is unlocked.
def can_edit(actor: Actor, post: Post) -> bool:
    thread = post.thread
    return (
        _own(actor, post)
        and can_reply(actor, thread)
        and not post.deleted
        and not post.hidden
        and not thread.locked
    )


def check_edit(actor: Actor, post: Post) -> None:
    if not can_edit(actor, post):
        deny(actor, can_read_post(actor, post))


# Authors delete their own posts while active and able to read them.
def can_delete(actor: Actor, post: Post) -> bool:
    return _own(actor, post) and actor.is_member and can_read_post(actor, post) and not post.deleted


def check_delete(actor: Actor, post: Post) -> None:
    if not can_delete(actor, post):
        deny(actor, can_read_post(actor, post))


# A post is moderated (hidden, restored) by the moderators of its thread's channel.
def can_moderate_post(actor: Actor, post: Post) -> bool:
    return can_moderate_thread(actor, post.thread)


def check_moderate_post(actor: Actor, post: Post) -> None:
    if not can_moderate_post(actor, post):
        deny(actor, can_read_post(actor, post))


# A hidden post's text is read by its author and by the moderators of its channel.
def can_see_hidden(actor: Actor, post: Post) -> bool:
    return can_read_post(actor, post) and (_own(actor, post) or can_moderate_post(actor, post))


def check_see_hidden(actor: Actor, post: Post) -> None:
    if not can_see_hidden(actor, post):
        deny(actor, can_read_post(actor, post))


# Edit history is read by whoever reads the post, unless it is hidden or deleted, in which case
# only those who may see hidden text read it.
def can_view_history(actor: Actor, post: Post) -> bool:
    if post.hidden or post.deleted:
        return can_see_hidden(actor, post)
    return can_read_post(actor, post)


def check_view_history(actor: Actor, post: Post) -> None:
    if not can_view_history(actor, post):
        deny(actor, can_read_post(actor, post))


# Any active member who reads a post may flag it, except their own.
def can_flag(actor: Actor, post: Post) -> bool:
    return actor.is_member and can_read_post(actor, post) and not _own(actor, post)


def check_flag(actor: Actor, post: Post) -> None:
    if not can_flag(actor, post):
        deny(actor, can_read_post(actor, post))


# The author of a hidden post may appeal it.
def can_appeal(actor: Actor, post: Post) -> bool:
    own = _own(actor, post)
    return actor.is_member and own and bool(post.hidden) and can_read_post(actor, post)


def check_appeal(actor: Actor, post: Post) -> None:
    if not can_appeal(actor, post):
        deny(actor, can_read_post(actor, post))


# A post's moderation page is opened by its moderators, and by its author while it is hidden
# (to appeal).
def can_open_moderation(actor: Actor, post: Post) -> bool:
    return can_moderate_post(actor, post) or can_appeal(actor, post)


def check_open_moderation(actor: Actor, post: Post) -> None:
    if not can_open_moderation(actor, post):
        deny(actor, can_read_post(actor, post))


# Active members react to a post they read while it is neither hidden nor deleted, its thread
# is unlocked and its caucus not archived. In a caucus that means its members only.
def can_react(actor: Actor, post: Post) -> bool:
    thread = post.thread
    return (
        actor.is_member
        and can_read_post(actor, post)
        and not post.hidden
        and not post.deleted
        and not thread.locked
        and not thread.channel.archived
    )


def check_react(actor: Actor, post: Post) -> None:
    if not can_react(actor, post):
        deny(actor, can_read_post(actor, post))


# Active members bookmark any post they read that is not deleted; the bookmark lives as long as
# they may read the post (a caucus they leave takes its posts off their list).
def can_bookmark(actor: Actor, post: Post) -> bool:
    return actor.is_member and can_read_post(actor, post) and not post.deleted


def check_bookmark(actor: Actor, post: Post) -> None:
    if not can_bookmark(actor, post):
        deny(actor, can_read_post(actor, post))


# Who reacted to a post is read by active members who read it: counts are shown to every
# reader of a public thread, names only to members (a caucus post's, to its members).
def can_see_reactors(actor: Actor, post: Post) -> bool:
    return can_see_reactors_in(actor, post.thread)


def can_see_reactors_in(actor: Actor, thread: Thread) -> bool:
    """As `can_see_reactors`, for every post of a thread (the rule reads only the thread)."""
    return actor.is_member and can_read_thread(actor, thread)


def check_see_reactors(actor: Actor, post: Post) -> None:
    if not can_see_reactors(actor, post):
        deny(actor, can_read_post(actor, post))


def visible_posts(actor: Actor, prefix: str = "") -> Q:
    """A filter over posts (or, with `prefix` "post__", rows pointing at posts: bookmarks,
    reactions) narrowing them to the posts the actor reads."""
    return visible_channels(actor).q(f"{prefix}thread__channel__")


# ---- the view model --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostView:
    """What one viewer may do with one post, as every surface shows it."""

    may_read: bool  # the post's place, author and notice
    may_read_text: bool  # its text: not deleted, and not hidden unless they may see hidden text
    may_see_hidden: bool  # a hidden post's text is shown to them (author or moderator)
    is_own: bool
    may_reply: bool
    may_edit: bool
    may_delete: bool
    may_flag: bool
    may_moderate: bool
    may_appeal: bool
    may_view_history: bool
    may_react: bool = False
    may_bookmark: bool = False

    @property
    def key(self) -> tuple[bool, ...]:
        """Everything the view says, as a tuple: equal keys render the same controls."""
        return astuple(self)

    def controls(self) -> dict[str, bool]:
        """The viewer's controls as data (JSON `can` and the live push)."""
        return {
            "reply": self.may_reply,
            "edit": self.may_edit,
            "delete": self.may_delete,
            "flag": self.may_flag,
            "moderate": self.may_moderate,
            "appeal": self.may_appeal,
            "history": self.may_view_history,
            "react": self.may_react,
            "bookmark": self.may_bookmark,
        }


def post_view(actor: Actor, post: Post) -> PostView:
    """The view model of `post` for `actor`. Needs `post.thread` (with its channel) loaded."""
    deleted = bool(post.deleted)
    hidden = bool(post.hidden) and not deleted
    see_hidden = hidden and can_see_hidden(actor, post)
    return PostView(
        may_read=can_read_post(actor, post),
        may_read_text=can_read_post(actor, post) and not deleted and (not hidden or see_hidden),
        may_see_hidden=see_hidden,
        is_own=_own(actor, post),
        may_reply=not deleted and can_reply(actor, post.thread),
        may_edit=can_edit(actor, post),
        may_delete=can_delete(actor, post),
        may_flag=not deleted and can_flag(actor, post),
        may_moderate=can_moderate_post(actor, post),
        may_appeal=can_appeal(actor, post),
        may_view_history=can_view_history(actor, post),
        may_react=can_react(actor, post),
        may_bookmark=can_bookmark(actor, post),
    )


def viewer_kind(actor: Actor, post: Any) -> tuple[Any, ...]:
    """Everything about a viewer that the post rules read for `post`: viewers with equal kinds
    get equal views (the live push builds one frame per kind, not per socket)."""
    caucus_id = post.thread.channel.caucus_id
    return (
        _own(actor, post),
        actor.is_member,
        actor.signed_in,
        actor.seat(caucus_id),
        is_site_moderator(actor),
    )


class _Probe:
    """Stands for any post of one kind when asking the rules: they read only the author, the
    hidden and deleted marks and the thread."""

    __policy_kind__ = "Post"
    __slots__ = ("author_id", "deleted", "hidden", "thread")

    def __init__(self, author_id: int | None, hidden: bool, deleted: bool, thread: Any) -> None:
        self.author_id = author_id
        self.hidden = hidden
        self.deleted = deleted
        self.thread = thread


class PostViews:
    """Views of the posts of one thread for one viewer, asked once per kind of post."""

    def __init__(self, actor: Actor, thread: Any) -> None:
        self.actor = actor
        self.thread = thread
        self._memo: dict[tuple[bool, bool, bool], PostView] = {}

    def of(self, post: Any) -> PostView:
        own = _own(self.actor, post)
        key = (own, bool(post.hidden), bool(post.deleted))
        view = self._memo.get(key)
        if view is None:
            author = self.actor.member_id if own else -1
            probe: Any = _Probe(author, key[1], key[2], self.thread)
            view = self._memo[key] = post_view(self.actor, probe)
        return view
