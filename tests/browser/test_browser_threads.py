"""Reading and moderating a thread in real Chromium, as members and a facilitator would."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import assert_accessible, new_page, sign_in
from tests.servers import AppProcess

pytestmark = pytest.mark.browser


@pytest.fixture
def server(live_server: AppProcess) -> AppProcess:
    return live_server


async def test_reply_collapse_and_the_unread_divider(
    browser: Browser, server: AppProcess, tmp_path: Path
) -> None:
    amara = await new_page(browser)
    await sign_in(amara, server, "amara")
    await amara.goto(f"{server.url}{server.thread}")
    await expect(amara.get_by_role("heading", level=1)).to_have_text(
        "On the dissolution of the ISO"
    )
    bo = await new_page(browser)
    await sign_in(bo, server, "bo")
    await bo.goto(f"{server.url}{server.thread}")
    await bo.get_by_label("Your reply").fill("A reply **amara** has not read yet.")
    await bo.get_by_role("button", name="Post reply").click()
    await expect(bo.locator("li.post", has_text="has not read yet")).to_be_visible()

    await amara.goto(f"{server.url}{server.thread}")
    divider = amara.get_by_text("New since your last visit")
    await expect(divider).to_be_visible()
    new_post = amara.locator("li.post.is-new", has_text="has not read yet")
    await expect(new_post).to_be_visible()
    await amara.get_by_role("link", name="Jump to first unread").click()
    await expect(divider).to_be_in_viewport()
    # Collapse the branch under amara's first post: its reply disappears, then comes back.
    branch = amara.locator("details.collapse", has_text="1 reply to @amara").first
    nested = branch.locator("ol.replies li.post").first
    await expect(nested).to_be_visible()
    await branch.locator("summary").click()
    await expect(nested).to_be_hidden()
    await branch.locator("summary").press("Enter")
    await expect(nested).to_be_visible()
    await amara.screenshot(path=tmp_path / "thread.png", full_page=True)
    assert (tmp_path / "thread.png").stat().st_size > 0
    await assert_accessible(amara, "thread with unread divider")


async def test_facilitator_hides_a_post_and_the_author_sees_why(
    browser: Browser, server: AppProcess
) -> None:
    bo = await new_page(browser)
    await sign_in(bo, server, "bo")
    await bo.goto(f"{server.url}{server.thread}")
    await bo.get_by_label("Your reply").fill("Everyone who disagrees is an idiot.")
    await bo.get_by_role("button", name="Post reply").click()
    post = bo.locator("li.post", has_text="is an idiot").first
    await expect(post).to_be_visible()
    post_id = await post.get_attribute("data-post")

    fran = await new_page(browser)
    await sign_in(fran, server, "fran")
    await fran.goto(f"{server.url}{server.thread}#p{post_id}")
    await fran.locator(f"#p{post_id}").get_by_role("link", name="Moderate").click()
    await fran.get_by_label("Reason").fill("name-calling breaks the guidelines")
    await fran.get_by_role("button", name="Hide the post").click()
    await expect(fran.locator(f"#p{post_id}")).to_contain_text(
        "Hidden by a facilitator: name-calling breaks the guidelines"
    )

    await bo.goto(f"{server.url}{server.thread}")
    mine = bo.locator(f"#p{post_id}")
    await expect(mine).to_contain_text(
        "Hidden by a facilitator: name-calling breaks the guidelines"
    )
    await mine.get_by_text("Show the hidden text").click()
    await expect(mine).to_contain_text("is an idiot")
    await bo.goto(f"{server.url}/notifications")
    await expect(
        bo.get_by_text("A post of yours was hidden: name-calling breaks the guidelines")
    ).to_be_visible()
    await bo.goto(f"{server.url}/moderation/log")
    await expect(bo.get_by_role("cell", name="name-calling breaks the guidelines")).to_be_visible()
    await assert_accessible(bo, "moderation log")

    amara = await new_page(browser)
    await sign_in(amara, server, "amara")
    await amara.goto(f"{server.url}{server.thread}")
    theirs = amara.locator(f"#p{post_id}")
    await expect(theirs).to_contain_text("Hidden by a facilitator")
    await expect(theirs).not_to_contain_text("is an idiot")
