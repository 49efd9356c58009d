"""Reactions, bookmarks and profiles in real Chromium: a reaction shows up live on another
member's page, a bookmark is found on the Bookmarks page, a byline opens its author's profile,
and these pages pass axe and fit a phone."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import assert_accessible, new_page, sign_in
from tests.servers import AppProcess

pytestmark = pytest.mark.browser

CONNECTED = "() => window.forumLive?.socket?.readyState === WebSocket.OPEN"
PHONE = {"width": 390, "height": 844}


async def test_react_live_bookmark_and_open_a_profile(
    live_server: AppProcess, browser: Browser
) -> None:
    amara = await new_page(browser)
    bo = await new_page(browser)
    await sign_in(amara, live_server, "amara")
    await sign_in(bo, live_server, "bo")
    for page in (amara, bo):
        await page.goto(live_server.url + live_server.thread)
        await page.wait_for_function(CONNECTED)

    post = "ol.posts > li.post:has-text('Survivor-centred processes')"
    mine = amara.locator(post).locator(":scope > article .reactions")
    theirs = bo.locator(post).locator(":scope > article .reactions")
    # Nobody has reacted: only "React", which opens the choice of every kind in place.
    await expect(mine.locator(":scope > button.reaction")).to_have_count(0)
    react = mine.get_by_role("link", name="React")
    await react.click()
    picker = mine.get_by_role("group", name="Choose a reaction")
    await expect(picker.get_by_role("button")).to_have_count(5)
    await expect(picker.get_by_role("button", name="Agree")).to_be_focused()
    await assert_accessible(amara, "the reaction picker")
    # Escape closes it and gives the focus back; a choice closes it too.
    await amara.keyboard.press("Escape")
    await expect(picker).to_have_count(0)
    await expect(react).to_be_focused()
    await react.click()
    await picker.get_by_role("button", name="Agree").click()
    await expect(picker).to_have_count(0)
    agree = mine.locator(":scope > button.reaction", has_text="Agree")
    await expect(agree).to_have_attribute("aria-pressed", "true")
    await expect(agree).to_contain_text("1")
    # Bo's page counts it without a reload, and Bo's own button is not pressed.
    their_agree = theirs.get_by_role("button", name="Agree")
    await expect(their_agree).to_contain_text("1")
    await expect(their_agree).to_have_attribute("aria-pressed", "false")
    await expect(theirs.get_by_role("link", name="Who reacted")).to_be_visible()
    # Bo adds one too: both pages show two.
    await their_agree.click()
    await expect(agree).to_contain_text("2")
    await expect(their_agree).to_have_attribute("aria-pressed", "true")
    await assert_accessible(bo, "a thread with reactions")

    # A reply pushed live carries Bo's reaction buttons and bookmark, as a reload would.
    await amara.locator("#body").fill("Live posts take reactions too")
    await amara.get_by_role("button", name="Post reply").click()
    pushed = bo.locator("ol.posts li.post", has_text="Live posts take reactions too")
    await expect(pushed.locator(".reactions").get_by_role("link", name="React")).to_be_visible()
    await expect(pushed.get_by_role("button", name="Bookmark")).to_be_visible()
    await pushed.locator(".reactions").get_by_role("link", name="React").click()
    await (
        pushed.get_by_role("group", name="Choose a reaction")
        .get_by_role("button", name="Solidarity")
        .click()
    )
    solidarity = pushed.locator(".reactions > button.reaction", has_text="Solidarity")
    await expect(solidarity).to_have_attribute("aria-pressed", "true")
    await expect(solidarity).to_contain_text("1")
    # Amara's page draws the new pill without a reload, not pressed for Amara.
    theirs_pushed = amara.locator("ol.posts li.post", has_text="Live posts take reactions too")
    amara_solidarity = theirs_pushed.locator(".reactions > button.reaction", has_text="Solidarity")
    await expect(amara_solidarity).to_contain_text("1")
    await expect(amara_solidarity).to_have_attribute("aria-pressed", "false")

    await theirs.get_by_role("link", name="Who reacted").click()
    await expect(bo.get_by_role("heading", level=1)).to_have_text("Reactions")
    await expect(bo.get_by_role("heading", name="Agree (2)")).to_be_visible()
    # Bo may react, so the page also offers the choice, Bo's own pressed.
    await expect(bo.get_by_role("heading", name="Your reaction")).to_be_visible()
    await expect(bo.get_by_role("button", name="Agree")).to_have_attribute("aria-pressed", "true")
    await assert_accessible(bo, "who reacted")

    # Bookmark, then find it on the Bookmarks page.
    await bo.goto(live_server.url + live_server.thread)
    mark = (
        bo.locator(post)
        .locator(":scope > article nav.post-actions")
        .get_by_role("button", name="Bookmark")
    )
    await mark.click()
    await expect(mark).to_have_text("Bookmarked")
    await expect(mark).to_have_attribute("aria-pressed", "true")
    await bo.get_by_role("banner").get_by_role("link", name="Bookmarks").click()
    await expect(bo.get_by_role("heading", level=1)).to_have_text("Bookmarks")
    await expect(bo.locator("#bookmark-list")).to_contain_text("Survivor-centred processes")
    await assert_accessible(bo, "bookmarks page")

    # A byline opens its author's profile.
    await bo.goto(live_server.url + live_server.thread)
    await (
        bo.locator(post)
        .locator(":scope > article .post-meta")
        .get_by_role("link", name="Amara")
        .first.click()
    )
    await expect(bo.get_by_role("heading", level=1)).to_contain_text("@amara")
    await expect(bo.get_by_role("heading", name="Recent posts")).to_be_visible()
    await assert_accessible(bo, "a profile")

    await bo.get_by_role("banner").get_by_role("link", name="Members").click()
    await expect(bo.get_by_role("heading", level=1)).to_have_text("Members")
    await bo.get_by_label("Find a member by handle or name").fill("ama")
    await bo.get_by_role("button", name="Find").click()
    await expect(bo.locator("#member-list")).to_contain_text("@amara")
    await assert_accessible(bo, "member directory")
    for page in (amara, bo):
        await page.context.close()


async def test_reacting_and_bookmarking_work_without_javascript(
    live_server: AppProcess, browser: Browser
) -> None:
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await sign_in(page, live_server, "bo")
    await page.goto(live_server.url + live_server.thread)
    post = page.locator("ol.posts > li.post:has-text('Survivor-centred processes')")
    # Without JavaScript "React" is a link to the full choice.
    await post.locator(":scope > article .reactions").get_by_role("link", name="React").click()
    await expect(page.get_by_role("heading", name="Your reaction")).to_be_visible()
    await page.get_by_role("button", name="Thanks").click()
    # Back at the post, the count and the pressed state drawn by the server.
    thanks = post.locator(":scope > article .reactions").get_by_role("button", name="Thanks")
    await expect(thanks).to_have_attribute("aria-pressed", "true")
    await expect(thanks).to_contain_text("1")
    assert "#p" in page.url
    await (
        post.locator(":scope > article nav.post-actions")
        .get_by_role("button", name="Bookmark")
        .click()
    )
    await page.goto(live_server.url + "/bookmarks")
    await expect(page.locator("#bookmark-list")).to_contain_text("Survivor-centred processes")
    await context.close()


async def test_member_pages_fit_a_phone(live_server: AppProcess, browser: Browser) -> None:
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await sign_in(page, live_server, "amara")
    await page.goto(live_server.url + "/account")
    await page.get_by_label("Pronouns").fill("she/her")
    await page.get_by_label("About you").fill(
        "Tenant organiser. " + "Averylongwordwithoutspaces" * 6
    )
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.get_by_role("status")).to_contain_text("Your profile is saved")
    await page.goto(live_server.url + live_server.thread)
    bar = page.locator("ol.posts > li.post").first.locator(":scope > article .reactions")
    await bar.get_by_role("link", name="React").click()
    await (
        bar.get_by_role("group", name="Choose a reaction")
        .get_by_role("button", name="Thinking")
        .click()
    )
    await expect(bar.locator(":scope > button.reaction", has_text="Thinking")).to_have_attribute(
        "aria-pressed", "true"
    )
    post_id = await page.locator("ol.posts > li.post").first.get_attribute("data-post")
    for path in (
        live_server.thread,
        "/m/amara",
        "/members",
        "/bookmarks",
        f"/p/{post_id}/reactions",
    ):
        await page.goto(live_server.url + path)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide on a 390 px screen"
    await context.close()
