"""Replying in place: the composer opens under the post, keeps its draft on the server, and the
keyboard moves between posts."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import new_page, sign_in
from tests.servers import AppProcess

pytestmark = pytest.mark.browser


async def test_reply_in_place_and_find_the_draft_on_another_device(
    live_server: AppProcess, browser: Browser
) -> None:
    phone = await new_page(browser)
    await sign_in(phone, live_server, "bo")
    await phone.goto(live_server.url + live_server.thread)
    first = phone.locator("li.post").first
    await first.locator(":scope > article a[data-reply]").click()
    composer = first.locator(":scope > .inline-reply")
    await expect(composer).to_be_visible()
    box = composer.get_by_label("Your reply")
    await expect(box).to_be_focused()
    await box.fill("Started on the bus")
    # The server keeps it (saved a moment after typing stops).
    await phone.wait_for_timeout(2500)

    laptop = await new_page(browser)
    await sign_in(laptop, live_server, "bo")
    await laptop.goto(live_server.url + live_server.thread)
    first_there = laptop.locator("li.post").first
    await first_there.locator(":scope > article a[data-reply]").click()
    kept = first_there.locator(":scope > .inline-reply").get_by_label("Your reply")
    await expect(kept).to_have_value("Started on the bus")
    await kept.fill("Started on the bus, finished at home")
    await (
        first_there.locator(":scope > .inline-reply")
        .get_by_role("button", name="Post reply")
        .click()
    )

    # The whole thread, at the new reply, nested under the post it answers.
    await expect(laptop.locator("#page-notice")).to_have_text("Your reply is posted.")
    assert "/p/" not in laptop.url.split("#")[0]
    reply = laptop.locator("li.post", has_text="finished at home").last
    parent_id = await first_there.get_attribute("data-post")
    assert (
        await reply.evaluate("li => li.parentElement.closest('li.post').dataset.post") == parent_id
    )
    # The draft is gone: opening the composer again starts empty.
    await laptop.goto(live_server.url + live_server.thread)
    await laptop.locator("li.post").first.locator(":scope > article a[data-reply]").click()
    await expect(
        laptop.locator("li.post").first.locator(":scope > .inline-reply").get_by_label("Your reply")
    ).to_have_value("")


async def test_keyboard_moves_between_posts_but_not_while_typing(
    live_server: AppProcess, page: Page
) -> None:
    await sign_in(page, live_server, "amara")
    await page.goto(live_server.url + live_server.thread)
    posts = page.locator("li.post > article.post-body")
    await page.locator("h1").click()
    await page.keyboard.press("j")
    await expect(posts.nth(0)).to_be_focused()
    await page.keyboard.press("j")
    await expect(posts.nth(1)).to_be_focused()
    await page.keyboard.press("k")
    await expect(posts.nth(0)).to_be_focused()
    await page.keyboard.press("r")
    box = page.locator("li.post").first.locator(":scope > .inline-reply textarea")
    await expect(box).to_be_focused()
    await page.keyboard.type("jk r")
    await expect(box).to_have_value("jk r")
    await expect(box).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.locator(":scope > .inline-reply")).to_have_count(0)
    await page.keyboard.press("?")
    await expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
