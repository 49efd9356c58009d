"""A post that arrives live offers each reader the links the page would after a reload: a
facilitator gets Flag and Moderate, a member Flag only, and nobody gets someone else's Edit.
The links come from the frame's `can` data (the server's policy), not from rules in the script."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_live import member_page, open_thread, reply_in_thread_box, server
from tests.servers import AppProcess

__all__ = ["server"]  # the fixture, shared with tests/browser/test_live.py

pytestmark = pytest.mark.browser


async def test_a_live_post_shows_each_readers_own_controls_at_once(
    server: AppProcess, browser: Browser
) -> None:
    fran = await member_page(browser, server, "fran")  # a facilitator
    amara = await member_page(browser, server, "amara")
    bo = await member_page(browser, server, "bo")
    await open_thread(fran, server)
    await open_thread(amara, server)

    text = "Pushed to everyone: who keeps the minutes?"
    await reply_in_thread_box(bo, server, text)

    for page, expected in (
        (fran, ["Reply", "Flag", "Report to the committee", "Moderate"]),
        (amara, ["Reply", "Flag", "Report to the committee"]),
    ):
        live = page.locator("li.post", has_text=text)
        await expect(live).to_have_count(1)
        links = live.locator(":scope > article > nav.post-actions > a")
        await expect(links).to_have_text(expected)
