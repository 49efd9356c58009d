"""WordPress WXR exports: each published post becomes a statement.

Pages, attachments, menu items, drafts, private and password-protected posts are skipped:
importing them would publish what the site never made public as a post.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from xml.etree.ElementTree import Element

from forum.importers.base import ImportProblem, StatementData, limit_problem, summarise_problems
from forum.importers.cleanup import (
    collapse_whitespace,
    html_to_markdown,
    html_to_text,
    normalise_text,
)
from forum.importers.sniff import parse_xml, wp_namespace

logger = logging.getLogger(__name__)

CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"

_CAPTION_SHORTCODE = re.compile(r"\[caption\b([^\]]*)\](.*?)\[/caption\]", re.DOTALL | re.I)
_CAPTION_MEDIA = re.compile(
    r"\s*((?:<a\b[^>]*>\s*)?<img\b[^>]*>(?:\s*</a>)?)(.*)", re.DOTALL | re.IGNORECASE
)
_CAPTION_ATTRIBUTE = re.compile(r"""\bcaption=(["'])(.*?)\1""", re.DOTALL | re.IGNORECASE)
_BLOCK_TAG = re.compile(
    r"<(?:!--|/?(?:p|div|h[1-6]|ul|ol|li|blockquote|pre|table|figure|hr|section|article|aside"
    r"|header|footer|nav|dl|address|details)\b)",
    re.IGNORECASE,
)
_BR_NEWLINE = re.compile(r"<br\s*/?>[ \t]*\n", re.IGNORECASE)


def parse_wxr(data: bytes, *, name: str, default_author: str | None = None) -> list[StatementData]:
    """Import every published post of a WordPress export (WXR).

    Posts without a title or content are skipped (and logged); if none is usable the export is
    refused with an ImportProblem that lists why.
    """
    root = parse_xml(data, name=name)
    wp = wp_namespace(root)
    if wp is None:
        raise ImportProblem(f"{name}: not a WordPress export (no wp: export namespace)")
    return wxr_statements(root, wp=wp, name=name, default_author=default_author)


def wxr_statements(
    root: Element, *, wp: str, name: str, default_author: str | None = None
) -> list[StatementData]:
    """The published posts of a parsed export whose WordPress namespace is ``wp``."""
    channel = root.find("channel")
    if channel is None:
        raise ImportProblem(f"{name}: not a valid WordPress export: it has no <channel>")

    # dc:creator holds the login name; the export's author list maps it to the shown name.
    display_names: dict[str, str] = {}
    for author in channel.findall(f"{{{wp}}}author"):
        login = _find(author, f"{{{wp}}}author_login")
        shown = _find(author, f"{{{wp}}}author_display_name")
        if login and shown:
            display_names[login] = collapse_whitespace(shown)

    statements: list[StatementData] = []
    problems: list[str] = []
    skipped: Counter[str] = Counter()
    for number, item in enumerate(channel.findall("item"), start=1):
        post_type = _find(item, f"{{{wp}}}post_type") or "post"
        status = _find(item, f"{{{wp}}}status") or "unknown status"
        if post_type != "post":
            skipped[post_type] += 1
            continue
        if status != "publish":
            skipped[status] += 1
            continue
        if _find(item, f"{{{wp}}}post_password"):
            skipped["password-protected"] += 1
            continue

        title = html_to_text(item.findtext("title") or "")
        link = _find(item, "link")
        html = normalise_text(item.findtext(f"{{{CONTENT_NS}}}encoded") or "")
        body, caption = "", None
        if html.strip():
            body, caption = html_to_markdown(wp_autop(html), base_url=link)
        problem = limit_problem(title, body)
        post_id = _find(item, f"{{{wp}}}post_id")
        if problem:
            label = f"item {number}" + (f" (post {post_id})" if post_id else "")
            if title:
                label += f" \u201c{title[:57] + '...' if len(title) > 60 else title}\u201d"
            problems.append(f"{label}: {problem}")
            continue

        creator = _find(item, f"{{{DC_NS}}}creator")
        statements.append(
            StatementData(
                title=title,
                body=body,
                author=display_names.get(creator, creator) if creator else default_author,
                source_url=link,
                published_at=_published(item, wp),
                external_id=_find(item, "guid") or post_id,
                caption=caption,
            )
        )

    if not statements:
        also = ", ".join(f"{count} {kind}" for kind, count in sorted(skipped.items()))
        if problems:
            message = f"no usable posts in the WordPress export: {summarise_problems(problems)}"
            if also:
                message += f" (also skipped: {also})"
        else:
            message = "no published posts in the WordPress export" + (
                f" (skipped: {also})" if also else ""
            )
        raise ImportProblem(f"{name}: {message}")
    for problem in problems:
        logger.warning("%s: skipped %s", name, problem)
    return statements


def _find(element: Element, path: str) -> str | None:
    text = element.findtext(path)
    return text.strip() if text and text.strip() else None


def _published(item: Element, wp: str) -> datetime | None:
    gmt = _find(item, f"{{{wp}}}post_date_gmt")
    # Unpublished posts carry "0000-00-00 00:00:00"; strptime refuses it and we fall through.
    if gmt:
        try:
            return datetime.strptime(gmt, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            pass
    pub_date = _find(item, "pubDate")
    if pub_date:
        try:
            parsed = parsedate_to_datetime(pub_date)
        except (TypeError, ValueError, OverflowError):
            return None
        # RFC 2822's "-0000" means "zone unknown"; WordPress writes it for UTC anyway.
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def _expand_caption(match: re.Match[str]) -> str:
    attributes, inner = match.group(1), match.group(2)
    media_match = _CAPTION_MEDIA.match(inner)
    media, text = (media_match.group(1), media_match.group(2)) if media_match else ("", inner)
    if not text.strip():
        # Old exports keep the caption in an attribute: [caption caption="..."]<img>[/caption]
        attribute = _CAPTION_ATTRIBUTE.search(attributes)
        text = attribute.group(2) if attribute else ""
    return f"<figure>{media}<figcaption>{text.strip()}</figcaption></figure>"


def wp_autop(html: str) -> str:
    """Add the paragraph tags WordPress leaves out of stored post content.

    Classic-editor posts are stored with blank lines between paragraphs and single newlines for
    line breaks; WordPress adds the <p> and <br> only when it renders the page. Chunks that are
    already block markup (including block-editor content, which opens with <!-- wp:... -->)
    are left untouched.
    """
    html = _CAPTION_SHORTCODE.sub(_expand_caption, html)
    chunks: list[str] = []
    for chunk in re.split(r"\n[ \t]*\n", html.strip()):
        chunk = chunk.strip()
        if not chunk:
            continue
        if _BLOCK_TAG.search(chunk):
            chunks.append(chunk)
        else:
            chunk = _BR_NEWLINE.sub("\n", chunk).replace("\n", "<br>\n")
            chunks.append(f"<p>{chunk}</p>")
    return "\n\n".join(chunks)
