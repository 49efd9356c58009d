"""After a form, the next page says what happened, and a screen reader hears it."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import new_page, sign_in, sign_out
from tests.servers import AppProcess

pytestmark = pytest.mark.browser


async def test_a_reply_and_a_flag_are_confirmed_where_focus_lands(
    live_server: AppProcess, page: Page
) -> None:
    await sign_in(page, live_server, "amara")
    await page.goto(live_server.url + live_server.thread)
    await page.get_by_label("Your reply").fill("A reply to be confirmed")
    await page.get_by_role("button", name="Post reply").click()
    notice = page.locator("#page-notice")
    await expect(notice).to_have_text("Your reply is posted.")
    # The page opened at the new post: focus is on it, and the message is spoken.
    new_post = page.locator("article", has_text="A reply to be confirmed")
    post_id = await page.evaluate("location.hash.slice(1)")
    assert await page.evaluate("document.activeElement.id") == post_id
    await expect(new_post).to_be_visible()
    await expect(page.locator("#live-announcer")).to_contain_text("Your reply is posted.")
    # Reloading does not say it again.
    await page.reload()
    await expect(page.locator("#page-notice")).to_have_count(0)

    # Another member flags it: focus moves to the confirmation itself.
    await sign_out(page)
    await sign_in(page, live_server, "bo")
    await page.goto(live_server.url + f"/p/{post_id.removeprefix('p')}/flag")
    await page.get_by_label("Spam").check()
    await page.get_by_role("button", name="Send flag").click()
    await expect(page.locator("#page-notice")).to_contain_text("Your flag is in the review queue")


async def test_the_review_count_in_the_header_follows_live(
    live_server: AppProcess, browser: Browser
) -> None:
    fran = await new_page(browser)
    await sign_in(fran, live_server, "fran")
    await fran.goto(live_server.url + "/channels")
    badge = fran.locator("header.site .badge[data-review-open]")
    await expect(badge).to_be_hidden()

    bo = await new_page(browser)
    await sign_in(bo, live_server, "bo")
    await bo.goto(live_server.url + live_server.thread)
    await bo.get_by_label("Your reply").fill("Something to flag")
    await bo.get_by_role("button", name="Post reply").click()
    post_id = (await bo.evaluate("location.hash.slice(1)")).removeprefix("p")
    amara = await new_page(browser)
    await sign_in(amara, live_server, "amara")
    await amara.goto(live_server.url + f"/p/{post_id}/flag")
    await amara.get_by_label("Spam").check()
    await amara.get_by_role("button", name="Send flag").click()

    await expect(badge).to_have_text("1")
    await expect(badge).to_be_visible()
    await expect(fran.get_by_role("link", name="Review, 1 open")).to_be_visible()
    await expect(fran.locator("#live-announcer")).to_contain_text("1 item waits for review")


async def test_a_member_suspended_with_a_page_open_is_told_why(
    live_server: AppProcess, browser: Browser
) -> None:
    bo = await new_page(browser)
    await sign_in(bo, live_server, "bo")
    await bo.goto(live_server.url + live_server.thread)
    admin = await new_page(browser)
    await sign_in(admin, live_server, "admin")
    await admin.goto(live_server.url + "/admin/members")
    row = admin.locator("tr", has_text="@bo")
    await row.locator("summary", has_text="Suspend…").click()
    await row.get_by_label("Reason (shown to the member and in the log)").fill(
        "Insults in the budget thread"
    )
    await row.get_by_label("Days (empty: until lifted)").fill("3")
    await row.get_by_role("button", name="Suspend @bo").click()

    # Bo's open page closes and sends them to sign in, which says what happened.
    await expect(bo.locator(".notice")).to_contain_text("your account was suspended")
    await bo.get_by_label("Handle").fill("bo")
    await bo.get_by_label("Password").fill("demo-password-1")
    await bo.get_by_role("button", name="Sign in").click()
    await expect(bo.get_by_role("heading", level=1)).to_have_text("Your account is suspended")
    await expect(bo.locator("blockquote.reason")).to_have_text("Insults in the budget thread")
    await bo.get_by_label("Why should the suspension be lifted?").fill("I apologise")
    await bo.get_by_role("button", name="Send appeal").click()
    await expect(bo.get_by_role("status")).to_contain_text("Your appeal is in the review queue")
