"""RSS and Atom feeds, read with feedparser: one statement per feed item."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import feedparser

from forum.importers.base import ImportProblem, StatementData, limit_problem, summarise_problems
from forum.importers.cleanup import (
    collapse_whitespace,
    escape_markdown,
    html_to_markdown,
    html_to_text,
    normalise_text,
    split_paragraphs,
)
from forum.importers.sniff import is_feed, local_name, parse_xml

logger = logging.getLogger(__name__)

_HTML_TYPES = {"text/html", "application/xhtml+xml"}


def parse_feed(data: bytes, *, name: str, default_author: str | None = None) -> list[StatementData]:
    """Import every usable item of an RSS or Atom feed.

    Items without a title or content are skipped (and logged); if none is usable the whole
    feed is refused with an ImportProblem that lists why.
    """
    root = parse_xml(data, name=name)
    if not is_feed(root):
        raise ImportProblem(
            f"{name}: not a valid feed: the XML root element is <{local_name(root.tag)}>, "
            "not an RSS or Atom feed"
        )
    return feed_statements(data, name=name, default_author=default_author)


def feed_statements(
    data: bytes, *, name: str, default_author: str | None = None
) -> list[StatementData]:
    """The items of a feed already checked to be well-formed XML."""
    # feedparser gets bytes, never str: a str is taken for a URL or file name to open.
    parsed: Any = feedparser.parse(data)
    entries: list[Any] = list(parsed.entries)
    if not entries:
        raise ImportProblem(f"{name}: the feed has no items to import")

    feed_author = _author(parsed.feed)
    statements: list[StatementData] = []
    problems: list[str] = []
    for number, entry in enumerate(entries, start=1):
        title = _title(entry)
        link = _text(entry.get("link"))
        body, caption = _body(entry, base_url=link)
        problem = limit_problem(title, body)
        if problem:
            problems.append(f"item {number}{_label(title)}: {problem}")
            continue
        statements.append(
            StatementData(
                title=title,
                body=body,
                author=_author(entry) or feed_author or default_author,
                source_url=link,
                published_at=_published(entry),
                # Without a guid/id, the item's link is the most stable identity it has.
                external_id=_text(entry.get("id")) or link,
                caption=caption,
            )
        )

    if not statements:
        raise ImportProblem(f"{name}: no usable items in the feed: {summarise_problems(problems)}")
    for problem in problems:
        logger.warning("%s: skipped %s", name, problem)
    return statements


def _label(title: str) -> str:
    if not title:
        return ""
    short = title if len(title) <= 60 else title[:57] + "..."
    return f" \u201c{short}\u201d"


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _title(entry: Any) -> str:
    raw = _text(entry.get("title")) or ""
    detail = entry.get("title_detail") or {}
    if detail.get("type") in _HTML_TYPES:
        return html_to_text(raw)
    return collapse_whitespace(normalise_text(raw))


def _body(entry: Any, *, base_url: str | None) -> tuple[str, str | None]:
    """Markdown for the item's fullest content (content:encoded / atom:content, else summary)."""
    contents = [c for c in entry.get("content") or [] if _text(c.get("value"))]
    summary = entry.get("summary_detail")
    # Full content beats the summary; within the content, HTML beats a plain-text alternative.
    candidates = contents or ([summary] if summary and _text(summary.get("value")) else [])
    if not candidates:
        return "", None
    html = [c for c in candidates if c.get("type") in _HTML_TYPES]
    chosen = html[0] if html else candidates[0]
    value = normalise_text(chosen.get("value"))
    if chosen.get("type") in _HTML_TYPES:
        return html_to_markdown(value, base_url=base_url)
    return "\n\n".join(escape_markdown(p) for p in split_paragraphs(value)), None


def _author(source: Any) -> str | None:
    detail = source.get("author_detail") or {}
    name = _text(detail.get("name"))
    if name:
        return collapse_whitespace(name)
    author = _text(source.get("author"))
    # A bare RSS <author> is an email address; that is not a name to show on a statement.
    if author and "@" not in author:
        return collapse_whitespace(author)
    return None


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if isinstance(value, time.struct_time):
            # feedparser has already converted these to UTC.
            return datetime(*value[:6], tzinfo=UTC)
    return None
