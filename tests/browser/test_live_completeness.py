"""What the live page keeps true without a reload: counts, announcements, and saying when the
connection silently died."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import new_page, sign_in
from tests.servers import AppProcess

pytestmark = pytest.mark.browser
READY = "window.forumLive && window.forumLive.socket && window.forumLive.socket.readyState === 1"


async def socket_open(page: Any, clock: bool = False) -> None:
    """Wait for the page's socket to be open (polled from here: the page's clock may be fake)."""
    for _ in range(200):
        if await page.evaluate(f"() => Boolean({READY})"):
            return
        if clock:
            await page.clock.fast_forward(100)
        await asyncio.sleep(0.05)
    state = await page.evaluate(
        "() => [Boolean(window.forumLive), window.forumLive && window.forumLive.socket && "
        "window.forumLive.socket.readyState, document.body.dataset.topics]"
    )
    raise AssertionError(f"the page's socket did not open: {state}")


async def test_counts_and_notifications_follow_live(
    live_server: AppProcess, browser: Browser
) -> None:
    amara = await new_page(browser)
    await sign_in(amara, live_server, "amara")
    await amara.goto(live_server.url + live_server.thread)
    counter = amara.locator("#post-count")
    before = int(await counter.get_attribute("data-count") or 0)
    await expect(amara.locator("#live-status")).to_be_hidden()
    await amara.wait_for_function(READY)

    bo = await new_page(browser)
    await sign_in(bo, live_server, "bo")
    await bo.goto(live_server.url + live_server.thread)
    await bo.get_by_label("Your reply").fill("A thought for @amara")
    await bo.get_by_role("button", name="Post reply").click()

    await expect(counter).to_have_text(f"{before + 1} posts")
    await expect(amara.locator("#live-announcer")).to_contain_text(
        re.compile("New reply from @bo|You have a new notification")
    )
    await expect(amara.locator("header.site .badge[data-unread]")).to_be_visible()


async def test_a_silent_socket_shows_offline_and_reconnects(
    live_server: AppProcess, browser: Browser
) -> None:
    page = await new_page(browser)
    await page.clock.install()
    state = {"sockets": 0, "refuse": True}

    async def route(ws: Any) -> None:
        state["sockets"] += 1
        if state["sockets"] == 1:
            # Half-closed: the page's frames reach the server, nothing comes back, and no
            # close ever arrives.
            server = ws.connect_to_server()
            server.on_message(lambda message: None)
            ws.on_close(lambda code, reason: None)  # and a close is never answered
        elif state["refuse"]:
            await ws.close()
        else:
            ws.connect_to_server()

    await sign_in(page, live_server, "amara")
    await page.route_web_socket(re.compile(r"/ws$"), route)
    await page.goto(live_server.url + live_server.thread)
    await socket_open(page, clock=True)
    status = page.locator("#live-status")
    await expect(status).to_be_hidden()
    # Longer than the heartbeat allows without a word: the page gives the socket up, and while
    # the reconnects fail it says it is offline.
    await page.clock.fast_forward(80_000)
    for _ in range(4):
        await page.clock.fast_forward(1_100)
    await expect(status).to_have_text("Offline: reconnecting…")
    assert state["sockets"] >= 2
    # The network comes back: the next try connects and the indicator goes.
    state["refuse"] = False
    for _ in range(20):
        await page.clock.fast_forward(1_000)
        if await status.is_hidden():
            break
    await expect(status).to_be_hidden()
    await socket_open(page, clock=True)
