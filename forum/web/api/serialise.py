"""Models to JSON-ready dicts: the one place that decides what each API object shows.

Each function takes what the service returned (with its relations loaded) and, where what shows
depends on who asks, the actor; it asks the policy, never decides itself. The output models in
`forum.schemas` (and so the OpenAPI document) describe exactly these shapes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.models import Model

from forum import policy
from forum.models import (
    Caucus,
    CaucusMembership,
    Channel,
    Flag,
    Member,
    ModerationAction,
    Notification,
    Post,
    PostRevision,
    ReviewItem,
    Statement,
    StatementVersion,
    Thread,
)
from forum.policy import Action, Actor, PostView
from forum.services.caucuses import CaucusView
from forum.services.channels import ThreadRow
from forum.services.post_rows import AuthorRef, PostRow
from forum.services.search_index import Hit


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def loaded(obj: Model | PostRow, name: str) -> Any:
    """A related object if the service fetched it, else None (never a lazy query)."""
    if isinstance(obj, PostRow):
        return getattr(obj, name)
    value = obj.__dict__.get(f"_{name}")  # where tortoise keeps a fetched relation
    return value if isinstance(value, Model) else None


def member_ref(member: Member | AuthorRef | Model | None) -> dict[str, Any] | None:
    """How a member appears beside their posts and threads (null for a removed member)."""
    if not isinstance(member, Member | AuthorRef):
        return None
    return {"handle": member.handle, "display_name": member.display_name}


def me(member: Member) -> dict[str, Any]:
    """The caller's own account (GET /me)."""
    return {
        "id": member.id,
        "handle": member.handle,
        "display_name": member.display_name,
        "role": member.role,
        "status": member.status,
        "unread_notifications": member.unread_notifications,
        "created_at": iso(member.created_at),
        "email": member.email,
        "email_confirmed": member.email is not None and member.email_confirmed_at is not None,
    }


def channel(ch: Channel) -> dict[str, Any]:
    return {
        "slug": ch.slug,
        "name": ch.name,
        "description": ch.description,
        "public": bool(ch.public),
        "archived": bool(ch.archived),
        "caucus_id": ch.caucus_id,
        "thread_count": ch.thread_count,
    }


def channel_ref(ch: Channel) -> dict[str, Any]:
    return {"slug": ch.slug, "name": ch.name}


def thread(t: Thread, ch: Channel | None = None) -> dict[str, Any]:
    """A thread's heading. `ch` is its channel when the service did not attach it (lists inside
    one channel)."""
    where = ch if ch is not None else loaded(t, "channel")
    return {
        "id": t.id,
        "title": t.title,
        "channel": channel_ref(where) if isinstance(where, Channel) else None,
        "author": member_ref(loaded(t, "author")),
        "statement_id": t.statement_id,
        "seeded": bool(t.seeded),
        "pinned": bool(t.pinned),
        "locked": bool(t.locked),
        "slow_mode_seconds": t.slow_mode_seconds,
        "post_count": t.post_count,
        "last_post_id": t.last_post_id,
        "created_at": iso(t.created_at),
        "last_activity_at": iso(t.last_activity_at),
    }


def thread_row(row: ThreadRow, ch: Channel | None = None) -> dict[str, Any]:
    """A thread in a list, with the reader's unread marks."""
    return {**thread(row.thread, ch), "unread": row.unread, "new_posts": row.new_posts}


def statement(st: Statement) -> dict[str, Any]:
    return {
        "id": st.id,
        "title": st.title,
        "author": st.author,
        "body": st.body,
        "html": st.html,
        "caption": st.caption,
        "source_url": st.source_url,
        "external_id": st.external_id,
        "published_at": iso(st.published_at),
        "version": st.version,
        "created_at": iso(st.created_at),
        "updated_at": iso(st.updated_at),
    }


def statement_version(v: StatementVersion, diff_html: str = "") -> dict[str, Any]:
    return {
        "version": v.version,
        "title": v.title,
        "body": v.body,
        "diff_html": diff_html,
        "created_at": iso(v.created_at),
    }


# The controls a post shows in the API (`can`), as the OpenAPI document names them.
API_CONTROLS = ("reply", "edit", "delete", "flag", "moderate")


def post(p: Post | PostRow, actor: Actor, view: PostView | None = None) -> dict[str, Any]:
    """A post as `actor` may see it. Needs `p.thread` (with its channel) and `p.author` loaded,
    as `access.post_for` and `threads.thread_page` leave them. `view` is the policy's view model
    of the post for `actor` when the caller has it (a page asks once per kind of post).

    Deleted: no text. Hidden: no text and the moderation reason, except for those the policy
    lets see hidden text (its author, its moderators). `body` (the markdown source) only for
    those who may edit the post."""
    if view is None:
        view = policy.post_view(actor, p)  # type: ignore[arg-type]
    hidden = bool(p.hidden) and not p.deleted
    controls = view.controls()
    data: dict[str, Any] = {
        "id": p.id,
        "thread_id": p.thread_id,
        "parent_id": p.parent_id,
        "depth": p.depth,
        "path": p.path,
        "author": member_ref(loaded(p, "author")),
        "html": p.html if view.may_read_text else None,
        "deleted": bool(p.deleted),
        "hidden": hidden,
        "created_at": iso(p.created_at),
        "edited_at": iso(p.edited_at),
        "statement_version": p.statement_version,
        "reply_count": p.child_count,
        "url": f"/p/{p.id}",
        "can": {name: controls[name] for name in API_CONTROLS},
    }
    if hidden:
        data["hidden_reason"] = p.hidden_reason
    if view.may_edit:
        data["body"] = p.body
    if getattr(p, "continues", False):
        # Deeper replies live on the branch's own page: GET /threads/{id}?focus={this id}.
        data["continues"] = True
    return data


def revision(r: PostRevision) -> dict[str, Any]:
    return {"id": r.id, "body": r.body, "created_at": iso(r.created_at)}


def notification(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "text": n.text,
        "url": n.url,
        "thread_id": n.thread_id,
        "post_id": n.post_id,
        "read": bool(n.read),
        "created_at": iso(n.created_at),
    }


def hit(h: Hit) -> dict[str, Any]:
    return {
        "post_id": h.post_id,
        "thread_id": h.thread_id,
        "thread_title": h.thread_title,
        "channel": {"slug": h.channel_slug, "name": h.channel_name},
        "author_handle": h.author_handle,
        "created_at": iso(h.created_at) if isinstance(h.created_at, datetime) else None,
        "snippet_html": h.snippet_html,
        "url": h.url,
    }


# ---- caucuses ---------------------------------------------------------------------------------


def _caucus_base(c: Caucus, actor: Actor, my_seat: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": c.slug,
        "name": c.name,
        "description": c.description,
        "listed": bool(c.listed),
        "join_policy": c.join_policy,
        "archived": c.archived_at is not None,
        "my_seat": my_seat,
    }
    if policy.can(actor, Action.SEE_SIZE, c):
        data["member_count"] = c.member_count
    return data


def caucus(c: Caucus, actor: Actor) -> dict[str, Any]:
    """A caucus in the list of those the caller may know of. The size only where the policy
    shows it; the caller's seat as the list page shows it (a pending request or invitation is
    `waiting`: the caucus's own page says which)."""
    return _caucus_base(c, actor, policy.caucuses.seat_label(actor, c))


def caucus_view(view: CaucusView, actor: Actor) -> dict[str, Any]:
    """A caucus's own page: its channels for its members only, and what the caller may do."""
    c = view.caucus
    data = _caucus_base(c, actor, view.seat or view.pending)
    if policy.can(actor, Action.READ_MEMBERS, c):
        data["channels"] = [channel_ref(ch) for ch in view.channels]
    data["can"] = {
        "join": policy.can(actor, Action.REQUEST_JOIN, c),
        "leave": policy.can(actor, Action.LEAVE, c),
        "govern": policy.can(actor, Action.GOVERN, c),
        "archive": policy.can(actor, Action.ARCHIVE, c) and c.archived_at is None,
    }
    return data


def _seat_member(seat: CaucusMembership) -> dict[str, Any]:
    ref = member_ref(loaded(seat, "member"))
    return ref if ref is not None else {"handle": "", "display_name": ""}


def caucus_members(view: CaucusView, actor: Actor) -> dict[str, Any]:
    """A caucus's members (`caucuses.view` fills them for its members only); requests to join,
    with their notes, and invitations for its conveners, as the page shows them."""
    data: dict[str, Any] = {
        "members": [{**_seat_member(s), "role": s.role} for s in view.members],
    }
    if policy.can(actor, Action.READ_REQUESTS, view.caucus):
        data["requests"] = [{**_seat_member(s), "note": s.note} for s in view.requests]
        data["invited"] = [_seat_member(s) for s in view.invited]
    return data


# ---- moderation -------------------------------------------------------------------------------


def review_item(item: ReviewItem, actor: Actor) -> dict[str, Any]:
    """An item of the review queue as `moderation.queue` leaves it (post, thread, channel,
    author, subject, claimer and resolver loaded; its flags attached). Flag notes show, their
    reporters do not."""
    flags: list[Flag] = getattr(item, "flag_list", [])
    target = loaded(item, "post")
    return {
        "id": item.id,
        "kind": item.kind,
        "status": item.status,
        "flag_count": item.flag_count,
        "reasons": sorted({f.reason for f in flags}),
        "flag_notes": [f.note for f in flags if f.note],
        "post": post(target, actor) if isinstance(target, Post) else None,
        "subject": member_ref(loaded(item, "subject")),
        "note": item.note,
        "claimed_by": member_ref(loaded(item, "claimed_by")),
        "resolution": item.resolution,
        "resolution_reason": item.resolution_reason,
        "resolved_by": member_ref(loaded(item, "resolved_by")),
        "created_at": iso(item.created_at),
        "resolved_at": iso(item.resolved_at),
    }


def log_entry(act: ModerationAction) -> dict[str, Any]:
    """One act of the moderation log: who, what, on what (a label, never the post's text), why."""
    return {
        "id": act.id,
        "action": act.action,
        "actor": member_ref(loaded(act, "actor")),
        "target_label": act.target_label,
        "thread_id": act.thread_id,
        "post_id": act.post_id,
        "reason": act.reason,
        "created_at": iso(act.created_at),
    }
