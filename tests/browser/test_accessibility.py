"""axe-core on the pages a member meets first: no serious or critical violations."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.servers import AppProcess

pytestmark = pytest.mark.browser


def forum_cli(server: AppProcess, *args: str) -> None:
    """Run a `forum` command against the server's database."""
    env = {**os.environ, **server.env, "FORUM_BASE_URL": server.url}
    subprocess.run([sys.executable, "-m", "forum", *args], env=env, check=True, timeout=60)


async def test_anonymous_pages(live_server: AppProcess, page: Page) -> None:
    await page.goto(live_server.url + "/login")
    await assert_accessible(page, "sign-in page")

    await page.goto(live_server.url + "/signup?invite=bogus")
    await expect(page.get_by_role("heading", name="This invite link is not valid")).to_be_visible()
    await assert_accessible(page, "sign-up page with a bad invite")

    await page.goto(live_server.url + "/forgot")
    await expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    await assert_accessible(page, "forgot-password page")

    await page.goto(live_server.url + "/reset?token=bogus")
    await expect(page.get_by_role("alert")).to_contain_text("This link is not valid")
    await assert_accessible(page, "reset page with a bad link")

    await page.goto(live_server.url + "/confirm?token=bogus")
    await expect(page.get_by_role("alert")).to_contain_text("This link is not valid")
    await assert_accessible(page, "confirm page with a bad link")

    await page.goto(live_server.url + "/")
    await assert_accessible(page, "home, anonymous")

    response = await page.goto(live_server.url + "/no/such/page")
    assert response is not None and response.status == 404
    await assert_accessible(page, "404 page")


async def test_signed_in_pages(live_server: AppProcess, page: Page) -> None:
    await sign_in(page, live_server, "admin")
    await page.goto(live_server.url + "/")
    await assert_accessible(page, "home, signed in")

    await page.goto(live_server.url + "/account")
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    await assert_accessible(page, "account page")

    await page.get_by_role("link", name="Manage your API tokens").click()
    await expect(page.get_by_role("heading", name="API tokens", exact=True)).to_be_visible()
    await page.get_by_label("Name (what will use it)").fill("backup script")
    await page.get_by_label("write: post, edit and change things as you").check()
    await page.get_by_role("button", name="Create token").click()
    await expect(page.get_by_label("Token", exact=True)).not_to_have_value("")
    await expect(page.get_by_role("button", name="Revoke backup script")).to_be_visible()
    await assert_accessible(page, "API tokens page with a new token")

    await page.goto(live_server.url + "/admin/members")
    await expect(page.get_by_role("heading", name="Members", exact=True)).to_be_visible()
    await assert_accessible(page, "admin members page")
    await page.get_by_role("link", name="Invites", exact=True).click()
    await page.get_by_role("button", name="Make invite links").click()
    await expect(page.get_by_label("The new links")).to_be_visible()
    await assert_accessible(page, "invites page with new links")
    await page.goto(live_server.url + "/admin/members")

    # The mail page (development: the file transport), with a message to open.
    forum_cli(live_server, "mail-test", "ops@example.org")
    await page.get_by_role("link", name="Outgoing mail").click()
    await expect(page.get_by_role("heading", name="Outgoing mail")).to_be_visible()
    await assert_accessible(page, "admin mail page")
    await page.get_by_role("link", name=re.compile("^Test message from")).click()
    await expect(page.get_by_text("sent by `forum mail-test`")).to_be_visible()
    await assert_accessible(page, "a message on the admin mail page")


async def test_discussion_caucus_and_moderation_pages(live_server: AppProcess, page: Page) -> None:
    await sign_in(page, live_server, "fran")
    pages = {
        "/channels": "Channels",
        "/c/statements": "Statements",
        "/c/general/new": "Start a thread in General",
        f"{live_server.thread}/reply": "Reply to “On the dissolution of the ISO”",
        "/search?q=caucus": "Search",
        "/notifications": "Notifications",
        "/caucuses": "Caucuses",
        "/moderation/log": "Moderation log",
        "/review": "Review queue",
        f"{live_server.thread}/moderate": "Moderate “On the dissolution of the ISO”",
        "/m/amara": "Amara @amara",
        "/members": "Members",
        "/members?q=am": "Members",
        "/bookmarks": "Bookmarks",
        "/appeal": "Appeal a suspension",
        "/decisions": "Decisions register",
        f"{live_server.thread}/decide": "Propose a decision",
    }
    for path, heading in pages.items():
        await page.goto(live_server.url + path)
        await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        await assert_accessible(page, path)
    await page.goto(live_server.url + "/caucuses")
    await page.get_by_label("Name", exact=True).fill("Facilitators' circle")
    await page.get_by_role("button", name="Found caucus").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Facilitators' circle")
    await assert_accessible(page, "a caucus's own page, as its convener")
