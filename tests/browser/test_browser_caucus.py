"""A caucus in real Chromium: founded unlisted, a second member joins, they discuss, and an
admin browsing everything finds no trace of it."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import assert_accessible, new_page, sign_in
from tests.servers import AppProcess

pytestmark = pytest.mark.browser

SECRET = "Our safety plan for the conference"


@pytest.fixture
def server(live_server: AppProcess) -> AppProcess:
    return live_server


async def test_unlisted_caucus_leaves_no_trace_for_an_admin(
    browser: Browser, server: AppProcess
) -> None:
    amara = await new_page(browser)
    await sign_in(amara, server, "amara")
    await amara.goto(f"{server.url}/caucuses")
    await amara.get_by_label("Name", exact=True).fill("Survivors")
    await amara.get_by_label("Description", exact=True).fill("A place to organise safely.")
    await amara.get_by_label("Unlisted: invisible to everyone outside it").check()
    await amara.get_by_label("By invitation only").check()
    await amara.get_by_role("button", name="Found caucus").click()
    await expect(amara.get_by_role("heading", level=1)).to_contain_text("Survivors")
    caucus_url = amara.url
    await amara.get_by_label("Invite by handle").fill("bo")
    await amara.get_by_role("button", name="Invite", exact=True).click()

    bo = await new_page(browser)
    await sign_in(bo, server, "bo")
    await bo.goto(f"{server.url}/notifications")
    await bo.get_by_role("link", name="@amara invited you to join Survivors").click()
    await bo.get_by_role("button", name="Accept and join").click()
    await expect(bo.get_by_text("Done: joined.")).to_be_visible()
    await bo.get_by_role("link", name="Start a thread").click()
    await bo.get_by_label("Title").fill(SECRET)
    await bo.get_by_label("First post").fill("Who can take the first shift, @amara?")
    await bo.get_by_role("button", name="Start thread").click()
    await expect(bo.get_by_role("heading", level=1)).to_have_text(SECRET)
    thread_url = bo.url
    await amara.goto(thread_url)
    await amara.get_by_label("Your reply").fill("I can, from nine.")
    await amara.get_by_role("button", name="Post reply").click()
    await expect(amara.locator("li.post", has_text="I can, from nine.")).to_be_visible()
    await assert_accessible(amara, "caucus thread")

    admin = await new_page(browser)
    await sign_in(admin, server, "admin")
    await admin.goto(f"{server.url}/caucuses")
    await expect(admin.get_by_text("Survivors")).to_have_count(0)
    for url in (caucus_url, thread_url):
        response = await admin.goto(url)
        assert response is not None and response.status == 404
        await expect(admin.get_by_role("heading", level=1)).to_have_text("Not found")
    await admin.goto(f"{server.url}/search?q=safety+plan")
    await expect(admin.get_by_text("Nothing found")).to_be_visible()
    await admin.goto(f"{server.url}/")
    await expect(admin.get_by_text(SECRET)).to_have_count(0)
    thread_id = int(thread_url.rsplit("/", 1)[1])
    # Ids are random: probe the first few and the neighbours of the hidden thread's own.
    for guess in [*range(1, 6), *range(thread_id - 3, thread_id + 4)]:
        response = await admin.goto(f"{server.url}/t/{guess}")
        assert response is not None
        assert SECRET not in await admin.content()
    api = await admin.request.get(f"{server.url}/api/v1/caucuses")
    assert "Survivors" not in await api.text()
    await admin.goto(f"{server.url}/notifications")
    await expect(admin.get_by_text("Survivors")).to_have_count(0)
