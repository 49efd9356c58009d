"""The nested posts of a thread page as HTML, built in Python.

This is the one place a page renders per post, so it is written for speed: plain string
building with escaping (markupsafe), and the policy's view model (`policy.PostViews`) asked
once per kind of post on the page (own or not, hidden or not, deleted or not) instead of once
per post. The renderer decides nothing itself: it shows what the view model allows. Live pushes
use the same code with an anonymous viewer, so a post looks the same pushed or loaded; each
socket gets its own controls as data from the same view model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

from forum import policy
from forum.models.reactions import REACTIONS
from forum.policy import Action, Actor
from forum.services.reactions import NO_MARKS, Marks, parse_counts
from forum.web.avatars import avatar


def when(moment: datetime | None) -> str:
    """A calm absolute time, the same for every reader and every minute (pages are cached)."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%-d %b %Y, %H:%M")


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else ""


def _plural(n: int) -> str:
    return "1 reply" if n == 1 else f"{n} replies"


class PostRenderer:
    def __init__(
        self,
        actor: Actor,
        thread: Any,
        first_unread: int | None = None,
        current_version: int | None = None,
        marks: Marks = NO_MARKS,
    ) -> None:
        self.actor = actor
        # The reader's own reactions and bookmarks on the page's posts.
        self.marks = marks
        self.thread = thread
        self.first_unread = first_unread
        self.show_versions = bool(current_version and current_version > 1)
        self.can_reply = policy.can(actor, Action.REPLY, thread)
        self.can_moderate = policy.can(actor, Action.MODERATE, thread)
        self.views = policy.PostViews(actor, thread)
        self.see_reactors = policy.posts.can_see_reactors_in(actor, thread)
        # Everything about the viewer that a post's HTML depends on, besides own/new/first.
        self._viewer = (
            self.can_reply,
            self.can_moderate,
            policy.can(actor, Action.TAKE_PART),
            actor.signed_in,
            self.show_versions,
            self.see_reactors,
        )

    def page(self, page: Any) -> Markup:
        """A thread page's posts. Fragments are kept with the page's shared rows, so readers
        of the same kind reuse them until the thread changes."""
        fragments: dict[tuple[Any, ...], str] = page.shared.fragments
        out: list[str] = []

        def emit(row: Any) -> None:
            replies = page.replies(row)
            new = page.is_new(row)
            own = self.actor.member_id is not None and row.author_id == self.actor.member_id
            mine = self.marks.mine(row.id)
            saved = row.id in self.marks.bookmarked
            key = (row.id, self._viewer, own, new, new and row.id == self.first_unread, mine, saved)
            head = fragments.get(key)
            if head is None:
                head = fragments[key] = self._head(row, new, len(replies), page.continues(row))
            out.append(head)
            if replies:
                for child in replies:
                    emit(child)
                out.append("</ol></details></li>")
            else:
                out.append("</li>")

        for root in page.roots:
            emit(root)
        return Markup("".join(out))  # noqa: S704 - every piece is escaped or sanitised HTML

    def one(self, post: Any) -> Markup:
        """A single post without its replies (live pushes)."""
        return Markup(self._head(post, True, 0, False) + "</li>")  # noqa: S704 - as above

    def _reactions(self, post: Any, may_react: bool) -> str:
        """The post's reactions as pills, only the kinds someone chose (as GitHub shows them):
        toggle buttons of the page's one form (`post-acts`, which carries the CSRF token) for
        those who may react, plain counts for others. "React" opens the full choice: a picker
        drawn by the page's script, or without it the reactions page. The emoji come from the
        stylesheet, so a page's text stays narrow (one emoji makes Python hold every character
        of the page in four bytes)."""
        pid = post.id
        counts = parse_counts(post.reaction_counts)
        encoded = " ".join(f"{k}:{n}" for k, n in counts.items())
        out = [f'<div class="reactions" data-counts="{encoded}">']
        if counts:
            mine = self.marks.mine(pid)
            for kind, _emoji, name in REACTIONS:
                n = counts.get(kind, 0)
                if not n:
                    continue
                label = f'<span class="visually-hidden">{name}</span><span class="n">{n}</span>'
                if may_react:
                    pressed = "true" if kind in mine else "false"
                    out.append(
                        f'<button form="post-acts" formaction="/p/{pid}/react" name="kind" '
                        f'value="{kind}" class="reaction" data-kind="{kind}" '
                        f'aria-pressed="{pressed}" title="{name}">{label}</button>'
                    )
                else:
                    out.append(
                        f'<span class="reaction" data-kind="{kind}" title="{name}">{label}</span>'
                    )
        if may_react:
            out.append(f'<a class="react" href="/p/{pid}/reactions" data-react="{pid}">React</a>')
        if counts and self.see_reactors:
            out.append(f'<a class="who" href="/p/{pid}/reactions">Who reacted</a>')
        out.append("</div>")
        return "".join(out)

    def _head(self, post: Any, new: bool, reply_count: int, continues: bool) -> str:
        """A post's HTML up to its replies (or to its end, less the closing </li>)."""
        out: list[str] = []
        pid = post.id
        view = self.views.of(post)
        classes = "post"
        if new:
            classes += " is-new"
        if post.hidden:
            classes += " is-hidden"
        if post.deleted:
            classes += " is-deleted"
        author = post.author
        out.append(
            f'<li class="{classes}" id="p{pid}" data-post="{pid}" data-path="{post.path}" '
            f'data-depth="{post.depth}" data-author="{post.author_id or ""}">'
        )
        if new and pid == self.first_unread:
            out.append('<p class="new-divider" id="first-unread">New since your last visit</p>')
        out.append(
            f'<article class="post-body" aria-labelledby="pm{pid}">'
            f'<header class="post-meta" id="pm{pid}"><span class="author">'
        )
        if author is not None:
            out.append(
                f'{avatar(author.handle, author.display_name)}<a href="/m/{escape(author.handle)}">'
                f"{escape(author.display_name)}</a> "
                f'<span class="muted">@{escape(author.handle)}</span>'
            )
        else:
            out.append("a former member")
        out.append(
            f'</span> <a href="/p/{pid}" class="when"><time datetime="'
            f'{_iso(post.created_at)}">{when(post.created_at)}</time></a>'
        )
        if post.edited_at and not post.deleted:
            out.append(f' <a href="/p/{pid}/history" class="edited">edited</a>')
        if self.show_versions and post.statement_version:
            out.append(f' <span class="tag">answered version {int(post.statement_version)}</span>')
        if new:
            out.append(' <span class="tag">new</span>')
        out.append("</header>")
        if post.deleted:
            out.append("<p>This post was deleted by its author.</p>")
        elif post.hidden:
            out.append(
                f'<p class="mod-note">Hidden by a facilitator: '
                f"{escape(post.hidden_reason or '')}</p>"
            )
            if view.may_see_hidden:
                who = "its author" if view.is_own else "a moderator"
                out.append(
                    f"<details><summary>Show the hidden text (you can see it as {who})"
                    f'</summary><div class="prose">{post.html}</div></details>'
                )
        else:
            out.append(f'<div class="prose">{post.html}</div>')
        if not post.deleted and not post.hidden:
            out.append(self._reactions(post, view.may_react))
        if not post.deleted:
            out.append('<nav class="post-actions" aria-label="Post actions">')
            if view.may_reply:
                out.append(
                    f'<a href="/t/{post.thread_id}/reply?to={pid}" data-reply="{pid}">Reply</a>'
                )
            if view.may_edit:
                out.append(f'<a href="/p/{pid}/edit">Edit</a>')
            if view.may_flag:
                out.append(f'<a href="/p/{pid}/flag">Flag</a>')
                out.append(f'<a href="/reports/new?post={pid}">Report to the committee</a>')
            if view.may_moderate:
                out.append(f'<a href="/p/{pid}/moderate">Moderate</a>')
            elif view.may_appeal:
                out.append(f'<a href="/p/{pid}/moderate">Appeal</a>')
            if view.may_bookmark:
                saved = pid in self.marks.bookmarked
                out.append(
                    f'<button type="submit" form="post-acts" formaction="/p/{pid}/bookmark" '
                    f'class="link bookmark" data-bookmark="{pid}" aria-pressed="'
                    f'{"true" if saved else "false"}">{"Bookmarked" if saved else "Bookmark"}'
                    "</button>"
                )
            out.append("</nav>")
        out.append("</article>")
        if reply_count:
            whose = f"@{escape(author.handle)}" if author is not None else "this post"
            out.append(
                f'<details class="collapse" open><summary>{_plural(reply_count)} '
                f'to {whose}</summary><ol class="replies">'
            )
        elif continues:
            out.append(
                f'<p class="continue"><a href="/t/{post.thread_id}/p/{pid}">Continue this '
                f"thread ({_plural(post.child_count)}) →</a></p>"
            )
        return "".join(out)
