"""Post rendering: markdown to sanitised HTML, @mention extraction and word-level diffs.

Rendering is two layers on purpose: markdown-it runs with raw HTML off, and its output still
goes through an nh3 allow-list, so a renderer bug cannot become an XSS hole.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

__all__ = [
    "HANDLE_RE",
    "RENDERER_VERSION",
    "RenderedPost",
    "diff_html",
    "extract_mentions",
    "render_markdown",
    "render_post",
]

# Stored rendered HTML records this; bump it whenever the same source would render differently
# so stale copies can be re-rendered.
RENDERER_VERSION: int = 1

# Handle syntax; use with fullmatch(). Spelled [A-Za-z] rather than re.IGNORECASE because
# IGNORECASE also lets U+212A (Kelvin sign) and U+017F (long s) match [a-z]. Handles compare
# case-insensitively: callers lowercase them.
HANDLE_RE: re.Pattern[str] = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{1,31}")

# A name right after "@", not followed by another name character (a 40-char run is not a
# mention of its first 32 characters). Names are handles (up to 32 characters) or groups: a
# caucus's slug (up to 67) or "facilitators" (see forum.policy.follows). A name that is
# neither renders as the plain text it was.
_MENTION_BODY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{1,79}(?![A-Za-z0-9_-])")
# Characters that, directly before "@", mean it is part of an email, URL or path.
_MENTION_BLOCKED_BEFORE = frozenset("_-.+/@:=&?#%~\\")

# Post headings sit under the page's h1 (thread title) and h2 (post structure), so "# x" in a
# post becomes h3, "## x" h4, "### x" h5, and anything deeper h6.
_HEADING_SHIFT = 2
_ALIGNMENTS = frozenset({"left", "center", "right"})
_LANGUAGE_CLASS_RE = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")


def _mention_rule(state: StateInline, silent: bool) -> bool:
    """Inline rule: "@handle" becomes a `mention` token (code spans never reach inline rules)."""
    pos = state.pos
    src = state.src
    # Inside a link label a mention link would nest <a> in <a>.
    if src[pos] != "@" or state.linkLevel > 0:
        return False
    if pos > 0:
        before = src[pos - 1]
        if before.isalnum() or before in _MENTION_BLOCKED_BEFORE:
            return False
    match = _MENTION_BODY_RE.match(src, pos + 1, state.posMax)
    if match is None:
        return False
    end = match.end()
    if end < state.posMax:
        after = src[end]
        # "@bob@host" is a fediverse address, "@bob.example" a domain, "@bobé" a longer word.
        if after == "@" or after.isalnum():
            return False
        if after == "." and end + 1 < state.posMax and src[end + 1].isalnum():
            return False
    if not silent:
        token = state.push("mention", "", 0)
        token.markup = "@"
        token.content = match.group()
        token.meta = {"handle": match.group().lower()}
    state.pos = end
    return True


def _plain_text(tokens: Sequence[Token]) -> str:
    """Text of an image label; unlike renderInlineAsText this keeps mentions."""
    parts: list[str] = []
    for token in tokens:
        if token.type in ("text", "text_special", "code_inline"):
            parts.append(token.content)
        elif token.type == "mention":
            parts.append("@" + token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.children:
            parts.append(_plain_text(token.children))
    return "".join(parts)


def _image_to_link(image: Token, inside_link: bool) -> list[Token]:
    # Images are never embedded: loading them would leak readers' IPs to third-party hosts.
    # They become a link to the image, or just their text when already inside a link.
    src = image.attrGet("src")
    label = _plain_text(image.children or []) or (str(src) if src else "")
    if inside_link or not src:
        return [Token("text", "", 0, level=image.level, content=label)]
    attrs: dict[str, str | int | float] = {"href": src}
    title = image.attrGet("title")
    if title:
        attrs["title"] = title
    link_open = Token("link_open", "a", 1, level=image.level, attrs=attrs, markup="image")
    text = Token("text", "", 0, level=image.level + 1, content=label)
    link_close = Token("link_close", "a", -1, level=image.level, markup="image")
    return [link_open, text, link_close]


def _post_process(state: StateCore) -> None:
    """Core rule: shift headings, turn images into links, table alignment as `align`."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            level = min(int(token.tag[1]) + _HEADING_SHIFT, 6)
            token.tag = f"h{level}"
        elif token.type in ("th_open", "td_open"):
            # markdown-it emits style="text-align:x"; a style attribute would need
            # 'unsafe-inline' in a CSP, while align= is plain markup nh3 can check by value.
            style = token.attrGet("style")
            if style is not None:
                token.attrs.pop("style")
                alignment = str(style).removeprefix("text-align:")
                if alignment in _ALIGNMENTS:
                    token.attrSet("align", alignment)
        elif token.type == "inline" and token.children:
            if not any(child.type == "image" for child in token.children):
                continue
            children: list[Token] = []
            link_depth = 0
            for child in token.children:
                if child.type == "link_open":
                    link_depth += 1
                elif child.type == "link_close":
                    link_depth -= 1
                if child.type == "image":
                    children.extend(_image_to_link(child, link_depth > 0))
                else:
                    children.append(child)
            token.children = children


def _render_mention(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    handle = token.meta["handle"]
    typed = escapeHtml("@" + token.content)
    if handle in env.get("mentionable", ()):
        return f'<a href="/m/{handle}" class="mention">{typed}</a>'
    group = env.get("groups", {}).get(handle)
    if group is not None:
        return f'<a href="{escapeHtml(group)}" class="mention">{typed}</a>'
    return typed


# RFC 3986: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), as markdown-it-py spells it.
_SCHEME_RE = re.compile(r"(?:^|[^a-z0-9.+-])([a-z][a-z0-9.+-]*)$", re.IGNORECASE)
# linkify-it only links the schemes it knows ("http", "https", "ftp", "mailto"): a run of scheme
# characters longer than this before "://" can never become a link.
_SCHEME_TAIL = 32


def _linkify_rule(state: StateInline, silent: bool) -> bool:
    """markdown-it-py's inline linkify rule, with two faults fixed and the same output.

    Upstream searches the whole pending text for the scheme before every "://": a post of
    "<http:// " * 6000 then costs 6,000 searches of up to 50,000 characters (about 10 s of one
    core). Only the last few characters can hold a scheme linkify-it knows, so only those are
    searched. Upstream also accepts a match no longer than its scheme, which leaves `pos` where
    it was and raises "inline rule didn't increment state.pos" (a 500, for "a.com[//x.y://");
    markdown-it (JS) refuses such a match, and so does this rule.
    """
    if state.linkLevel > 0:
        return False
    pos = state.pos
    src = state.src
    if pos + 3 > state.posMax or src[pos] != ":" or src[pos + 1] != "/" or src[pos + 2] != "/":
        return False
    pending = state.pending
    tail = pending[-(_SCHEME_TAIL + 1) :]
    match = _SCHEME_RE.search(tail)
    # A match from the tail's first character may continue further left: too long a scheme.
    if match is None or (match.start(1) == 0 and len(tail) < len(pending)):
        return False
    proto = match.group(1)
    linkify = state.md.linkify
    assert linkify is not None
    link = linkify.match_at_start(src[pos - len(proto) :])
    if not link:
        return False
    # disallow '*' at the end of the link (conflicts with emphasis)
    url: str = link.url.rstrip("*")
    if len(url) <= len(proto):
        return False
    full_url = state.md.normalizeLink(url)
    if not state.md.validateLink(full_url):
        return False
    if not silent:
        state.pending = pending[: -len(proto)]
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": full_url}
        token.markup = "linkify"
        token.info = "auto"
        token = state.push("text", "", 0)
        token.content = state.md.normalizeLinkText(url)
        token = state.push("link_close", "a", -1)
        token.markup = "linkify"
        token.info = "auto"
    state.pos += len(url) - len(proto)
    return True


_md = MarkdownIt("commonmark", {"html": False, "linkify": True, "typographer": False}).enable(
    ["linkify", "table", "strikethrough"]
)
_md.inline.ruler.at("linkify", _linkify_rule)
_md.inline.ruler.push("mention", _mention_rule)
_md.core.ruler.push("forum_post_process", _post_process)
_md.add_render_rule("mention", _render_mention)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # The fence renderer puts the info string's first word in the class; keep only sane ones.
    if tag == "code" and attribute == "class":
        return value if _LANGUAGE_CLASS_RE.fullmatch(value) else None
    return value


def _filter_relative_url(url: str) -> str | None:
    # Keep site-rooted links (mentions, links to other threads). "//host" and "/\host" are
    # external links in disguise that skipped the scheme check; path-relative links resolve
    # differently on every page (thread, feed, notification email), so they are dropped too.
    if url.startswith("/") and not url.startswith(("//", "/\\")):
        return url
    return None


# Headings start at h3 because of the shift above.
_ALLOWED_TAGS = frozenset(
    {"p", "br", "hr", "blockquote", "pre", "ul", "ol", "li", "h3", "h4", "h5", "h6"}
    | {"a", "em", "strong", "del", "s", "code"}
    | {"table", "thead", "tbody", "tr", "th", "td"}
)
_cleaner = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    attributes={"a": {"href", "title"}, "code": {"class"}, "ol": {"start"}},
    tag_attribute_values={
        "a": {"class": {"mention"}},
        "th": {"align": set(_ALIGNMENTS)},
        "td": {"align": set(_ALIGNMENTS)},
    },
    attribute_filter=_filter_attribute,
    # nh3 sets rel itself; allowing "rel" as an attribute too would make it raise.
    link_rel="nofollow ugc noopener noreferrer",
    url_schemes={"http", "https", "mailto"},
    url_relative=_filter_relative_url,
)


def _mentions_in(tokens: Sequence[Token]) -> list[str]:
    """The handles mentioned (names that can be a handle), unique, in order."""
    return [name for name in _names_in(tokens) if HANDLE_RE.fullmatch(name)]


def _names_in(tokens: Sequence[Token]) -> list[str]:
    """Every @name (handles and group names), lowercased, unique, in order."""
    seen: dict[str, None] = {}
    for block in tokens:
        if block.type != "inline" or not block.children:
            continue
        for token in block.children:
            if token.type == "mention":
                seen.setdefault(token.meta["handle"], None)
    return list(seen)


def extract_mentions(source: str) -> list[str]:
    """Lowercased handles mentioned as @handle, unique, in order of first appearance.

    Mentions inside code, link text, image text, emails and URLs do not count.
    """
    return _mentions_in(_md.parse(source))


def render_markdown(source: str, *, mentionable: Collection[str] = ()) -> str:
    """Render a post's markdown to sanitised HTML.

    @handle links to /m/{handle} only when the handle (case-insensitive) is in `mentionable`.
    """
    if not source.strip():
        return ""
    env: EnvType = {"mentionable": frozenset(handle.lower() for handle in mentionable)}
    return _cleaner.clean(_md.render(source, env))


@dataclass(frozen=True)
class RenderedPost:
    """A post's HTML and the handles it mentions (`previous_mentions`: those of the text it
    replaces, for an edit)."""

    html: str
    mentions: list[str]
    previous_mentions: list[str]
    # Every @name, handles or not (group mentions are looked up among these), and those of
    # the text it replaces.
    names: list[str] = field(default_factory=list)
    previous_names: list[str] = field(default_factory=list)


def render_post(
    source: str,
    mentionable: Collection[str] | None = None,
    previous: str | None = None,
    groups: Mapping[str, str] | None = None,
) -> RenderedPost:
    """render_markdown and extract_mentions in one parse; what the worker processes run.

    With `mentionable` None every mentioned handle is linked, which is the right HTML whenever
    each of them turns out to be a member (the caller checks, and renders again if not).
    `groups` maps group names the author may address here to the page they link to.
    """
    previous_names = _names_in(_md.parse(previous)) if previous is not None else []
    previous_mentions = [name for name in previous_names if HANDLE_RE.fullmatch(name)]
    env: EnvType = {}
    tokens = _md.parse(source, env)
    names = _names_in(tokens)
    mentions = [name for name in names if HANDLE_RE.fullmatch(name)]
    if not source.strip():
        return RenderedPost("", mentions, previous_mentions, names, previous_names)
    linked = mentions if mentionable is None else mentionable
    # The mention renderer reads only these keys; parsing left link references in env too.
    env["mentionable"] = frozenset(handle.lower() for handle in linked)
    env["groups"] = dict(groups or {})
    html = _cleaner.clean(_md.renderer.render(tokens, _md.options, env))
    return RenderedPost(html, mentions, previous_mentions, names, previous_names)


_WORD_RE = re.compile(r"(\s*)(\S+)")
# Below this word-level similarity a changed paragraph is shown as removed + added instead.
_MIN_PARAGRAPH_SIMILARITY = 0.4


def _words(paragraph: str) -> tuple[list[str], list[str]]:
    """Split into words and the whitespace before each; only the words are compared."""
    pairs = _WORD_RE.findall(paragraph)
    return [space for space, _ in pairs], [word for _, word in pairs]


def _escape_run(spaces: list[str], words: list[str], first: bool) -> str:
    out: list[str] = []
    for index, (space, word) in enumerate(zip(spaces, words, strict=True)):
        if not (first and index == 0):
            # Keep the source's line breaks visible; other whitespace collapses to one space.
            out.append("<br>\n" if "\n" in space else " ")
        out.append(html.escape(word))
    return "".join(out)


def _whole_paragraph(paragraph: str, mark: str) -> str:
    spaces, words = _words(paragraph)
    return f"<p><{mark}>{_escape_run(spaces, words, first=True)}</{mark}></p>"


def _diff_paragraph(old: str, new: str) -> str:
    old_spaces, old_words = _words(old)
    new_spaces, new_words = _words(new)
    matcher = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
    if matcher.ratio() < _MIN_PARAGRAPH_SIMILARITY:
        # Interleaving the words of two unrelated paragraphs is unreadable; show a swap.
        return _whole_paragraph(old, "del") + "\n" + _whole_paragraph(new, "ins")
    out: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.append(_escape_run(new_spaces[j1:j2], new_words[j1:j2], first=not out))
            continue
        if tag in ("delete", "replace"):
            if out:
                out.append(" ")
            removed = _escape_run(old_spaces[i1:i2], old_words[i1:i2], first=True)
            out.append(f"<del>{removed}</del>")
        if tag in ("insert", "replace"):
            if out:
                out.append(" ")
            added = _escape_run(new_spaces[j1:j2], new_words[j1:j2], first=True)
            out.append(f"<ins>{added}</ins>")
    return "<p>" + "".join(out) + "</p>"


def _paragraphs(source: str) -> list[str]:
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    return [part.strip() for part in re.split(r"\n[ \t]*\n", text) if part.strip()]


def diff_html(old: str, new: str) -> str:
    """HTML fragment showing the word-level changes from `old` to `new` markdown source.

    Paragraphs (blank-line separated) are matched first, then words within changed ones.
    Returns "" when the word sequences are identical (whitespace-only edits included).
    """
    old_paragraphs = _paragraphs(old)
    new_paragraphs = _paragraphs(new)
    if [p.split() for p in old_paragraphs] == [p.split() for p in new_paragraphs]:
        return ""
    # Compare whitespace-normalised paragraphs so a reflowed paragraph still counts as equal.
    matcher = difflib.SequenceMatcher(
        None,
        [" ".join(p.split()) for p in old_paragraphs],
        [" ".join(p.split()) for p in new_paragraphs],
        autojunk=False,
    )
    out: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for paragraph in new_paragraphs[j1:j2]:
                spaces, words = _words(paragraph)
                out.append(f"<p>{_escape_run(spaces, words, first=True)}</p>")
            continue
        olds = old_paragraphs[i1:i2]
        news = new_paragraphs[j1:j2]
        # Pair changed paragraphs in order; leftovers were wholly removed or added.
        for old_paragraph, new_paragraph in zip(olds, news, strict=False):
            out.append(_diff_paragraph(old_paragraph, new_paragraph))
        out.extend(_whole_paragraph(paragraph, "del") for paragraph in olds[len(news) :])
        out.extend(_whole_paragraph(paragraph, "ins") for paragraph in news[len(olds) :])
    return "\n".join(out)
