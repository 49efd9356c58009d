"""Full-text search: SQLite FTS5 or PostgreSQL tsvector with GIN indexes.

The index holds only posts that are neither hidden nor deleted. Searching joins through
thread and channel and narrows by the policy's channel scope in SQL, never after the fetch.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from forum.models import Post
from forum.policy import ChannelScope

START, STOP = "\x02", "\x03"
PAGE = 20


def _pg(conn: BaseDBAsyncClient) -> bool:
    return conn.capabilities.dialect == "postgres"


async def index_post(conn: BaseDBAsyncClient, post: Post, title: str) -> None:
    if _pg(conn):
        return  # PostgreSQL indexes expressions over the post and thread rows themselves
    await conn.execute_query("DELETE FROM post_fts WHERE rowid = ?", [post.id])
    if not post.hidden and not post.deleted:
        await conn.execute_query(
            "INSERT INTO post_fts(rowid, title, body) VALUES (?, ?, ?)", [post.id, title, post.body]
        )


async def unindex_post(conn: BaseDBAsyncClient, post_id: int) -> None:
    if not _pg(conn):
        await conn.execute_query("DELETE FROM post_fts WHERE rowid = ?", [post_id])


async def retitle(conn: BaseDBAsyncClient, thread_id: int, title: str) -> None:
    if not _pg(conn):
        await conn.execute_query(
            "UPDATE post_fts SET title = ? "
            "WHERE rowid IN (SELECT id FROM post WHERE thread_id = ?)",
            [title, thread_id],
        )


@dataclass
class Hit:
    post_id: int
    thread_id: int
    thread_title: str
    channel_name: str
    channel_slug: str
    author_handle: str | None
    created_at: Any
    snippet_html: str
    # In a caucus the searcher sits in: the result says it is private.
    in_caucus: bool = False

    @property
    def url(self) -> str:
        return f"/t/{self.thread_id}#p{self.post_id}"


def _snippet(raw: str) -> str:
    """Escape the snippet, then turn our private markers into <mark> tags."""
    text = html.escape(raw or "")
    return text.replace(START, "<mark>").replace(STOP, "</mark>")


_WORD = re.compile(r"\w+", re.UNICODE)


def fts5_query(q: str) -> str:
    """A safe FTS5 query: each word quoted (no operators from the user), all required,
    the last one as a prefix."""
    words = _WORD.findall(q)[:12]
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _scope_sql(scope: ChannelScope, mark: Any) -> tuple[str, list[Any]]:
    """The scope as SQL; `mark(n)` spells the placeholder of the n-th parameter (from 1)."""
    params: list[Any] = []
    open_part = "c.caucus_id IS NULL" + ("" if scope.open_channels else " AND c.public")
    if scope.caucus_ids:
        marks = []
        for cid in sorted(scope.caucus_ids):
            params.append(cid)
            marks.append(mark(len(params)))
        return f"(({open_part}) OR c.caucus_id IN ({', '.join(marks)}))", params
    return f"({open_part})", params


async def search(q: str, scope: ChannelScope, page: int = 1) -> tuple[list[Hit], bool]:
    """Ranked hits the scope may read, and whether there is a next page."""
    conn = connections.get("default")
    offset = (max(1, page) - 1) * PAGE
    if _pg(conn):
        words = " ".join(_WORD.findall(q)[:12])
        if not words:
            return [], False

        def mark(n: int) -> str:
            return f"${n}"

        # The caucus ids take $1..$n, the search words the next one (the words once took $n+1
        # and the first id $2: integer = text for every member with a caucus seat).
        where, params = _scope_sql(scope, mark)
        n = len(params)
        sql = f"""
            SELECT p.id AS post_id, t.id AS thread_id, t.title AS thread_title,
                   c.name AS channel_name, c.slug AS channel_slug, m.handle AS author_handle,
                   c.caucus_id IS NOT NULL AS in_caucus, p.created_at AS created_at,
                   ts_headline('english', p.body, query,
                               'StartSel=' || chr(2) || ', StopSel=' || chr(3) ||
                               ', MaxWords=30, MinWords=10') AS snippet,
                   ts_rank(to_tsvector('english', p.body), query)
                     + 2 * ts_rank(to_tsvector('english', t.title), query) AS rank
            FROM post p
            JOIN thread t ON t.id = p.thread_id
            JOIN channel c ON c.id = t.channel_id
            LEFT JOIN member m ON m.id = p.author_id,
            websearch_to_tsquery('english', ${n + 1}) AS query
            WHERE {where} AND NOT p.hidden AND NOT p.deleted
              AND (to_tsvector('english', p.body) @@ query
                   OR (to_tsvector('english', t.title) @@ query AND p.parent_id IS NULL
                       AND p.path = '0000'))
            ORDER BY rank DESC, p.id DESC
            LIMIT {PAGE + 1} OFFSET {offset}
        """
        rows = await conn.execute_query_dict(sql, [*params, words])
    else:
        match = fts5_query(q)
        if not match:
            return [], False
        where, params = _scope_sql(scope, lambda i: "?")
        sql = f"""
            SELECT p.id AS post_id, t.id AS thread_id, t.title AS thread_title,
                   c.name AS channel_name, c.slug AS channel_slug, m.handle AS author_handle,
                   c.caucus_id IS NOT NULL AS in_caucus, p.created_at AS created_at,
                   snippet(post_fts, 1, char(2), char(3), '…', 24) AS snippet
            FROM post_fts
            JOIN post p ON p.id = post_fts.rowid
            JOIN thread t ON t.id = p.thread_id
            JOIN channel c ON c.id = t.channel_id
            LEFT JOIN member m ON m.id = p.author_id
            WHERE post_fts MATCH ? AND {where} AND NOT p.hidden AND NOT p.deleted
            ORDER BY bm25(post_fts, 4.0, 1.0), p.id DESC
            LIMIT {PAGE + 1} OFFSET {offset}
        """
        rows = await conn.execute_query_dict(sql, [match, *params])
    hits = [
        Hit(
            post_id=r["post_id"],
            thread_id=r["thread_id"],
            thread_title=r["thread_title"],
            channel_name=r["channel_name"],
            channel_slug=r["channel_slug"],
            author_handle=r["author_handle"],
            created_at=_when(r["created_at"]),
            snippet_html=_snippet(r["snippet"]),
            in_caucus=bool(r["in_caucus"]),
        )
        for r in rows[:PAGE]
    ]
    return hits, len(rows) > PAGE


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime) or value is None:
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
