"""A confidential report in Chromium, as its reporter and a committee member live it: reported
from a post, acknowledged, consent asked and given, closed with an outcome; the reporter's case
page shows each step as it happens, without a reload. The new pages pass axe."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import assert_accessible, new_page, sign_in
from tests.servers import AppProcess


async def test_a_report_followed_live_to_its_close(
    live_server: AppProcess, page: Page, browser: Browser
) -> None:
    url = live_server.url
    await sign_in(page, live_server, "amara")
    await page.goto(url + "/committee")
    await expect(page.get_by_role("heading", name="The committee")).to_be_visible()
    await assert_accessible(page, "committee roster")
    # Report bo's post from the statement thread.
    await page.goto(url + live_server.thread)
    bo_post = page.locator("li.post", has=page.locator("text=What would it take")).first
    await bo_post.get_by_role("link", name="Report to the committee").click()
    await expect(page.get_by_role("heading", name="Make a confidential report")).to_be_visible()
    await assert_accessible(page, "report form")
    await page.get_by_label("Who is it about? (optional)").fill("@bo")
    await page.get_by_label("What happened?").fill("Bo keeps replying to me in a mocking way.")
    await page.get_by_label("Formal complaint.", exact=False).check()
    await page.get_by_role("button", name="Send to the committee").click()
    await expect(page.get_by_role("heading", name="Your report")).to_be_visible()
    await expect(page.locator(".case-state")).to_have_text("Received")
    await assert_accessible(page, "case page, reporter")
    case_path = page.url.removeprefix(url)

    cass = await new_page(browser)
    await sign_in(cass, live_server, "cass")
    await cass.goto(url + "/reports")
    await cass.locator(f'a[href="{case_path}"]').click()
    await expect(cass.get_by_role("heading", name="Confidential case")).to_be_visible()
    await assert_accessible(cass, "case page, handler")
    await cass.get_by_role("button", name="Acknowledge").click()
    # The reporter's page changes by itself.
    await expect(page.locator(".case-state")).to_have_text("Acknowledged")
    await expect(page.get_by_text("Acknowledged by the committee", exact=True)).to_be_visible()

    await cass.get_by_label("Ask the reporter's consent for").fill("May we speak with @bo?")
    await cass.get_by_role("button", name="Ask for consent").click()
    await expect(page.get_by_text("May we speak with @bo?")).to_be_visible()
    await page.get_by_role("button", name="Yes, go ahead").click()
    await expect(page.get_by_text("The reporter said yes", exact=True)).to_be_visible()

    await cass.reload()
    await cass.get_by_label("Outcome").select_option("advice")
    await cass.get_by_label("Reason (the reporter reads it)").fill("We talked with both of you.")
    await cass.get_by_role("button", name="Close the case").click()
    await expect(cass.locator(".case-state")).to_have_text("Closed: Advice given")
    await expect(page.locator(".case-state")).to_have_text("Closed: Advice given")
    await expect(page.get_by_text("We talked with both of you.")).to_be_visible()

    await page.goto(url + "/reports/transparency")
    await expect(
        page.get_by_role("heading", name="Confidential reports: public counts")
    ).to_be_visible()
    await assert_accessible(page, "transparency page")

    # The admin cannot tell the case exists.
    admin = await new_page(browser)
    await sign_in(admin, live_server, "admin")
    response = await admin.goto(url + case_path)
    assert response is not None and response.status == 404
    await admin.goto(url + "/admin/committee")
    await expect(admin.get_by_role("heading", name="The committee's roster")).to_be_visible()
    await assert_accessible(admin, "admin committee page")


async def test_the_report_page_for_members_who_cannot_sign_in(
    live_server: AppProcess, page: Page
) -> None:
    await page.goto(live_server.url + "/login")
    await page.get_by_role("link", name="Make a confidential report").click()
    await expect(
        page.get_by_role("heading", name="Confidential report, without signing in")
    ).to_be_visible()
    await assert_accessible(page, "report page without signing in")
