"""The new text of an emailed reply: its plain-text part (or its HTML part made text), without
the quoted message it answers or the sender's signature.

Quoted text and signatures are found by mail-parser-reply, which knows the headers that Gmail,
Outlook, Apple Mail and others write above a quote ("On ... wrote:", "From: ... Sent: ...") in
several languages. That library trims every line; the lines it keeps are taken again from the
original so that markdown's indentation (code, nested lists) survives.
"""

from __future__ import annotations

import re
from email.message import EmailMessage, Message, MIMEPart

from bs4 import BeautifulSoup
from mailparser_reply import EmailMessage as ParsedReply
from mailparser_reply.constants import MAIL_LANGUAGES
from markdownify import markdownify

__all__ = ["Unreadable", "new_text", "text_of_message"]

# Every language the parser knows: a member's mail client writes its quote header in the
# member's language, whatever the forum's.
_LANGUAGES = sorted(MAIL_LANGUAGES)
# A quote left at the end once the parser has cut (a header it did not know): "> ..." lines.
_QUOTED_LINE = re.compile(r"^\s*>")
# A horizontal rule (an HTML reply's <hr> above its quote) or an attribution line that names an
# address or a year and ends with a colon.
_RULE = re.compile(r"^\s*(?:[-_*]\s*){3,}$")
_ATTRIBUTION = re.compile(r"@|\b(?:19|20)\d\d\b")
# What mail clients put around the quoted message in HTML: Gmail's and Thunderbird's quote and
# signature blocks, Apple Mail's cited blockquote, Outlook's reply header and what follows it.
_HTML_QUOTES = (
    ".gmail_quote",
    ".gmail_signature",
    ".moz-cite-prefix",
    ".moz-signature",
    "blockquote[type=cite]",
    "#appendonsend",
)
_OUTLOOK_HEADER = "#divRplyFwdMsg"


# Only this much of a text part is read: a reply is at most 50,000 characters and comes first,
# and the quote-finding expressions take time in proportion to what they are given.
MAX_TEXT = 120_000
MAX_HTML = 200_000


class Unreadable(Exception):
    """The message has no text part that could be decoded."""


def text_of_message(message: Message) -> str:
    """The message's text: its text/plain part, else its text/html part made markdown."""
    if not isinstance(message, EmailMessage):
        raise Unreadable("not a parsed email message")
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        raise Unreadable("no text part")
    content = _decoded(body)
    if body.get_content_subtype() == "html":
        return html_to_text(content[:MAX_HTML])[:MAX_TEXT]
    return content[:MAX_TEXT]


def _decoded(part: MIMEPart) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError, KeyError):
        # An unknown charset or a broken transfer encoding: read what can be read.
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            raise Unreadable("undecodable text part") from None
        content = payload.decode("utf-8", errors="replace")
    if not isinstance(content, str):
        raise Unreadable("the text part is not text")
    return content


def html_to_text(html: str) -> str:
    """An HTML reply as markdown, without the quoted message and signature blocks."""
    soup = BeautifulSoup(html, "html.parser")
    outlook = soup.select_one(_OUTLOOK_HEADER)
    if outlook is not None:
        # Outlook writes the quoted message after its header, as siblings: cut from there on.
        for later in list(outlook.find_all_next()):
            later.decompose()
        outlook.decompose()
    for selector in _HTML_QUOTES:
        for element in soup.select(selector):
            element.decompose()
    for element in soup(["script", "style", "head", "title"]):
        element.decompose()
    return markdownify(str(soup), heading_style="ATX", bullets="-", strip=["img"])


def new_text(text: str) -> str:
    """What the member wrote above (or instead of) the quoted message, without a signature."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parsed = ParsedReply(text=text, languages=list(_LANGUAGES), keep_hyphen_lists=True).read()
    if not parsed.replies:
        return ""
    kept = parsed.replies[0].body
    return _trim_quote_tail(_with_indentation(text, kept))


def _with_indentation(original: str, kept: str) -> str:
    """`kept` (lines trimmed by the parser) with each line's indentation from `original`."""
    if not kept:
        return ""
    lines = original.split("\n")
    stripped = [line.strip() for line in lines]
    wanted = [line.strip() for line in kept.split("\n")]
    for start in range(len(stripped) - len(wanted) + 1):
        if stripped[start : start + len(wanted)] == wanted:
            return "\n".join(line.rstrip() for line in lines[start : start + len(wanted)])
    return kept  # the parser changed more than spacing: keep its text


def _trim_quote_tail(text: str) -> str:
    """Drop what is left of the quoted message around the new text: "> " lines at the start
    (bottom-posting) and at the end, with a rule or an attribution line ("..., someone
    <a@b.org> wrote:") just above, in a language the parser did not know. A quote that the
    member answers in between stays, as a markdown quote."""
    lines = text.strip("\n").split("\n")
    while lines and (not lines[0].strip() or _QUOTED_LINE.match(lines[0])):
        lines.pop(0)
    while lines and (
        not lines[-1].strip() or _QUOTED_LINE.match(lines[-1]) or _is_rule_or_attribution(lines[-1])
    ):
        lines.pop()
    return "\n".join(lines)


def _is_rule_or_attribution(line: str) -> bool:
    line = line.strip()
    if len(line) > 300:  # neither is long; and the expressions need not look at what is
        return False
    if _RULE.match(line):
        return True
    return line.endswith(":") and _ATTRIBUTION.search(line) is not None
