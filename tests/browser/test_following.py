"""Following in real Chromium on a phone: a member follows a thread from its page (the
button says it is pressed, the page confirms it), finds it on the Following page through the
header, and unfollows it there, with JavaScript and without; the Following page passes axe
and fits a 390 px screen."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import TIMEOUT_MS, assert_accessible, sign_in
from tests.servers import AppProcess

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_follow_a_thread_and_find_it_on_the_following_page(
    live_server: AppProcess, browser: Browser, javascript: bool
) -> None:
    context = await browser.new_context(viewport=PHONE, java_script_enabled=javascript)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    await sign_in(page, live_server, "cy")
    await page.goto(live_server.url + live_server.thread)
    title = (await page.get_by_role("heading", level=1).text_content() or "").strip()
    controls = page.get_by_role("form", name="Following this thread")
    follow = controls.get_by_role("button", name="Follow")
    await expect(follow).to_have_attribute("aria-pressed", "false")
    await expect(controls).to_contain_text("Not following")
    await follow.click()
    await expect(page.locator("#page-notice")).to_contain_text("You follow it now")
    await expect(follow).to_have_attribute("aria-pressed", "true")
    await expect(controls).to_contain_text("You follow this thread")

    await page.get_by_role("banner").get_by_role("link", name="Following").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Following")
    threads = page.locator("#followed-threads")
    await expect(threads.get_by_role("link", name=title)).to_be_visible()
    if javascript:  # axe and the width are read by script in the page
        await assert_accessible(page, "following page")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"/following is {width} px wide on a 390 px screen"

    await threads.get_by_role("button", name=f"Unfollow “{title}”").click()
    await expect(page.locator("#page-notice")).to_contain_text("You no longer follow it")
    await expect(threads.get_by_role("link", name=title)).to_have_count(0)
    await context.close()
