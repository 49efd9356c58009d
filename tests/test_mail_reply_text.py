"""The new text of an emailed reply, as the common mail clients write them: the quote and the
signature go, the member's own words and their markdown stay."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from forum.mail.reply_text import Unreadable, html_to_text, new_text, text_of_message
from forum.services.mail_in import is_automatic, parse_message
from forum.settings import Settings, SettingsError

GMAIL = """\
Thanks, I agree with the second point.

On Wed, Dec 2, 2026 at 8:15 PM forum <forum@example.org> wrote:

> @amara replied to you in "Budget":
> We should spend less on printing.
"""
OUTLOOK = """\
I think we should wait.

Best regards,
Bo Smith
Secretary

________________________________
From: forum <forum@example.org>
Sent: Wednesday, December 2, 2026 8:15 PM
To: Bo <bo@example.org>
Subject: Re: Budget

We should spend less on printing.
"""
APPLE = """\
Count me in.

Sent from my iPhone

> On 2 Dec 2026, at 20:15, forum <forum@example.org> wrote:
>
> We should spend less on printing.
"""
GERMAN = """\
Einverstanden.

Am Mi., 2. Dez. 2026 um 20:15 Uhr schrieb forum <forum@example.org>:
> We should spend less on printing.
"""
BOTTOM_POSTED = """\
> On Wed, Dec 2, forum wrote:
> We should spend less on printing.

I disagree: printing is how we reach the estates.
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GMAIL, "Thanks, I agree with the second point."),
        (OUTLOOK, "I think we should wait."),
        (APPLE, "Count me in."),
        (GERMAN, "Einverstanden."),
        (BOTTOM_POSTED, "I disagree: printing is how we reach the estates."),
    ],
    ids=["gmail", "outlook", "apple-mail", "german", "bottom-posted"],
)
def test_quotes_and_signatures_are_stripped(text: str, expected: str) -> None:
    assert new_text(text) == expected


def test_markdown_indentation_lists_and_answered_quotes_survive() -> None:
    text = (
        "Two things:\n\n- rent\n  - arrears\n\n    code stays indented\n\n"
        "> the point I answer\n\nMy answer.\n\n-- \nBo\n"
    )
    assert new_text(text) == (
        "Two things:\n\n- rent\n  - arrears\n\n    code stays indented\n\n"
        "> the point I answer\n\nMy answer."
    )


def test_a_message_with_only_a_quote_is_empty() -> None:
    assert new_text("On Wed, Dec 2, 2026, forum wrote:\n> hello\n") == ""
    assert new_text("\n\n") == ""


def test_html_replies_lose_their_quote_blocks() -> None:
    gmail = (
        '<div dir="ltr">I <b>agree</b>.</div><div class="gmail_quote">On Wed, forum wrote:'
        "<blockquote>quoted</blockquote></div>"
    )
    assert new_text(html_to_text(gmail)) == "I **agree**."
    outlook = (
        "<div>Fine by me.</div><hr><div id='divRplyFwdMsg'><b>From:</b> forum<br>"
        "<b>Sent:</b> Wed</div><div>quoted text</div>"
    )
    assert new_text(html_to_text(outlook)) == "Fine by me."
    apple = "<div>Yes.</div><blockquote type='cite'>On 2 Dec, forum wrote: quoted</blockquote>"
    assert new_text(html_to_text(apple)) == "Yes."


def test_the_plain_part_is_preferred_and_html_is_used_alone() -> None:
    both = EmailMessage()
    both.set_content("plain words")
    both.add_alternative("<p>html words</p>", subtype="html")
    assert text_of_message(parse_message(both.as_bytes())).strip() == "plain words"
    html = EmailMessage()
    html.set_content("<p>only <i>html</i></p>", subtype="html")
    assert text_of_message(parse_message(html.as_bytes())).strip() == "only *html*"


def test_a_message_without_text_is_unreadable() -> None:
    image = EmailMessage()
    image.set_content(b"\x89PNG", maintype="image", subtype="png")
    with pytest.raises(Unreadable):
        text_of_message(parse_message(image.as_bytes()))
    unknown = b"Content-Type: text/plain; charset=x-nonsense\r\n\r\nstill words\r\n"
    assert "still words" in text_of_message(parse_message(unknown))


def test_machines_are_recognised() -> None:
    plain = parse_message(b"Subject: hi\r\n\r\nhello\r\n")
    assert not is_automatic(plain, "bo@example.org")
    assert is_automatic(plain, "")  # a bounce has an empty envelope sender
    for header in ("Auto-Submitted: auto-replied", "Precedence: bulk", "X-Autoreply: yes"):
        assert is_automatic(parse_message(f"{header}\r\n\r\nhello\r\n".encode()), "a@b.org")


def test_mail_in_settings() -> None:
    settings = Settings.from_env(
        {
            "FORUM_MAIL_IN": "127.0.0.1:2525",
            "FORUM_MAIL_IN_LMTP": "1",
            "FORUM_MAIL_IN_MAX_BYTES": "100000",
        }
    )
    assert (settings.mail_in, settings.mail_in_lmtp, settings.mail_in_max_bytes) == (
        "127.0.0.1:2525",
        True,
        100000,
    )
    assert Settings.from_env({}).mail_in == ""
    assert Settings.from_env({}).secret_key_generated
    for bad in ("2525", "localhost:", "host:port", "h:99999"):
        with pytest.raises(SettingsError, match="FORUM_MAIL_IN"):
            Settings.from_env({"FORUM_MAIL_IN": bad})
