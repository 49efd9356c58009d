"""A decision in Chromium: propose a motion by secret ballot, vote, change the vote with the
receipt, watch the count move live on another member's screen, close, state the outcome, find it
in the register; axe on every decision page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import assert_accessible, new_page, sign_in
from tests.browser.test_live import CONNECTED
from tests.servers import AppProcess

pytestmark = pytest.mark.browser
# Every active demo member reads the statement thread: the electorate of a decision there.
EVERYONE = 9


async def member_page(browser: Browser, server: AppProcess, handle: str) -> Page:
    page = await new_page(browser)
    await sign_in(page, server, handle)
    return page


async def test_a_motion_by_secret_ballot_from_proposal_to_register(
    live_server: AppProcess, browser: Browser
) -> None:
    amara = await member_page(browser, live_server, "amara")
    bo = await member_page(browser, live_server, "bo")
    await amara.goto(live_server.url + live_server.thread)
    await amara.get_by_role("link", name="Propose a decision").click()
    await expect(amara.get_by_role("heading", level=1)).to_have_text("Propose a decision")
    await assert_accessible(amara, "propose a decision")
    await amara.get_by_label("Title").fill("We endorse the statement")
    await amara.get_by_label("What is proposed").fill("The branch endorses it publicly.")
    await amara.get_by_label("Secret ballot").check()
    await amara.get_by_label("Quorum").fill(
        "20"
    )  # of the nine demo members: two ballots make quorum
    closes = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    await amara.get_by_label("Voting closes (UTC)").fill(closes)
    await amara.get_by_role("button", name="Open voting now").click()
    await expect(amara.get_by_role("heading", level=1)).to_contain_text("We endorse the statement")
    decision = amara.url
    turnout = amara.locator("#turnout")
    await expect(turnout).to_contain_text(f"0 of {EVERYONE} eligible members have voted")
    await assert_accessible(amara, "a decision open for voting")

    await bo.goto(decision)
    await bo.wait_for_function(CONNECTED)
    await expect(bo.locator("#turnout")).to_contain_text(f"0 of {EVERYONE}")

    await amara.get_by_role("radio", name=re.compile("^Agree")).check()
    await amara.get_by_role("button", name="Cast my vote").click()
    receipt = amara.locator("#receipt")
    await expect(receipt).to_be_visible()
    await assert_accessible(amara, "a decision with a ballot receipt")
    code = (await receipt.text_content() or "").strip()
    assert len(code) > 20
    # The count moves on bo's screen without a reload.
    await expect(bo.locator("#turnout")).to_contain_text(f"1 of {EVERYONE}")

    await amara.goto(decision)
    await expect(amara.get_by_role("heading", name="Change your vote")).to_be_visible()
    await amara.get_by_role("radio", name=re.compile("^Abstain")).check()
    await amara.get_by_label("Your receipt").fill(code)
    await amara.get_by_role("button", name="Change my vote").click()
    await expect(
        amara.get_by_role("status").filter(has_text="Your vote is changed")
    ).to_be_visible()

    await bo.get_by_role("radio", name=re.compile("^Agree")).check()
    await bo.get_by_role("button", name="Cast my vote").click()
    await expect(bo.locator("#receipt")).to_be_visible()

    await amara.goto(decision)
    await amara.wait_for_function(CONNECTED)
    await amara.get_by_label("Reason for closing now").fill("Both voters of the branch voted")
    await amara.get_by_role("button", name="Close voting now").click()
    outcome = amara.locator("#outcome")
    await expect(outcome).to_contain_text("Carried")
    await expect(outcome.get_by_role("row", name=re.compile("Agree 1"))).to_be_visible()
    await assert_accessible(amara, "a closed decision")
    await amara.get_by_label("Write the outcome statement").fill(
        "Endorsed; the secretary posts it."
    )
    await amara.get_by_role("button", name="Save the statement").click()
    await expect(amara.locator("#outcome")).to_contain_text("the secretary posts it")

    await amara.goto(live_server.url + "/decisions?q=endorse")
    await expect(amara.get_by_role("link", name="We endorse the statement")).to_be_visible()
    await expect(amara.locator(".register")).to_contain_text("Carried")
    await assert_accessible(amara, "decisions register")
    await amara.context.close()
    await bo.context.close()


async def propose(page: Page, server: AppProcess, kind: str, title: str, options: str) -> str:
    await page.goto(server.url + server.thread + "/decide")
    await page.get_by_role("radio", name=re.compile(f"^{kind}")).check()
    await page.get_by_label("Title").fill(title)
    await page.get_by_label("Options, one a line").fill(options)
    await page.get_by_label("Threshold").select_option("plurality")
    closes = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    await page.get_by_label("Voting closes (UTC)").fill(closes)
    await page.get_by_role("button", name="Open voting now").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    return page.url


async def test_a_ranked_choice_and_a_time_poll(live_server: AppProcess, browser: Browser) -> None:
    amara = await member_page(browser, live_server, "amara")
    bo = await member_page(browser, live_server, "bo")
    ranked = await propose(amara, live_server, "Ranked choice", "Delegate", "Asha\nBea\nCal")
    # amara: Bea, then Cal; bo: Bea. Bea has a majority of first preferences.
    await amara.get_by_label("Bea").select_option("1")
    await amara.get_by_label("Cal").select_option("2")
    await amara.get_by_role("button", name="Cast my vote").click()
    await expect(
        amara.get_by_role("status").filter(has_text="Your vote is counted")
    ).to_be_visible()
    await bo.goto(ranked)
    await bo.get_by_label("Bea").select_option("1")
    await bo.get_by_label("Asha").select_option("1")
    await bo.get_by_role("button", name="Cast my vote").click()
    await expect(bo.get_by_text("Give each rank to one option only.")).to_be_visible()
    await bo.get_by_label("Asha").select_option("")
    await bo.get_by_role("button", name="Cast my vote").click()
    await expect(bo.get_by_role("status").filter(has_text="Your vote is counted")).to_be_visible()
    await amara.goto(ranked)
    await amara.get_by_label("Reason for closing now").fill("Both have ranked")
    await amara.get_by_role("button", name="Close voting now").click()
    outcome = amara.locator("#outcome")
    await expect(outcome).to_contain_text("Chosen: Bea")
    await expect(
        outcome.get_by_role("table", name=re.compile("Rounds of the count"))
    ).to_be_visible()
    await assert_accessible(amara, "a closed ranked choice with its rounds")

    timed = await propose(amara, live_server, "Time poll", "Next meeting", "Mon 18:00\nTue 19:00")
    await amara.get_by_label("Mon 18:00").check()
    await amara.get_by_label("Tue 19:00").check()
    await amara.get_by_role("button", name="Cast my vote").click()
    await bo.goto(timed)
    await bo.get_by_label("Tue 19:00").check()
    await bo.get_by_role("button", name="Cast my vote").click()
    await expect(bo.get_by_role("status").filter(has_text="Your vote is counted")).to_be_visible()
    await amara.goto(timed)
    await amara.get_by_label("Reason for closing now").fill("Everyone answered")
    await amara.get_by_role("button", name="Close voting now").click()
    await expect(amara.locator("#outcome")).to_contain_text("Chosen: Tue 19:00")
    await amara.context.close()
    await bo.context.close()
