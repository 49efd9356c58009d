"""Statement importers: scraped text, markdown, RSS/Atom and WordPress exports."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from starlette.applications import Starlette

from forum.importers import ImportProblem, StatementData, parse_bytes, parse_path
from forum.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures" / "importers"
SHARED_STATEMENTS = Path(__file__).parents[1].parent / "shared" / "statements"
ISO_STATEMENT = SHARED_STATEMENTS / "on-the-dissolution-of-the-iso.txt"

# The renderer the app is expected to use: CommonMark with bare links turned into links.
MARKDOWN = MarkdownIt("commonmark", {"linkify": True}).enable("linkify")


def paragraphs(statement: StatementData) -> list[str]:
    return statement.body.split("\n\n")


def rendered_text(markdown: str) -> str:
    """What a reader sees: the rendered HTML without tags."""
    return unescape(re.sub(r"<[^>]+>", "", MARKDOWN.render(markdown)))


def only(statements: list[StatementData]) -> StatementData:
    assert len(statements) == 1, [s.title for s in statements]
    return statements[0]


def wxr(*items: str) -> bytes:
    """A minimal WordPress export around the given <item> elements."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:wp="http://wordpress.org/export/1.2/">'
        "<channel><title>Site</title><wp:wxr_version>1.2</wp:wxr_version>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def wxr_item(post_id: int, *, title: str, content: str, status: str = "publish") -> str:
    return (
        f"<item><title>{title}</title><guid>https://site.example/?p={post_id}</guid>"
        f"<content:encoded><![CDATA[{content}]]></content:encoded>"
        f"<wp:post_id>{post_id}</wp:post_id><wp:status>{status}</wp:status>"
        "<wp:post_type>post</wp:post_type></item>"
    )


# --- the real scraped statement ---------------------------------------------------------------


@pytest.fixture
def iso_path() -> Path:
    if not SHARED_STATEMENTS.is_dir():
        pytest.skip(f"SHARED STATEMENTS MISSING: {SHARED_STATEMENTS} is not a directory")
    return ISO_STATEMENT


@pytest.fixture
def iso_statement(iso_path: Path) -> StatementData:
    return only(parse_path(iso_path))


def test_iso_statement_title_and_caption(iso_statement: StatementData) -> None:
    assert iso_statement.title == "On the dissolution of the ISO"
    assert iso_statement.caption == "Photo via the ISO"
    assert "Photo via the ISO" not in iso_statement.body
    assert iso_statement.author is None
    assert iso_statement.external_id is None


def test_iso_statement_keeps_its_paragraphs(iso_statement: StatementData) -> None:
    body = paragraphs(iso_statement)
    assert len(body) >= 6
    assert body[0].startswith("The US-based International Socialist Organization (ISO)")
    assert body[-1].endswith("socialism from below.")
    assert (
        "Before the dissolution of the ISO, Maryam A and Nikki W of the ISO Survivors\u2019 "
        "Caucus wrote:"
    ) in body
    # Curly quotes survive untouched.
    assert "\u2018the impact of decades of undemocratic practices" in iso_statement.body


def test_iso_statement_drops_comment_form_residue(iso_statement: StatementData) -> None:
    assert "Please enter" not in iso_statement.body
    assert not iso_statement.body.endswith("\n")


def test_iso_statement_glued_paragraphs_are_split(iso_statement: StatementData) -> None:
    body = paragraphs(iso_statement)
    assert "dissolveThe" not in iso_statement.body
    # The glued piece was a truncated echo of the standfirst: split off, then dropped.
    lead = "The US-based International Socialist Organization (ISO) has recently voted to dissolve"
    assert [p for p in body if p.startswith(lead)] == [body[0]]
    assert body[1].startswith("The organisation was active in the recent wave")


def test_default_author_is_used_when_the_text_names_none(iso_path: Path) -> None:
    statement = only(parse_path(iso_path, default_author="rs21 Steering Group"))
    assert statement.author == "rs21 Steering Group"


# --- text cleanup -----------------------------------------------------------------------------


def test_trailing_wordpress_residue_block_is_removed() -> None:
    text = (
        "Title\n\nWe will leave a reply to the council by Friday.\n\n"
        "Leave a Reply\nCancel reply\n\nPlease enter your comment!\n"
        "Please enter your name here\nYou have entered an incorrect email address!\n"
        "Please enter your email address here\n\n"
        "Save my name, email, and website in this browser for the next time I comment.\n"
    )
    statement = only(parse_bytes(text.encode(), name="s.txt"))
    assert statement.body == "We will leave a reply to the council by Friday."


def test_residue_words_inside_the_text_stay() -> None:
    text = "Title\n\nLeave a Reply\n\nThat was the slogan on the banner.\n\nWebsite\n"
    statement = only(parse_bytes(text.encode(), name="s.txt"))
    # Nothing strong at the end, so even the lone "Website" is kept.
    assert paragraphs(statement) == [
        "Leave a Reply",
        "That was the slogan on the banner.",
        "Website",
    ]


def test_glue_repair_leaves_brand_names_alone() -> None:
    text = (
        "Title\n\nShe bought an iPhoneThe shop was closed. "
        "We met at McDonaldThe next day. Our campaignWe are still going strong."
    )
    statement = only(parse_bytes(text.encode(), name="s.txt"))
    assert paragraphs(statement) == [
        "She bought an iPhoneThe shop was closed. We met at McDonaldThe next day. Our campaign",
        "We are still going strong.",
    ]


def test_plain_text_that_looks_like_markdown_renders_literally() -> None:
    lines = [
        "1. This is not a list",
        "# Not a heading",
        "* not a bullet",
        "> not a quote",
        "snake_case, *stars*, `ticks`, [brackets](x) and <b>tags</b> &amp; all",
        "See https://example.org/a_b_c/ for more.",
    ]
    text = "Title\n\n" + "\n\n".join(lines)
    statement = only(parse_bytes(text.encode(), name="plain.txt"))
    html = MARKDOWN.render(statement.body)
    assert not re.search(r"<(?:ol|ul|h\d|blockquote|em|code|b)>", html)
    assert [line for line in rendered_text(statement.body).split("\n") if line] == lines
    assert '<a href="https://example.org/a_b_c/">' in html


def test_at_names_in_imported_text_do_not_become_mentions() -> None:
    text = "Title\n\nThanks to @bob and (@alice); write to press@example.org."
    statement = only(parse_bytes(text.encode(), name="s.txt"))
    # A backslash stops the forum's renderer from reading "@bob" as a member mention.
    assert statement.body == "Thanks to \\@bob and (\\@alice); write to press@example.org."
    assert rendered_text(statement.body).strip() == text.split("\n\n")[1]


def test_markdown_file_stays_markdown() -> None:
    text = "# Our demands\n\n1. Fair rent\n2. Repairs now\n\nSee *the* [list](https://x.example/)."
    statement = only(parse_bytes(text.encode(), name="demands.md"))
    assert statement.title == "Our demands"
    assert statement.body == "1. Fair rent\n2. Repairs now\n\nSee *the* [list](https://x.example/)."
    assert "<ol>" in MARKDOWN.render(statement.body)


def test_heading_title_bom_crlf_and_control_characters() -> None:
    data = (
        b"\xef\xbb\xbf\r\n## A \xe2\x80\x9cquoted\xe2\x80\x9d title ##\r\n"
        b"\r\nFirst\x07 line.\r\n\r\nSecond.\r\n"
    )
    statement = only(parse_bytes(data, name="notes.txt"))
    assert statement.title == "A \u201cquoted\u201d title"
    assert paragraphs(statement) == ["First line.", "Second."]


def test_byline_under_the_title_becomes_the_author() -> None:
    statement = only(parse_bytes(b"Title\n\nBy Maryam A and Nikki W\n\nText.", name="s.txt"))
    assert statement.author == "Maryam A and Nikki W"
    assert paragraphs(statement) == ["Text."]
    prose = only(parse_bytes(b"Title\n\nBy the time we arrived, it was over.", name="s.txt"))
    assert prose.author is None
    assert paragraphs(prose) == ["By the time we arrived, it was over."]


# --- feeds ------------------------------------------------------------------------------------


def test_rss_items_become_statements() -> None:
    rent, meeting = parse_path(FIXTURES / "rss2.xml")

    assert rent.title == "Rent strike enters its third week"
    assert rent.external_id == "bulletin-2024-0042"
    assert rent.source_url == "https://bulletin.example.org/2024/03/rent-strike/"
    assert rent.published_at == datetime(2024, 3, 12, 16, 30, tzinfo=UTC)
    assert rent.author == "Housing Caucus"
    assert paragraphs(rent) == [
        "Tenants at Alder Court are still withholding rent. Read the "
        "[full list of demands](https://bulletin.example.org/demands/).",
        "The landlord\u2019s agents have not replied to the **second** letter.",
        "Donations: [the hardship fund](https://fund.example.org/alder_court)",
    ]
    assert "trackVisitor" not in rent.body

    assert meeting.title == "Meeting moved to Thursday"
    assert meeting.external_id == "https://bulletin.example.org/?p=51"
    assert meeting.published_at == datetime(2024, 3, 15, 9, 0, tzinfo=UTC)
    assert meeting.author == "Sam Okafor"
    assert paragraphs(meeting) == [
        "The general meeting moves to *Thursday*.",
        "Same room, same time.",
    ]


def test_atom_entry_becomes_a_statement() -> None:
    entry = only(parse_path(FIXTURES / "atom.xml"))
    assert entry.title == "Solidarity with the dock workers"
    assert entry.external_id == "urn:uuid:5b0c3f4e-0000-4000-8000-000000000002"
    assert entry.source_url == "https://caucus.example.net/statements/docks"
    assert entry.published_at == datetime(2024, 5, 2, 1, 15, tzinfo=UTC)
    assert entry.author == "Editorial Collective"
    assert entry.caption == "Photo: Lee Park"
    assert paragraphs(entry)[1:] == ["We stand with the dock workers.", "Their fight is ours."]


def test_feed_items_without_title_or_content_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    feed = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><guid>a</guid><description>No title here.</description></item>"
        b"<item><title>Kept</title><guid>b</guid><description>Body.</description></item>"
        b"</channel></rss>"
    )
    with caplog.at_level(logging.WARNING, logger="forum.importers"):
        statement = only(parse_bytes(feed, name="feed.xml"))
    assert statement.title == "Kept"
    assert "item 1: no title" in caplog.text


def test_feed_with_no_usable_item_is_refused() -> None:
    feed = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><guid>a</guid><description>No title.</description></item>"
        b"<item><title>Empty</title><guid>b</guid></item>"
        b"</channel></rss>"
    )
    with pytest.raises(ImportProblem) as problem:
        parse_bytes(feed, name="feed.xml")
    message = str(problem.value)
    assert message.startswith("feed.xml: no usable items in the feed")
    assert "item 1: no title" in message
    assert "item 2 \u201cEmpty\u201d: no content" in message


def test_truncated_feed_is_not_a_valid_feed(tmp_path: Path) -> None:
    path = tmp_path / "news.rss"
    path.write_bytes(b'<rss version="2.0"><channel><title>News</title><item><title>Half')
    with pytest.raises(ImportProblem, match=r"^news\.rss: not a valid feed"):
        parse_path(path)


def test_xml_entity_expansion_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<rss version="2.0"><channel><item><title>&b;</title></item></channel></rss>'
    )
    with pytest.raises(ImportProblem, match="refused for safety"):
        parse_bytes(bomb, name="bomb.xml")


# --- WordPress exports ------------------------------------------------------------------------


def test_wordpress_export_imports_only_the_published_post() -> None:
    post = only(parse_path(FIXTURES / "wordpress-export.xml"))
    assert post.title == "Why we organise \u2013 a short statement"
    assert post.external_id == "https://archive.example.org/?p=1201"
    assert post.author == "Steering Group"  # dc:creator "steering", shown by its display name
    assert post.source_url == "https://archive.example.org/2019/04/why-we-organise/"
    assert post.published_at == datetime(2019, 4, 1, 11, 0, tzinfo=UTC)
    assert post.caption == "Photo by Ana Silva"
    assert paragraphs(post)[1:] == [
        "We organise because nobody else will do it for us.",
        "Our branches meet every fortnight.\\\nNew members are always welcome.",
        "Read our [membership page](https://archive.example.org/join/) to get involved.",
    ]
    assert "[caption" not in post.body


def test_wordpress_post_id_is_the_id_without_a_guid_and_creator_without_author_list() -> None:
    item = wxr_item(7, title="T", content="<p>Body</p>").replace(
        "<guid>https://site.example/?p=7</guid>", "<dc:creator>jdoe</dc:creator>"
    )
    post = only(parse_bytes(wxr(item), name="export.xml"))
    assert post.external_id == "7"
    assert post.author == "jdoe"


def test_wordpress_block_editor_content_keeps_paragraphs() -> None:
    content = (
        "<!-- wp:paragraph -->\n<p>One.</p>\n<!-- /wp:paragraph -->\n\n"
        "<!-- wp:paragraph -->\n"
        '<p>Two, with <a href="https://x.example/">a link</a>.</p>\n'
        "<!-- /wp:paragraph -->"
    )
    post = only(parse_bytes(wxr(wxr_item(1, title="Blocks", content=content)), name="e.xml"))
    assert paragraphs(post) == ["One.", "Two, with [a link](https://x.example/)."]


def test_wordpress_content_loses_scripts_and_unsafe_links() -> None:
    item = wxr_item(
        4,
        title="Links",
        content=(
            '<p>Safe <a href="javascript:steal()">bait</a> and <a href="../join/">join</a>.</p>'
            "<script>steal()</script><style>p { color: red }</style>"
        ),
    ).replace("<wp:post_id>", "<link>https://site.example/2024/01/links/</link><wp:post_id>")
    post = only(parse_bytes(wxr(item), name="export.xml"))
    assert post.body == "Safe bait and [join](https://site.example/2024/01/join/)."


def test_wordpress_relative_links_without_a_base_are_unlinked() -> None:
    content = '<p>See <a href="/about/">about us</a> <img src="/logo.png" alt="logo"> @bob.</p>'
    post = only(parse_bytes(wxr(wxr_item(5, title="T", content=content)), name="e.xml"))
    # Where the image was, two spaces remain; they render as one.
    assert " ".join(post.body.split()) == "See about us \\@bob."


def test_wordpress_items_missing_title_or_content_are_skipped() -> None:
    export = wxr(
        wxr_item(1, title="", content="<p>Orphan text</p>"),
        wxr_item(2, title="No body", content="  "),
        wxr_item(3, title="Good one", content="<p>Hello</p>"),
    )
    post = only(parse_bytes(export, name="export.xml"))
    assert post.title == "Good one"
    assert post.body == "Hello"


def test_wordpress_export_with_nothing_usable_lists_why() -> None:
    export = wxr(
        wxr_item(1, title="", content="<p>Orphan text</p>"),
        wxr_item(2, title="No body", content=""),
        wxr_item(3, title="Later", content="<p>x</p>", status="draft"),
    )
    with pytest.raises(ImportProblem) as problem:
        parse_bytes(export, name="export.xml")
    assert str(problem.value) == (
        "export.xml: no usable posts in the WordPress export: item 1 (post 1): no title; "
        "item 2 (post 2) \u201cNo body\u201d: no content (also skipped: 1 draft)"
    )


def test_wordpress_export_with_only_drafts_is_refused() -> None:
    export = wxr(wxr_item(1, title="Later", content="<p>x</p>", status="draft"))
    with pytest.raises(ImportProblem, match=r"no published posts .*skipped: 1 draft"):
        parse_bytes(export, name="export.xml")


# --- files that cannot be imported --------------------------------------------------------------


def test_invalid_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Caf\u00e9 statement\n\nText.".encode("latin-1"))
    with pytest.raises(ImportProblem) as problem:
        parse_path(path)
    assert str(problem.value).startswith(
        "latin1.txt: not valid UTF-8 text (byte 0xe9 at byte offset 3)"
    )


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"\xef\xbb\xbf\r\n"])
def test_empty_file_is_refused(data: bytes) -> None:
    with pytest.raises(ImportProblem, match=r"^empty\.txt: the file is empty$"):
        parse_bytes(data, name="empty.txt")


def test_title_without_text_is_refused() -> None:
    with pytest.raises(ImportProblem, match="title but no text"):
        parse_bytes(b"Just a title\n\nPlease enter your comment!\n", name="t.txt")


def test_overlong_title_and_body_are_refused() -> None:
    with pytest.raises(ImportProblem, match="title is 301 characters long"):
        parse_bytes(b"x" * 301 + b"\n\nBody.", name="t.txt")
    with pytest.raises(ImportProblem, match="200,000"):
        parse_bytes(b"Title\n\n" + b"word " * 40_001, name="t.txt")


def test_binary_document_is_refused() -> None:
    with pytest.raises(ImportProblem, match=r"^s\.pdf: this is a PDF document, not text"):
        parse_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", name="s.pdf")


def test_html_page_is_refused() -> None:
    with pytest.raises(ImportProblem, match=r"^page\.html: this is an HTML page"):
        parse_bytes(b"<!DOCTYPE html><html><body>Hi</body></html>", name="page.html")


def test_unreadable_path_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ImportProblem, match=r"^missing\.txt: cannot read the file"):
        parse_path(tmp_path / "missing.txt")


# --- published: rendered in the worker pool, exactly as before ---------------------------------


async def test_published_statements_render_exactly_as_on_the_event_loop(
    app: Starlette, settings: Settings
) -> None:
    """The shared scraped statement and the WordPress export's post, published and amended: the
    HTML from the worker pool is the HTML `render_markdown` gave when it ran in the service."""
    from forum.models import Statement
    from forum.rendering import render_markdown
    from forum.services import channels, statements
    from forum.services.demo import STATEMENT  # the shared statement, as the app ships it

    await channels.create_channel(None, "Statements", "statements", public=True)
    iso = only(parse_path(STATEMENT, default_author="rs21 Steering Group"))
    wordpress = only(parse_path(FIXTURES / "wordpress-export.xml"))
    for data in (replace(iso, external_id="file:iso"), wordpress):
        published = await statements.publish(None, data, settings=settings)
        assert published.outcome == "created"
        assert published.statement.html == render_markdown(data.body)
        assert "<p>" in published.statement.html
        changed = replace(data, body=data.body + "\n\nAmended: see *the minutes*.")
        amended = await statements.publish(None, changed, settings=settings)
        assert amended.outcome == "amended"
        stored = await Statement.get(id=published.statement.id)
        assert stored.html == render_markdown(changed.body)
        assert stored.html.endswith("<p>Amended: see <em>the minutes</em>.</p>\n")


def test_iso_statement_marks_the_link_the_scrape_lost(iso_statement: StatementData) -> None:
    # "…can be found here." sat on a link in the page; the text keeps the words only.
    assert (
        "sexual violence can be found here *(the link was not kept in this copy)*."
        in iso_statement.body
    )
    assert iso_statement.body.count("the link was not kept") == 1


def test_lost_links_are_marked_only_in_plain_text(tmp_path: Path) -> None:
    from forum.importers.cleanup import LOST_LINK_NOTE

    text = tmp_path / "s.txt"
    text.write_text(
        "Title\n\nThe minutes are available here. Click here, or read more here!\n\n"
        "Here we are; nowhere here is a link.",
        encoding="utf-8",
    )
    body = only(parse_path(text)).body
    assert body.count(LOST_LINK_NOTE.strip()) == 3
    assert "nowhere here is a link." in body
    markdown = tmp_path / "s.md"
    markdown.write_text("Title\n\nThe minutes are [available here](https://example.org).")
    assert LOST_LINK_NOTE.strip() not in only(parse_path(markdown)).body
