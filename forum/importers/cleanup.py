"""Cleanup shared by the importers: scraped-text repair, markdown escaping, HTML to markdown."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag
from markdownify import MarkdownConverter

# --- plain text normalisation ---------------------------------------------------------------

# C0 and C1 controls and DEL, except tab and newline, which carry layout.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WHITESPACE_RUN = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Unify line endings and drop control characters; every other character is kept as is."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Unicode line/paragraph separators are line breaks in disguise (common in pasted text).
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    return _CONTROL_CHARS.sub("", text)


def collapse_whitespace(text: str) -> str:
    return _WHITESPACE_RUN.sub(" ", text).strip()


_ATX_OPEN = re.compile(r"^\s{0,3}#{1,6}(?:\s+|$)")
_ATX_CLOSE = re.compile(r"\s+#+\s*$")


def clean_title(line: str) -> str:
    """Turn a title line into plain text, dropping markdown heading marks ("# Title #")."""
    if _ATX_OPEN.match(line):
        line = _ATX_OPEN.sub("", line, count=1)
        line = _ATX_CLOSE.sub("", line)
        if set(line.strip()) == {"#"}:
            line = ""
    return collapse_whitespace(line)


def is_setext_underline(line: str) -> bool:
    """True for a "=====" or "-----" line, which underlines the line above it as a heading."""
    return bool(re.fullmatch(r"\s{0,3}(?:=+|-{2,})\s*", line))


def split_paragraphs(text: str) -> list[str]:
    """Split on blank lines; paragraphs keep inner line breaks and their first indent.

    The indent matters for markdown sources (indented code, list continuations).
    """
    blocks = re.split(r"\n(?:[ \t\u00a0]*\n)+", text)
    return [block.strip("\n").rstrip() for block in blocks if block.strip()]


# --- scraped WordPress residue ----------------------------------------------------------------

# Lines a WordPress comment form or sharing widget leaves at the end of a scraped page. "Strong"
# ones cannot be mistaken for prose; "weak" ones (a bare "Name") only go when a strong one is in
# the same trailing block, so a statement that happens to end on "Website" keeps it.
_STRONG_RESIDUE = re.compile(
    r"""(?x)
    please\ enter\ your\ (?:comment|name|name\ here|email|email\ address|email\ address\ here)[!.]?
    | you\ have\ entered\ an\ incorrect\ email\ address[!.]?
    | leave\ a\ (?:reply|comment)(?:\ (?:to\ .{1,80}|cancel\ reply))?
    | cancel\ reply
    | save\ my\ name,\ email,\ and\ website\ in\ this\ browser\b.*
    | your\ email\ address\ will\ not\ be\ published\.?(?:\ required\ fields\ are\ marked\ \*)?
    | required\ fields\ are\ marked\ \*
    | notify\ me\ of\ (?:follow-up\ comments|new\ posts)\ (?:by|via)\ e-?mail\.?
    | this\ site\ uses\ akismet\ to\ reduce\ spam\..*
    | (?:post|submit)\ comment
    | you\ must\ be\ logged\ in\ to\ post\ a\ comment\.?
    | logged\ in\ as\ .{1,80}\.\ log\ out\??
    | (?:share|like)\ this:
    | like\ loading\.\.\.
    | click\ to\ (?:share|email|print)\b.{0,80}\(opens\ in\ new\ window\)
    """
)
_WEAK_RESIDUE = re.compile(
    r"(?:name|e-?mail|website|url|comment|reply|like|loading\.\.\.|\u03b4)\s*\*?\s*:?"
)


def _residue_key(line: str) -> str:
    return collapse_whitespace(line).casefold()


def strip_trailing_residue(lines: list[str]) -> list[str]:
    """Drop the trailing block of whole WordPress residue lines (and blank lines between them)."""
    cut = len(lines)
    saw_strong = False
    for index in range(len(lines) - 1, -1, -1):
        key = _residue_key(lines[index])
        if not key:
            continue
        if _STRONG_RESIDUE.fullmatch(key):
            saw_strong = True
        elif not _WEAK_RESIDUE.fullmatch(key):
            break
        cut = index
    if not saw_strong:
        return lines
    kept = lines[:cut]
    while kept and not kept[-1].strip():
        kept.pop()
    return kept


# --- photo captions ---------------------------------------------------------------------------

# "Photo via the ISO", "Image: Jane Doe", "Picture credit Reuters", "(Photo by X)". Only a short,
# standalone paragraph counts, so a sentence that merely starts with "Image by image..." inside
# a longer paragraph is left alone.
_CAPTION = re.compile(
    r"""(?ix)
    [(\[*_]*\s*
    (?:(?:featured|header|cover|top)\s+)?
    (?:photo(?:graph)?s?|images?|pictures?|pics?|illustration)
    (?:\s+(?:via|by|credits?|courtesy|from|source)\b|\s*[:©]|\s+[-\u2013\u2014]\s)
    .*
    """
)
MAX_CAPTION_CHARS = 200


def is_caption(paragraph: str) -> bool:
    return (
        "\n" not in paragraph
        and len(paragraph) <= MAX_CAPTION_CHARS
        and _CAPTION.fullmatch(paragraph.strip()) is not None
    )


def take_caption(paragraphs: list[str]) -> tuple[list[str], str | None]:
    """Move the first standalone caption paragraph out of the body."""
    for index, paragraph in enumerate(paragraphs):
        if is_caption(paragraph):
            caption = collapse_whitespace(paragraph.strip("*_ "))
            return paragraphs[:index] + paragraphs[index + 1 :], caption
    return paragraphs, None


# --- glued paragraphs -------------------------------------------------------------------------

# Scrapers that read textContent join "<p>...dissolve</p><p>The organisation" into
# "dissolveThe organisation". Only words that commonly open a sentence are trusted as the start
# of the second paragraph, and the word before must be all lowercase (three letters or more), so
# "iPhone", "McDonald" or "eBay" never split.
_SENTENCE_STARTERS = (
    "A|After|Although|An|And|As|At|Because|Before|Both|But|By|During|Each|Every|For|From|He|"
    "Her|His|However|If|In|It|Its|Many|Most|No|Not|Now|On|One|Our|She|Since|So|Some|That|The|"
    "Their|There|These|They|This|Those|Though|To|Today|Under|We|What|When|While|With|Yet"
)
_GLUED = re.compile(rf"\b([^\W\d_]{{3,}})({_SENTENCE_STARTERS}) (?=\S)")


def repair_glued_paragraphs(paragraph: str) -> list[str]:
    """Split a paragraph where a scrape glued two together; return the pieces in order."""

    def split(match: re.Match[str]) -> str:
        word, starter = match.group(1), match.group(2)
        if not word.islower():
            return match.group(0)
        return f"{word}\n\n{starter} "

    return split_paragraphs(_GLUED.sub(split, paragraph))


# --- links lost in a scrape -------------------------------------------------------------------

# "Our guidelines can be found here." in a page's text once sat on a link; plain text keeps the
# words and loses the address. Such a sentence is marked, so a reader knows a link was there
# rather than hunting for one (the statement's "original" link leads to it).
_LOST_LINK = re.compile(
    r"\b(?:(?:can|may|could)\s+be\s+(?:found|read|seen|downloaded|accessed)|"
    r"(?:is|are)\s+(?:available|published)|click|read\s+(?:it|more|them)|see\s+(?:it|them))"
    r"\s+here(?=[.,;:!?)]|$)",
    re.IGNORECASE,
)
LOST_LINK_NOTE = " *(the link was not kept in this copy)*"


def mark_lost_links(escaped_paragraph: str) -> str:
    """Mark, in an escaped plain-text paragraph, each "found here" whose link was lost."""
    return _LOST_LINK.sub(lambda m: m.group(0) + LOST_LINK_NOTE, escaped_paragraph)


# --- markdown escaping of plain text ----------------------------------------------------------

# Bare URLs become autolinks (<https://...>): their content is never read as markdown, and the
# renderer's linkify would otherwise see the backslashes we add to "_" or "~" inside them.
_URL = re.compile(r"\bhttps?://[^\s<>\"]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?'\"\u2019\u201d"
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])|&(?=#?[A-Za-z0-9]+;)")
_BLOCK_START = re.compile(
    r"""(?x)
    ^(?:
        (?P<mark>[#>+=\-])                # heading, quote, list, setext underline, rule
      | (?P<num>\d{1,9})(?P<delim>[.)])   # ordered list
    )
    """
)


def _split_url(candidate: str) -> tuple[str, str]:
    """Separate trailing sentence punctuation from a URL, keeping balanced closing brackets."""
    url = candidate
    while url:
        last = url[-1]
        unbalanced = last == ")" and url.count("(") < url.count(")")
        if last in _URL_TRAILING or unbalanced:
            url = url[:-1]
        else:
            break
    return url, candidate[len(url) :]


# Where the forum's renderer would read "@name" as a mention of a local member (see
# forum/rendering.py). Imported text must not ping members who happen to share a handle with
# someone the source quoted, so such "@"s are escaped; emails and URLs never match.
_MENTION_AT = re.compile(r"(?<![\w\-.+/@:=&?#%~\\])@(?=[A-Za-z0-9])")


def _escape_inline(text: str) -> str:
    text = _INLINE_SPECIAL.sub(lambda m: "\\" + (m.group(1) or "&"), text)
    return _MENTION_AT.sub(r"\\@", text)


def escape_markdown_line(line: str) -> str:
    """Escape one line of plain text so markdown renders it literally."""
    line = line.strip()
    pieces: list[str] = []
    position = 0
    for match in _URL.finditer(line):
        url, trailing = _split_url(match.group(0))
        pieces.append(_escape_inline(line[position : match.start()]))
        pieces.append(f"<{url}>" if url else "")
        pieces.append(_escape_inline(trailing))
        position = match.end()
    pieces.append(_escape_inline(line[position:]))
    escaped = "".join(pieces)
    # Block markers only matter at the start of a line; ">" is already escaped inline.
    block = _BLOCK_START.match(escaped)
    if block:
        if block.group("mark"):
            escaped = "\\" + escaped
        else:
            end = block.end("num")
            escaped = escaped[:end] + "\\" + escaped[end:]
    return escaped


def escape_markdown(paragraph: str) -> str:
    return "\n".join(escape_markdown_line(line) for line in paragraph.split("\n"))


# --- HTML ---------------------------------------------------------------------------------------

# Content that must not reach the body at all, text included.
_DROPPED_TAGS = [
    "script", "style", "noscript", "template", "iframe", "object", "embed", "form", "input",
    "button", "select", "textarea", "svg", "canvas", "head", "title", "meta", "link",
]  # fmt: skip
_SAFE_SCHEMES = {"http", "https", "mailto"}


def _parse_fragment(html: str) -> BeautifulSoup:
    # Wrapping in a div stops bs4 from mistaking a bare URL or "<?xml" prefix for a locator or
    # an XML document, which it reports as warnings (and our test suite turns warnings into errors).
    return BeautifulSoup(f"<div>{html}</div>", "html.parser")


def _safe_url(url: str, base_url: str | None) -> str | None:
    """Resolve a link against the item's own URL; refuse javascript: and similar schemes."""
    url = url.strip()
    if not url:
        return None
    if base_url:
        url = urljoin(base_url, url)
    # A link still relative here has nothing to resolve against; on the forum it would point
    # at the forum's own pages, so it goes (scheme-less "//host" links too).
    if urlsplit(url).scheme.lower() not in _SAFE_SCHEMES:
        return None
    # Spaces, brackets and angle brackets would end a markdown link destination early.
    for char, code in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(char, code)
    return url


# Stands in for an "@" to escape while markdownify runs, which would escape a backslash we added.
_AT_PLACEHOLDER = "\ue000"


def _mark_mentions(soup: BeautifulSoup) -> None:
    """Replace mention-like "@"s in prose text with a placeholder (see _MENTION_AT)."""
    for node in list(soup.find_all(string=re.compile("@"))):
        # Link text cannot hold a mention, and code is shown as typed.
        if type(node) is not NavigableString or node.find_parent(["a", "pre", "code"]):
            continue
        node.replace_with(_MENTION_AT.sub(_AT_PLACEHOLDER, str(node)))


def _link_bare_urls(soup: BeautifulSoup) -> None:
    """Turn URLs written as text into <a> tags, so they come out as markdown autolinks."""
    for node in list(soup.find_all(string=_URL)):
        # Comments, CDATA and the like are NavigableString subclasses: leave them alone.
        if type(node) is not NavigableString or node.find_parent(["a", "pre", "code"]):
            continue
        text = str(node)
        replacement: list[str | Tag] = []
        position = 0
        for match in _URL.finditer(text):
            url, trailing = _split_url(match.group(0))
            replacement.append(text[position : match.start()])
            if url:
                link = soup.new_tag("a", href=url)
                link.string = url
                replacement.append(link)
            replacement.append(trailing)
            position = match.end()
        replacement.append(text[position:])
        node.replace_with(*[piece for piece in replacement if piece != ""])


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment (titles), with entities decoded and whitespace collapsed."""
    return collapse_whitespace(_parse_fragment(html).get_text(" "))


_CONVERTER = MarkdownConverter(
    heading_style="ATX",
    bullets="-",
    escape_misc=True,
    # Backslash breaks survive the trailing-whitespace cleanup below; two-space breaks would not.
    newline_style="BACKSLASH",
)


def tidy_markdown(markdown: str) -> str:
    """Trim line ends and runs of blank lines (including &nbsp;-only ones) in converted output."""
    lines = [line.rstrip() for line in markdown.split("\n")]
    lines = ["" if not line.strip() else line for line in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def html_to_markdown(html: str, *, base_url: str | None = None) -> tuple[str, str | None]:
    """Convert an HTML fragment to markdown; return (markdown, first figure caption or None).

    The first <figcaption> becomes the caption and leaves the body, as for scraped text.
    """
    soup = _parse_fragment(html)
    for tag in soup.find_all(_DROPPED_TAGS):
        tag.decompose()
    # markdownify would print an "<?xml ...?>" left over from a paste as text.
    for node in list(soup.descendants):
        if isinstance(node, (ProcessingInstruction, Declaration, Doctype)):
            node.extract()
    caption = None
    figcaption = soup.find("figcaption")
    if isinstance(figcaption, Tag):
        text = collapse_whitespace(figcaption.get_text(" "))
        # An overlong "caption" is really prose: leave it in the body rather than lose it.
        if text and len(text) <= MAX_CAPTION_CHARS:
            caption = text
            figcaption.decompose()
    for tag in soup.find_all(["a", "img"]):
        attribute = "href" if tag.name == "a" else "src"
        value = tag.get(attribute)
        url = _safe_url(value, base_url) if isinstance(value, str) else None
        if url:
            tag[attribute] = url
        elif tag.name == "a":
            tag.unwrap()
        else:
            tag.decompose()
    _link_bare_urls(soup)
    # Private-use text of the source's own (vanishingly rare) would be turned into "@"s.
    escape_mentions = _AT_PLACEHOLDER not in html
    if escape_mentions:
        _mark_mentions(soup)
    markdown = _CONVERTER.convert_soup(soup)
    if escape_mentions:
        markdown = markdown.replace(_AT_PLACEHOLDER, "\\@")
    return tidy_markdown(markdown), caption
