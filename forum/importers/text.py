"""Plain-text and markdown statement files: the first non-empty line is the title."""

from __future__ import annotations

import re

from forum.importers.base import ImportProblem, StatementData, limit_problem
from forum.importers.cleanup import (
    clean_title,
    collapse_whitespace,
    escape_markdown,
    is_setext_underline,
    mark_lost_links,
    normalise_text,
    repair_glued_paragraphs,
    split_paragraphs,
    strip_trailing_residue,
    take_caption,
)

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
_BOM = b"\xef\xbb\xbf"

# A byline paragraph right under the title: "By Jane Doe", "Author: rs21 Steering Group".
_BYLINE = re.compile(r"(?P<label>written\s+by|by|authors?:)\s+(?P<name>.+)", re.IGNORECASE)
_JOINERS = {"and", "&", "of", "the", "de", "der", "van", "von", "da", "la", "le"}
MAX_BYLINE_CHARS = 100


def decode_text(data: bytes, *, name: str) -> str:
    """Decode UTF-8 (dropping a BOM), saying exactly where a bad byte sits if it is not UTF-8."""
    offset = len(_BOM) if data.startswith(_BOM) else 0
    try:
        return data[offset:].decode("utf-8")
    except UnicodeDecodeError as error:
        bad = data[offset + error.start]
        raise ImportProblem(
            f"{name}: not valid UTF-8 text (byte 0x{bad:02x} at byte offset "
            f"{offset + error.start}); save the file as UTF-8 and import it again"
        ) from None


def _byline(paragraph: str, *, markdown: bool) -> str | None:
    """The author named by a one-line byline paragraph, or None if it is not a byline."""
    candidate = paragraph.strip().strip("*_").strip() if markdown else paragraph.strip()
    if "\n" in candidate or len(candidate) > MAX_BYLINE_CHARS:
        return None
    match = _BYLINE.fullmatch(candidate)
    if match is None:
        return None
    author = collapse_whitespace(match.group("name")).rstrip(".")
    if any(char in author for char in "!?;:"):
        return None
    if not match.group("label").endswith(":"):
        # "By ..." also opens ordinary sentences ("By the time we arrived"), so every word of
        # the name must look like part of a name: capitalised, containing a digit, or a joiner.
        for word in author.replace(",", " ").split():
            if not (word[0].isupper() or any(c.isdigit() for c in word) or word in _JOINERS):
                return None
    return author or None


def drop_repeated_leads(paragraphs: list[str]) -> list[str]:
    """Drop a paragraph that only repeats the opening words of the one before it: WordPress
    themes print a post's lead as a standfirst, and scrapes keep the leftover repeat (once a
    glued paragraph is split off, all that remains of it is that truncated echo)."""
    kept: list[str] = []
    for paragraph in paragraphs:
        words = paragraph.split()
        if kept and len(words) >= 6 and kept[-1].split()[: len(words)] == words:
            continue
        kept.append(paragraph)
    return kept


def parse_text(data: bytes, *, name: str, default_author: str | None = None) -> list[StatementData]:
    """Import one statement from a UTF-8 text or markdown file.

    Plain text is escaped so it renders literally; a markdown file (by its name) is kept as
    markdown. Scraped-page glitches are repaired in both, glued paragraphs only in plain text.
    """
    markdown = name.lower().endswith(MARKDOWN_SUFFIXES)
    text = normalise_text(decode_text(data, name=name))
    if not text.strip():
        raise ImportProblem(f"{name}: the file is empty")

    lines = text.split("\n")
    first = next(index for index, line in enumerate(lines) if line.strip())
    title = clean_title(lines[first])
    rest = lines[first + 1 :]
    if rest and is_setext_underline(rest[0]):
        rest = rest[1:]
    if not title:
        raise ImportProblem(f"{name}: the first line is a heading mark with no title text")

    paragraphs = split_paragraphs("\n".join(strip_trailing_residue(rest)))
    paragraphs, caption = take_caption(paragraphs)

    author = default_author
    if paragraphs:
        byline = _byline(paragraphs[0], markdown=markdown)
        if byline:
            author = byline
            paragraphs = paragraphs[1:]

    if not markdown:
        repaired: list[str] = []
        for paragraph in paragraphs:
            repaired.extend(repair_glued_paragraphs(paragraph))
        paragraphs = [
            mark_lost_links(escape_markdown(paragraph))
            for paragraph in drop_repeated_leads(repaired)
        ]

    body = "\n\n".join(paragraphs)
    problem = limit_problem(title, body)
    if problem == "no content":
        raise ImportProblem(f"{name}: there is a title but no text below it")
    if problem and problem.startswith("the title"):
        raise ImportProblem(f"{name}: {problem} (the first non-empty line is used as the title)")
    if problem:
        raise ImportProblem(f"{name}: {problem}")
    return [
        StatementData(
            title=title,
            body=body,
            author=author,
            source_url=None,
            published_at=None,
            external_id=None,
            caption=caption,
        )
    ]
