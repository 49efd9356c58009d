"""Statement importers: turn text, markdown, RSS/Atom feeds and WordPress exports into statements.

Parsing only; storing the results is the caller's business. Every failure a user can cause is an
ImportProblem whose message names the file and what is wrong with it.
"""

from __future__ import annotations

from pathlib import Path

from forum.importers.base import MAX_BODY_CHARS, MAX_TITLE_CHARS, ImportProblem, StatementData
from forum.importers.feeds import feed_statements, parse_feed
from forum.importers.sniff import (
    is_feed,
    local_name,
    looks_like_html,
    looks_like_xml,
    parse_xml,
    wp_namespace,
)
from forum.importers.text import parse_text
from forum.importers.wxr import parse_wxr, wxr_statements

# Formats people plausibly upload by mistake; naming them beats "not valid UTF-8".
_BINARY_SIGNATURES = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip archive or office document (.docx, .odt)"),
    (b"\xd0\xcf\x11\xe0", "an old-style Word or Office document"),
)

__all__ = [
    "MAX_BODY_CHARS",
    "MAX_TITLE_CHARS",
    "ImportProblem",
    "StatementData",
    "parse_bytes",
    "parse_feed",
    "parse_path",
    "parse_text",
    "parse_wxr",
]


def parse_bytes(
    data: bytes, *, name: str, default_author: str | None = None
) -> list[StatementData]:
    """Import statements from a file's content, choosing the parser by sniffing the content.

    A WordPress export (RSS with the wp: namespace) and RSS/Atom feeds are recognised by their
    XML; anything else is a text or markdown file whose first non-empty line is the title.
    ``name`` is the file name: it appears in problems and ".md" marks markdown.
    """
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        raise ImportProblem(f"{name}: the file is empty")
    if looks_like_xml(data):
        root = parse_xml(data, name=name)
        wp = wp_namespace(root)
        if wp is not None:
            return wxr_statements(root, wp=wp, name=name, default_author=default_author)
        if is_feed(root):
            return feed_statements(data, name=name, default_author=default_author)
        raise ImportProblem(
            f"{name}: not a valid feed: the XML root element is <{local_name(root.tag)}>, "
            "not RSS, Atom or a WordPress export"
        )
    for signature, kind in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise ImportProblem(
                f"{name}: this is {kind}, not text; save the statement as plain text or markdown"
            )
    if looks_like_html(data):
        raise ImportProblem(
            f"{name}: this is an HTML page; save the statement as text, markdown or a feed"
        )
    return parse_text(data, name=name, default_author=default_author)


def parse_path(path: Path, *, default_author: str | None = None) -> list[StatementData]:
    """Read a file and import it with parse_bytes; problems name the file."""
    try:
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise ImportProblem(f"{path.name}: cannot read the file ({reason})") from None
    return parse_bytes(data, name=path.name, default_author=default_author)
