"""Feeds answer as an anonymous visitor would: public channels only, never a caucus."""

from __future__ import annotations

import feedparser
from starlette.applications import Starlette

from forum.models import Channel
from forum.services import channels
from tests.conftest import make_client, post_form, signed_in


async def test_public_channel_feed_lists_threads_and_private_ones_are_404(app: Starlette) -> None:
    await channels.create_channel(None, "Statements", "statements", public=True)
    await channels.create_channel(None, "General", "general")
    amara = await signed_in(app, "amara")
    await post_form(
        amara,
        "/c/statements/threads",
        {"title": "Public words", "body": "hello *all*"},
        page="/c/statements/new",
    )
    await post_form(
        amara,
        "/c/general/threads",
        {"title": "Members only", "body": "inside"},
        page="/c/general/new",
    )
    founded = await post_form(
        amara,
        "/caucuses",
        {"name": "Quiet", "listed": "0", "join_policy": "invite"},
        page="/caucuses",
    )
    slug = founded.headers["location"].rsplit("/", 1)[1]
    async with make_client(app) as anonymous:
        feed = await anonymous.get("/c/statements/feed.atom")
        assert feed.status_code == 200 and feed.headers["content-type"].startswith(
            "application/atom+xml"
        )
        parsed = feedparser.parse(feed.content)
        assert [e.title for e in parsed.entries] == ["Public words"]
        assert "<em>all</em>" in parsed.entries[0].content[0].value
        missing = await anonymous.get("/c/nothing/feed.atom")
        for path in ("/c/general/feed.atom", f"/c/{slug}-talk/feed.atom"):
            hidden = await anonymous.get(path)
            assert hidden.status_code == 404 and hidden.text == missing.text
    # Even the caucus's own convener gets no feed of it: feeds carry no session.
    assert (await amara.get(f"/c/{slug}-talk/feed.atom")).status_code == 404
    assert await Channel.filter(slug=f"{slug}-talk").exists()
