"""Getting back in, as a member would: "Forgot your password?" on the sign-in page, the email
(read from the file transport's folder), the link, signed in; and confirming a new address."""

from __future__ import annotations

import asyncio
import re
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import (
    DEMO_PASSWORD,
    assert_accessible,
    header_handle,
    sign_in,
    sign_out,
)
from tests.mail import folder_messages, text_of
from tests.servers import AppProcess

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a long new passphrase"


async def next_mail(folder: Path, count: int) -> EmailMessage:
    """The `count`-th message the server wrote to its mail folder (waiting for it)."""
    for _ in range(250):
        messages = folder_messages(folder)
        if len(messages) >= count:
            return messages[count - 1]
        await asyncio.sleep(0.04)
    raise AssertionError(f"no message number {count} in {folder}")


def link_path(message: EmailMessage, kind: str) -> str:
    """The path of the message's link (the server's FORUM_BASE_URL names another port)."""
    found = re.search(r"https?://\S+?(/" + kind + r"\?token=[A-Za-z0-9_-]+)", text_of(message))
    assert found, text_of(message)
    return urlsplit(found.group(0)).path + "?" + urlsplit(found.group(0)).query


async def test_forgot_password_from_the_sign_in_page_through_the_mail_to_signed_in(
    live_server: AppProcess, page: Page, tmp_path: Path
) -> None:
    await page.goto(live_server.url + "/login")
    await page.get_by_role("link", name="Forgot your password?").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    await assert_accessible(page, "forgot-password page")
    await page.get_by_label("Email address or handle").fill("amara@example.org")
    await page.get_by_role("button", name="Send me a link").click()
    await expect(page.get_by_role("status")).to_contain_text("If an account has this address")
    await assert_accessible(page, "forgot-password page, link sent")

    message = await next_mail(tmp_path / "mail", 1)
    assert message["To"] == "amara@example.org"
    path = link_path(message, "reset")
    await page.goto(live_server.url + path)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Set a new password")
    await assert_accessible(page, "reset page")
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("New password again").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set password").click()
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    await expect(page.get_by_text("Your new password is set.")).to_be_visible()
    await expect(header_handle(page, "amara")).to_be_visible()

    # The link was used up; the old password is gone, the new one works.
    await page.goto(live_server.url + path)
    await expect(page.get_by_role("alert")).to_contain_text("already been used")
    await assert_accessible(page, "reset page, used link")
    await sign_out(page)
    await page.goto(live_server.url + "/login")
    await page.get_by_label("Handle").fill("amara")
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("do not match")
    await sign_in(page, live_server, "amara", NEW_PASSWORD)


async def test_changing_the_address_confirms_the_new_one_by_its_link(
    live_server: AppProcess, page: Page, tmp_path: Path
) -> None:
    await sign_in(page, live_server, "bo")
    await page.goto(live_server.url + "/account")
    await expect(
        page.get_by_role("paragraph").filter(has_text="Your address: bo@example.org")
    ).to_be_visible()
    await page.get_by_label("New email address").fill("bo@example.net")
    await page.get_by_label("Your current password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Change address").click()
    await expect(page.get_by_role("status")).to_contain_text("We sent a link to the new address")
    await assert_accessible(page, "account page, address waiting")

    folder = tmp_path / "mail"
    first, second = await next_mail(folder, 1), await next_mail(folder, 2)
    to_new = first if first["To"] == "bo@example.net" else second
    await page.goto(live_server.url + link_path(to_new, "confirm"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    await assert_accessible(page, "confirm page")
    await page.get_by_role("button", name="Confirm my address").click()
    await expect(page.get_by_role("status")).to_contain_text("bo@example.net is confirmed")
    await page.goto(live_server.url + "/account")
    await expect(page.get_by_text("bo@example.net, confirmed.")).to_be_visible()
