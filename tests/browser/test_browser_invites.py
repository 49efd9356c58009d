"""Invites in real Chromium, on a desktop and a 390 px phone: an admin makes several links at
once and copies them (clipboard, or a selection where there is none; a plain selectable field
without JavaScript), mails one with a bad line to fix, revokes one; the revoked link says so;
a newcomer signs up with another and is welcomed on the home page."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import TIMEOUT_MS, assert_accessible, header_handle, sign_in
from tests.servers import AppProcess

pytestmark = pytest.mark.browser

SCREENS = {"desktop": {"width": 1200, "height": 800}, "phone": {"width": 390, "height": 844}}
PASSWORD = "a long enough password"


async def screen_page(browser: Browser, screen: str, **options: object) -> Page:
    context = await browser.new_context(viewport=SCREENS[screen], **options)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    return await context.new_page()


async def fits(page: Page, screen: str) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= SCREENS[screen]["width"], f"{page.url} is {width} px wide on {screen}"


@pytest.mark.parametrize("screen", ["desktop", "phone"])
async def test_make_copy_revoke_and_a_newcomer_is_welcomed(
    live_server: AppProcess, browser: Browser, screen: str
) -> None:
    admin = await screen_page(browser, screen, permissions=["clipboard-read", "clipboard-write"])
    await sign_in(admin, live_server, "admin")
    await admin.goto(live_server.url + "/admin/invites")
    await expect(admin.get_by_role("heading", name="Invites", exact=True)).to_be_visible()
    await assert_accessible(admin, f"invites page ({screen})")
    await fits(admin, screen)

    await admin.get_by_label("How many (1 to 50)").fill("3")
    await admin.get_by_label("Note (for admins only)").fill("Tenants' union newcomers")
    await admin.get_by_role("button", name="Make invite links").click()
    made = admin.get_by_role("region", name="3 new invite links")
    await expect(made).to_be_visible()
    await expect(admin.locator("#page-notice")).to_contain_text("Your invite links are made")
    field = admin.get_by_label("The new links")
    links = (await field.input_value()).splitlines()
    assert len(links) == 3
    for link in links:
        assert re.fullmatch(re.escape(live_server.url) + r"/signup\?invite=[\w-]{43}", link)
    assert "invite=" not in admin.url  # the redirect names the batch, not a token
    await assert_accessible(admin, f"invites page with new links ({screen})")
    await fits(admin, screen)

    # Copy the batch, then one link from the list: the clipboard holds exactly that.
    copy_all = made.locator("button[data-copy]")  # its name changes once it has copied
    await expect(copy_all).to_have_accessible_name("Copy the new links")
    await copy_all.click()
    await expect(copy_all).to_have_text(re.compile("^Copied"))
    assert await admin.evaluate("navigator.clipboard.readText()") == "\n".join(links)
    rows = admin.locator("table.invites tbody tr.invite-usable")
    await expect(rows).to_have_count(3)
    first_row = rows.first
    one = await first_row.locator("input.copy").input_value()
    assert one in links
    copy_one = first_row.locator("button[data-copy]")
    await copy_one.click()
    await expect(copy_one).to_have_text(re.compile("^Copied"))
    assert await admin.evaluate("navigator.clipboard.readText()") == one

    # Revoke that one: the list says so, and its link says so to whoever opens it.
    await first_row.get_by_role("button", name=re.compile("^Revoke")).click()
    await expect(admin.locator("#page-notice")).to_contain_text("The invite is revoked")
    await expect(admin.locator("table.invites tbody tr.invite-usable")).to_have_count(2)
    await expect(admin.locator("tr.invite-revoked")).to_contain_text("Revoked by @admin")
    await fits(admin, screen)

    newcomer = await screen_page(browser, screen)
    gone = await newcomer.goto(one)
    assert gone is not None and gone.status == 410
    await expect(newcomer.get_by_role("heading", name="This invite was revoked")).to_be_visible()
    await expect(newcomer.get_by_label("Handle")).to_have_count(0)
    await assert_accessible(newcomer, f"revoked invite ({screen})")

    other = next(link for link in links if link != one)
    await newcomer.goto(other)
    await expect(newcomer.locator("#invite-state")).to_contain_text(
        "This invite can be used once; it was made by @admin on"
    )
    await assert_accessible(newcomer, f"sign-up with an invite ({screen})")
    await fits(newcomer, screen)
    await newcomer.get_by_label("Handle").fill("bea")
    await newcomer.get_by_label("Email address").fill("bea@example.org")
    await newcomer.get_by_label("Password").fill(PASSWORD)
    await newcomer.get_by_role("button", name="Create account").click()
    await expect(header_handle(newcomer, "bea")).to_be_visible()

    # The first visit: a welcome, not a page of "new" markers.
    welcome = newcomer.get_by_role("region", name="Welcome to the forum")
    await expect(welcome).to_be_visible()
    for name in ("Channels", "Caucuses", "moderation log", "notification settings"):
        await expect(welcome.get_by_role("link", name=name, exact=True)).to_be_visible()
    await assert_accessible(newcomer, f"home on a first visit ({screen})")
    await fits(newcomer, screen)
    await newcomer.goto(live_server.url + live_server.thread)
    await expect(newcomer.get_by_role("heading", level=1)).to_be_visible()
    await expect(newcomer.get_by_text("New since your last visit")).to_have_count(0)
    await expect(newcomer.locator("li.post.is-new")).to_have_count(0)
    await newcomer.goto(live_server.url + "/")
    await expect(newcomer.get_by_role("region", name="Welcome to the forum")).to_have_count(0)

    # The used link is listed as used by @bea.
    await admin.goto(live_server.url + "/admin/invites")
    await expect(admin.locator("tr.invite-used")).to_contain_text("Used by @bea")
    await newcomer.context.close()
    await admin.context.close()


async def test_without_a_clipboard_copy_selects_and_without_script_the_field_is_there(
    live_server: AppProcess, browser: Browser
) -> None:
    # No clipboard API (an http address that is not this machine, an old browser): select.
    page = await screen_page(browser, "desktop")
    await page.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    await sign_in(page, live_server, "admin")
    await page.goto(live_server.url + "/admin/invites")
    await page.get_by_role("button", name="Make invite links").click()
    row = page.locator("tr.invite-usable").first
    button = row.locator("button[data-copy]")
    await button.click()
    await expect(button).to_have_text(re.compile("^Selected"))
    field = row.locator("input.copy")
    await expect(field).to_be_focused()
    selected = await field.evaluate("f => f.value.slice(f.selectionStart, f.selectionEnd)")
    assert selected == await field.input_value() and "/signup?invite=" in selected
    await page.context.close()

    # No JavaScript: no dead Copy button; the read-only field holds the whole link.
    plain = await screen_page(browser, "phone", java_script_enabled=False)
    await sign_in(plain, live_server, "admin")
    await plain.goto(live_server.url + "/admin/invites")
    row = plain.locator("tr.invite-usable").first
    await expect(row.locator("input.copy")).to_have_value(re.compile(r"/signup\?invite=\S+"))
    await expect(row.get_by_role("button", name=re.compile("^Copy"))).to_be_hidden()
    await plain.context.close()


@pytest.mark.parametrize("screen", ["desktop", "phone"])
async def test_invitations_by_email_name_the_bad_lines_and_keep_them(
    live_server: AppProcess, browser: Browser, screen: str
) -> None:
    page = await screen_page(browser, screen)
    await sign_in(page, live_server, "admin")
    await page.goto(live_server.url + "/admin/invites")
    emails = page.get_by_label("Email addresses, one a line (at most 50)")
    await emails.fill("dee@example.org\nnot an address\nelle@example.org")
    await page.get_by_role("button", name="Send invitations").click()
    await expect(page.get_by_role("alert")).to_contain_text("Line 2, “not an address”")
    await expect(page.get_by_role("status").first).to_contain_text(
        "Sent 2 invitations: dee@example.org, elle@example.org."
    )
    await expect(emails).to_have_value("not an address")
    await expect(emails).to_have_attribute("aria-invalid", "true")
    await assert_accessible(page, f"invites by email with a bad line ({screen})")
    await fits(page, screen)
    await emails.fill("fay@example.org")
    await page.get_by_role("button", name="Send invitations").click()
    await expect(page.get_by_role("region", name="Invitations sent")).to_contain_text(
        "fay@example.org"
    )
    await expect(page.locator("table.invites")).to_contain_text("to dee@example.org")
    await page.context.close()
