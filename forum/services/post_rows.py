"""The posts of one page of a thread, fetched with one raw query and kept per process.

A thread page is the hot path of the forum, and building ORM models for fifty posts cost more
than everything else on the page together. The rows are plain objects with the attributes the
policy and the renderers read. They are cached by (thread, its event sequence, page): every
change to a post in the thread announces an event and so moves the sequence, which retires the
entry; nothing is ever served from a sequence that has moved on.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise import connections

from forum.db import sql_for

CACHE_PAGES = 256


@dataclass(slots=True)
class AuthorRef:
    id: int
    handle: str
    display_name: str


@dataclass(slots=True, eq=False)
class PostRow:
    """A post as a page shows it. `__policy_kind__` lets the policy treat it as a Post."""

    __policy_kind__ = "Post"

    id: int
    thread_id: int
    parent_id: int | None
    path: str
    depth: int
    seq: int
    child_count: int
    author_id: int | None
    author: AuthorRef | None
    body: str
    html: str
    created_at: datetime | None
    edited_at: datetime | None
    hidden: bool
    hidden_reason: str | None
    deleted: bool
    statement_version: int | None
    reaction_counts: str = ""
    thread: Any = None
    replies: list[PostRow] = field(default_factory=list)
    is_new: bool = False
    continues: bool = False


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


_COLUMNS = (
    "p.id, p.thread_id, p.parent_id, p.path, p.depth, p.seq, p.child_count, p.author_id, p.body, "
    "p.html, p.created_at, p.edited_at, p.hidden, p.hidden_reason, p.deleted, "
    "p.statement_version, p.reaction_counts, m.handle, m.display_name"
)


def _row(r: Any) -> PostRow:
    (
        pid,
        thread_id,
        parent_id,
        path,
        depth,
        seq,
        child_count,
        author_id,
        body,
        html,
        created,
        edited,
        hidden,
        reason,
        deleted,
        version,
        reaction_counts,
        handle,
        name,
    ) = r
    return PostRow(
        id=pid,
        thread_id=thread_id,
        parent_id=parent_id,
        path=path,
        depth=depth,
        seq=seq,
        child_count=child_count,
        author_id=author_id,
        author=AuthorRef(author_id, handle, name) if handle is not None else None,
        body=body,
        html=html,
        created_at=_when(created),
        edited_at=_when(edited),
        hidden=bool(hidden),
        hidden_reason=reason,
        deleted=bool(deleted),
        statement_version=version,
        reaction_counts=reaction_counts or "",
    )


@dataclass(eq=False)
class CachedRows:
    """One page's rows, shared by every reader until the thread's sequence moves on: the rows,
    each post's replies on the page, and rendered fragments keyed by the renderer."""

    rows: list[PostRow]
    children: dict[int, list[PostRow]] = field(default_factory=dict)
    fragments: dict[tuple[Any, ...], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        on_page = {row.id for row in self.rows}
        for row in self.rows:
            if row.parent_id is not None and row.parent_id in on_page:
                self.children.setdefault(row.parent_id, []).append(row)

    def roots(self, rows: list[PostRow]) -> list[PostRow]:
        on_page = {row.id for row in rows}
        return [r for r in rows if r.parent_id is None or r.parent_id not in on_page]


_cache: OrderedDict[tuple[Any, ...], CachedRows] = OrderedDict()


async def page_rows(
    thread_id: int,
    seq: int,
    depth_limit: int,
    limit: int,
    after: str | None = None,
    prefix: str | None = None,
    focus: int | None = None,
) -> CachedRows:
    """Up to `limit` posts in reading order (path order), no deeper than `depth_limit`, after
    the `after` path and under the `prefix` path (or just the post `focus`). Callers must not
    mutate the rows: copy them."""
    key = (thread_id, seq, depth_limit, limit, after, prefix, focus)
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    conn = connections.get("default")
    params: list[Any] = [thread_id, depth_limit]
    where = "p.thread_id = ? AND p.depth <= ?"
    if after is not None:
        params.append(after)
        where += " AND p.path > ?"
    if focus is not None:
        params.append(focus)
        where += " AND p.id = ?"
    if prefix is not None:
        # Paths use the digits and a-z only, so [prefix, prefix + "{") is the prefix's range.
        params += [prefix, prefix + "{"]
        where += " AND p.path >= ? AND p.path < ?"
    sql = sql_for(
        conn,
        f"SELECT {_COLUMNS} FROM post p LEFT JOIN member m ON m.id = p.author_id "
        f"WHERE {where} ORDER BY p.path LIMIT {int(limit)}",
    )
    _, rows = await conn.execute_query(sql, params)
    result = CachedRows(
        [_row(tuple(r.values()) if isinstance(r, dict) else tuple(r)) for r in rows]
    )
    _cache[key] = result
    if len(_cache) > CACHE_PAGES:
        _cache.popitem(last=False)
    return result


def forget() -> None:
    """Drop every cached page (a new database, or rows written behind the services' back)."""
    _cache.clear()
