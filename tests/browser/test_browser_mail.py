"""Email settings in real Chromium: the account page's form (no script needed), and the
unsubscribe page a mail link opens, which changes nothing until its button is pressed."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from forum.services.mail_prefs import unsubscribe_token
from tests.browser.conftest import assert_accessible, sign_in, sign_out
from tests.servers import AppProcess

pytestmark = pytest.mark.browser


async def test_email_settings_form_and_unsubscribe_page(
    live_server: AppProcess, page: Page
) -> None:
    await sign_in(page, live_server, "amara")
    await page.goto(live_server.url + "/account")
    await expect(page.get_by_role("heading", name="Email notifications")).to_be_visible()
    await expect(page.get_by_label("Mentions of you")).to_have_value("immediately")
    await expect(page.get_by_label("New statements")).to_have_value("weekly")
    await page.get_by_label("Mentions of you").select_option("never")
    await page.get_by_label("Decisions").select_option(label="Weekly digest")
    await page.get_by_role("button", name="Save email settings").click()
    await expect(page.get_by_role("status")).to_have_text("Your email settings are saved.")
    await expect(page.get_by_label("Mentions of you")).to_have_value("never")
    await expect(page.get_by_label("Decisions")).to_have_value("weekly")
    await assert_accessible(page, "account page with email settings")

    me = await (await page.request.get(live_server.url + "/api/v1/me")).json()
    token = unsubscribe_token("browser-tests", int(me["id"]), "reply")
    await sign_out(page)
    # A mail link opened without a session: a page with a button, nothing changed yet.
    await page.goto(f"{live_server.url}/unsubscribe/{token}")
    await expect(page.get_by_role("heading", name="Unsubscribe")).to_be_visible()
    await assert_accessible(page, "unsubscribe page")
    await page.get_by_role("button", name="Unsubscribe").click()
    await expect(page.get_by_role("status")).to_contain_text("no more email for replies")
    await assert_accessible(page, "unsubscribed page")

    await sign_in(page, live_server, "amara")
    await page.goto(live_server.url + "/account")
    await expect(page.get_by_label("Replies to your posts")).to_have_value("never")
    await expect(page.get_by_label("Mentions of you")).to_have_value("never")
