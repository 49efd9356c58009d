"""Live updates and drafts in real Chromium: two members on one thread, a reply appears in the
right place without a reload, the header badge and the aria-live region follow, a dropped socket
catches up, and a draft survives a reload but not a successful post."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser.conftest import (
    assert_accessible,
    new_page,
    sign_in,
)
from tests.servers import AppProcess

pytestmark = pytest.mark.browser

CONNECTED = "() => window.forumLive?.socket?.readyState === WebSocket.OPEN"


@pytest.fixture
def server(live_server: AppProcess) -> AppProcess:
    return live_server


async def member_page(browser: Browser, server: AppProcess, handle: str) -> Page:
    page = await new_page(browser)
    await sign_in(page, server, handle)
    return page


async def open_thread(page: Page, server: AppProcess, path: str | None = None) -> None:
    await page.goto(server.url + (path or server.thread))
    await page.wait_for_function(CONNECTED)


async def post_id(post: Locator) -> int:
    ident = await post.get_attribute("id")
    assert ident and ident.startswith("p"), ident
    return int(ident[1:])


async def reply_from_page(page: Page, server: AppProcess, to: int, text: str) -> None:
    await page.goto(f"{server.url}{server.thread}/reply?to={to}")
    await page.get_by_label("Your reply").fill(text)
    await page.get_by_role("button", name="Post reply").click()
    await expect(page.get_by_text(text)).to_be_visible()


async def reply_in_thread_box(page: Page, server: AppProcess, text: str) -> None:
    await page.goto(f"{server.url}{server.thread}")
    await page.locator("#body").fill(text)
    await page.get_by_role("button", name="Post reply").click()
    await expect(page.get_by_text(text)).to_be_visible()


async def test_reply_appears_live_and_a_dropped_socket_catches_up(
    server: AppProcess, browser: Browser
) -> None:
    amara = await member_page(browser, server, "amara")
    bo = await member_page(browser, server, "bo")
    await open_thread(amara, server)

    # amara's last top-level post has no replies yet: the first reply makes its reply list.
    target = amara.locator("ol.posts > li.post", has_text="Survivor-centred processes")
    target_id = await post_id(target)
    assert await target.locator("details.collapse").count() == 0
    badge = amara.locator("header.site .badge[data-unread]")
    before = int(await badge.get_attribute("data-unread") or 0)

    await reply_from_page(bo, server, target_id, "Live one: who writes them down first?")
    live = amara.locator(f"#p{target_id} > details.collapse > ol.replies > li.post")
    await expect(live).to_have_count(1)
    await expect(live).to_contain_text("Live one: who writes them down first?")
    await expect(live).to_have_class(re.compile(r"\bis-new\b"))
    await expect(amara.locator(f"#p{target_id} > details.collapse > summary")).to_have_text(
        "1 reply to @amara"
    )
    new_id = await post_id(live)
    await expect(live.get_by_role("link", name="Reply", exact=True)).to_have_attribute(
        "href", f"{server.thread}/reply?to={new_id}"
    )
    await expect(live.get_by_role("link", name="Edit")).to_have_count(0)  # bo's, not amara's
    await expect(badge).to_be_visible()
    await expect(badge).to_have_text(str(before + 1))
    await expect(
        amara.get_by_role("link", name=f"Notifications, {before + 1} unread")
    ).to_be_visible()
    # The reply, and the notification it brings (a reply to amara), in one sentence.
    await expect(amara.locator("#live-announcer")).to_have_text(
        "New reply from @bo. You have a new notification"
    )
    await assert_accessible(amara, "thread after a live reply")

    # A new post out of sight is counted on the button until the reader scrolls to it...
    button = amara.locator("#new-replies")
    await expect(button).to_have_text("1 new reply")
    await live.scroll_into_view_if_needed()
    await expect(button).to_be_hidden()

    # ...or follows the button to it; the page itself never jumps.
    await amara.evaluate("window.scrollTo(0, 0)")
    first = amara.locator("ol.posts > li.post", has_text="The line about caucuses").first
    first_id = await post_id(first)
    await reply_from_page(bo, server, first_id, "A second live one, further down.")
    second = amara.locator(
        f"#p{first_id} > details.collapse > ol.replies > li.post", has_text="A second live one"
    )
    await expect(second).to_have_count(1)
    assert await amara.evaluate("window.scrollY") == 0
    await expect(button).to_have_text("1 new reply")
    await button.click()
    await expect(button).to_be_hidden()
    await expect(second).to_be_focused()
    await expect(second).to_be_in_viewport()

    # The socket drops; a post made meanwhile arrives once it is back (catch-up by seq).
    await amara.evaluate("window.forumLive.hold()")
    status = amara.locator("#live-status")
    await expect(status).to_be_visible()
    await expect(status).to_contain_text("Offline")
    await reply_in_thread_box(bo, server, "Posted while amara was offline.")
    await amara.wait_for_timeout(300)
    missed = amara.locator("ol.posts > li.post", has_text="Posted while amara was offline.")
    await expect(missed).to_have_count(0)
    await amara.evaluate("window.forumLive.resume()")
    await expect(status).to_be_hidden()
    await expect(missed).to_have_count(1)

    # The server itself goes away and comes back on the same port: the page reconnects alone.
    server.stop()
    await expect(status).to_be_visible()
    server.start()
    await expect(status).to_be_hidden(timeout=25_000)
    await amara.wait_for_function(CONNECTED)
    await reply_from_page(bo, server, target_id, "After the restart, still live.")
    await expect(live.filter(has_text="After the restart")).to_have_count(1)
    # Nothing arrived twice.
    bodies = amara.locator("article.post-body")
    assert await bodies.filter(has_text="Posted while amara was offline.").count() == 1
    assert await bodies.filter(has_text="Live one: who writes").count() == 1


async def test_draft_survives_a_reload_and_goes_once_posted(
    server: AppProcess, browser: Browser
) -> None:
    bo = await member_page(browser, server, "bo")
    await bo.goto(server.url + server.thread)
    box = bo.locator("#body")
    await box.fill("A draft I do not want to lose.")
    await bo.wait_for_timeout(500)  # the save is debounced
    await bo.reload()
    await expect(box).to_have_value("A draft I do not want to lose.")
    await expect(bo.get_by_text("Your unsent draft was restored")).to_be_visible()

    await bo.get_by_role("button", name="Post reply").click()
    await expect(bo.get_by_text("A draft I do not want to lose.")).to_be_visible()
    await bo.goto(server.url + server.thread)
    await expect(bo.locator("#body")).to_have_value("")
    await expect(bo.get_by_text("Your unsent draft was restored")).to_have_count(0)
    assert await bo.evaluate("localStorage.getItem('draft:thread-1')") is None
    # The submit carried a client key, so a retried submit could not make a second post.
    bodies = bo.locator("article.post-body", has_text="A draft I do not want to lose.")
    assert await bodies.count() == 1


async def test_edits_and_deletions_change_the_post_in_place_and_channels_hear_of_activity(
    server: AppProcess, browser: Browser
) -> None:
    amara = await member_page(browser, server, "amara")
    errors: list[str] = []
    amara.on("pageerror", lambda exc: errors.append(str(exc)))
    # Script errors only: a few templates still carry style="" attributes the CSP blocks.
    amara.on(
        "console",
        lambda msg: (
            errors.append(msg.text) if msg.type == "error" and "style-src" not in msg.text else None
        ),
    )
    bo = await member_page(browser, server, "bo")
    await open_thread(amara, server)

    # amara edits her first post in another tab: this tab swaps its text, keeps its replies
    # and her own links.
    first = amara.locator("ol.posts > li.post", has_text="The line about caucuses").first
    first_id = await post_id(first)
    body = amara.locator(f"#p{first_id} > article.post-body")
    other_tab = await amara.context.new_page()
    await other_tab.goto(f"{server.url}/p/{first_id}/edit")
    await other_tab.get_by_label("Post").fill("Edited: caucuses are the heart of it.")
    await other_tab.get_by_role("button", name="Save").click()
    await other_tab.close()
    await expect(body).to_contain_text("Edited: caucuses are the heart of it.")
    await expect(body.get_by_role("link", name="edited")).to_be_visible()
    await expect(body.get_by_role("link", name="Edit", exact=True)).to_be_visible()
    replies = amara.locator(f"#p{first_id} > details.collapse > ol.replies > li.post")
    await expect(replies.first).to_contain_text("Agreed, @amara")

    # bo deletes his reply: amara's page says so where it was.
    reply_id = await post_id(replies.first)
    await bo.goto(f"{server.url}/p/{reply_id}/edit")
    await bo.get_by_role("button", name="Delete this post").click()
    await expect(amara.locator(f"#p{reply_id} > article.post-body")).to_contain_text(
        "This post was deleted by its author."
    )
    await expect(amara.locator(f"#p{reply_id}")).to_have_class(re.compile(r"\bis-deleted\b"))

    # On the channel's list, activity shows a notice and marks the thread's row.
    await amara.goto(server.url + "/c/statements")
    await amara.wait_for_function(CONNECTED)
    notice = amara.locator("#channel-new")
    await expect(notice).to_be_hidden()
    await reply_in_thread_box(bo, server, "Something new for the channel list.")
    await expect(notice).to_be_visible()
    await expect(notice.get_by_role("link", name="New activity: reload the list")).to_be_visible()
    thread_id = server.thread.rsplit("/", 1)[1]
    dot = amara.locator(f'#thread-list li[data-thread="{thread_id}"] .unread-dot')
    await expect(dot).to_have_count(1)
    await assert_accessible(amara, "channel with live activity")
    assert errors == []
