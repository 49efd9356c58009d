"""A phone's screen (390 px): no page is wider than it, and records stack into cards."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import sign_in
from tests.servers import AppProcess

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LONG_REASON = (
    "Repeated personal attacks after two warnings, see the thread about the conference motion "
    "for the context; this reason is long on purpose, with a long word: "
    "antidisestablishmentarianism-antidisestablishmentarianism"
)


async def test_no_page_is_wider_than_a_phone(live_server: AppProcess, browser: Browser) -> None:
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await sign_in(page, live_server, "admin")
    # A log entry with a long reason, as a suspension writes it.
    await page.goto(live_server.url + "/admin/members")
    await page.locator("details", has_text="Suspend…").first.locator("summary").click()
    form = page.locator("form[action$='/suspend']").first
    await form.get_by_label("Reason (shown to the member and in the log)").fill(LONG_REASON)
    await form.get_by_role("button").click()

    paths = [
        "/",
        "/channels",
        "/c/statements",
        live_server.thread,
        f"{live_server.thread}/reply",
        "/moderation/log",
        "/admin/members",
        "/account",
        "/account/tokens",
        "/notifications",
        "/caucuses",
        "/review",
        "/search?q=the",
        "/m/amara",
        "/members",
        "/bookmarks",
        "/following",
    ]
    for path in paths:
        await page.goto(live_server.url + path)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide on a 390 px screen"

    # The log shows the hour of each act, and each row reads as a card with its column names.
    await page.goto(live_server.url + "/moderation/log")
    entry = page.locator("tbody tr", has_text=LONG_REASON)
    await expect(entry.locator("time")).to_have_text(
        re.compile(r"^\d{1,2} \w+ \d{4}, \d{2}:\d{2} UTC$")
    )
    reason = entry.locator("td[data-label='Reason']")
    assert await reason.evaluate("e => getComputedStyle(e, '::before').content") == '"Reason"'
    await context.close()
