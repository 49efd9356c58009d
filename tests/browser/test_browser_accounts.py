"""Accounts in real Chromium: an admin invites, the new member signs up, out and in again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import DEMO_PASSWORD, header_handle, sign_in, sign_out
from tests.servers import AppProcess

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a long enough password"


async def test_invite_signup_sign_out_sign_in(
    live_server: AppProcess, page: Page, tmp_path: Path
) -> None:
    await sign_in(page, live_server, "admin")
    await page.get_by_role("banner").get_by_role("link", name="Admin", exact=True).click()
    await expect(page).to_have_url(live_server.url + "/admin/members")
    await page.get_by_role("link", name="Invites", exact=True).click()
    await expect(page).to_have_url(live_server.url + "/admin/invites")
    await page.get_by_label("Note (for admins only)").fill("for Bea")
    await page.get_by_role("button", name="Make invite links").click()
    link_field = page.get_by_label("The new links")
    link = (await link_field.input_value()).strip()
    assert re.fullmatch(re.escape(live_server.url) + r"/signup\?invite=\S+", link), link
    await sign_out(page)

    await page.goto(link)
    await expect(page.get_by_role("heading", name="Sign up")).to_be_visible()
    await page.get_by_label("Handle").fill("bea")
    await page.get_by_label("Email address").fill("bea@example.org")
    await page.get_by_label("Name to show").fill("Bea Example")
    await page.get_by_label("Password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(header_handle(page, "bea")).to_be_visible()

    shot = tmp_path / "signed-in.png"
    await page.screenshot(path=shot, full_page=True)
    assert shot.exists() and shot.stat().st_size > 0

    await sign_out(page)
    await sign_in(page, live_server, "bea", NEW_PASSWORD)
    await page.get_by_role("banner").get_by_role("link", name="@bea").click()
    await expect(page.get_by_text("Signed in as @bea")).to_be_visible()


async def test_wrong_password_says_so_and_keeps_the_handle(
    live_server: AppProcess, page: Page, tmp_path: Path
) -> None:
    await page.goto(live_server.url + "/login")
    await page.get_by_label("Handle").fill("fran")
    await page.get_by_label("Password").fill(DEMO_PASSWORD + "-wrong")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("That handle and password do not match")
    await expect(page.get_by_label("Handle")).to_have_value("fran")
    await expect(page.get_by_label("Password")).to_have_value("")
    await expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()
    await page.screenshot(path=tmp_path / "wrong-password.png", full_page=True)
