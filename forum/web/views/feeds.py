"""Atom feeds of channels: only what an anonymous visitor may read, so never caucus content."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from starlette.requests import Request
from starlette.responses import Response

from forum.models import Post, Thread
from forum.services import access
from forum.services.context import Ctx
from forum.web.access import access as rule
from forum.web.middleware import anonymous_ctx

ATOM = "http://www.w3.org/2005/Atom"
ENTRIES = 30


def _iso(moment: datetime | None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


@rule("anyone")
async def channel_feed(request: Request) -> Response:
    """A feed reader carries no session, so the feed answers as an anonymous visitor would,
    whoever asks: a channel that is not public is a 404 here even for its members."""
    ctx: Ctx = anonymous_ctx(request)
    channel = await access.channel_by_slug(ctx, request.path_params["slug"])
    threads = (
        await Thread.filter(channel_id=channel.id)
        .order_by("-created_at", "-id")
        .limit(ENTRIES)
        .select_related("statement", "author")
    )
    openings = {
        p.thread_id: p
        for p in await Post.filter(
            thread_id__in=[t.id for t in threads],
            parent_id=None,
            path="0000",
            hidden=False,
            deleted=False,
        )
    }
    base = ctx.settings.base_url
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"{channel.name} · forum"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"{base}/c/{channel.slug}"
    ET.SubElement(feed, f"{{{ATOM}}}link", href=f"{base}/c/{channel.slug}")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{base}/c/{channel.slug}/feed.atom")
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _iso(
        threads[0].created_at if threads else channel.created_at
    )
    for thread in threads:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = thread.title
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{base}/t/{thread.id}"
        ET.SubElement(entry, f"{{{ATOM}}}link", href=f"{base}/t/{thread.id}")
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _iso(thread.created_at)
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        name = (
            thread.statement.author
            if thread.statement
            else thread.author.display_name
            if thread.author
            else "a former member"
        )
        ET.SubElement(author, f"{{{ATOM}}}name").text = name
        html = (
            thread.statement.html
            if thread.statement
            else (openings[thread.id].html if thread.id in openings else "")
        )
        ET.SubElement(entry, f"{{{ATOM}}}content", type="html").text = html
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type="application/atom+xml; charset=utf-8")
