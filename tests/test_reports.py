"""Confidential reports as members meet them over HTTP: filing, the case and its consent
checkpoints, escrow, recusal and the alternate body, the separation of powers, and privacy."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette

from forum.models import CaseEntry, ModerationAction, Notification, Report
from forum.services import channels
from tests.conftest import make_member, post_form, signed_in
from tests.test_moderation import thread_with_post

REASON = "elected at the general meeting"


async def seat(admin: httpx.AsyncClient, handle: str, body: str = "committee") -> None:
    response = await post_form(
        admin,
        "/admin/committee",
        {"handle": handle, "action": "add", "body": body, "reason": REASON},
        page="/admin/committee",
    )
    assert response.status_code == 303, response.text


async def report(
    client: httpx.AsyncClient, body: str, level: str = "formal", respondents: str = "", **extra: str
) -> httpx.Response:
    return await post_form(
        client,
        "/reports",
        {"body": body, "level": level, "respondents": respondents, **extra},
        page="/reports/new",
    )


def case_id(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/reports/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def act(client: httpx.AsyncClient, rid: int, verb: str, **data: str) -> httpx.Response:
    return await post_form(client, f"/reports/{rid}/{verb}", data, page=f"/reports/{rid}")


async def test_a_report_from_a_post_to_its_closing_with_consent(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    admin = await signed_in(app, "ada", "admin")
    rae = await signed_in(app, "rae")  # reporter
    sam = await signed_in(app, "sam")  # respondent
    cleo = await signed_in(app, "cleo")  # committee
    await seat(admin, "cleo")
    roster = await rae.get("/committee")
    assert "@cleo" in roster.text
    _, pid = await thread_with_post(sam, "a cruel remark")
    thread_page = await rae.get(f"/p/{pid}", follow_redirects=True)
    assert f"/reports/new?post={pid}" in thread_page.text
    rid = case_id(await report(rae, "He mocked me twice.", respondents="@sam", post_id=str(pid)))
    page = await rae.get(f"/reports/{rid}")
    assert "He mocked me twice." in page.text and "Received" in page.text
    # The committee member is told, without any detail, and finds the case.
    note = await Notification.get(member__handle="cleo", kind="report", url=f"/reports/{rid}")
    assert note.text == "A committee case has an update"
    assert f"/reports/{rid}" in (await cleo.get("/reports")).text
    assert (await act(cleo, rid, "acknowledge")).status_code == 303
    # No informing and no enacted outcome before the reporter says yes.
    early = await act(cleo, rid, "inform_respondent")
    assert early.status_code == 409 and "has not said yes" in early.text
    early_close = await act(cleo, rid, "close", outcome="warning", text="a warning")
    assert early_close.status_code == 409
    assert (await act(cleo, rid, "ask_consent", text="May we talk to @sam?")).status_code == 303
    assert (await act(rae, rid, "consent_no")).status_code == 303
    assert (await act(cleo, rid, "inform_respondent")).status_code == 409
    assert (await act(cleo, rid, "ask_consent", text="And now?")).status_code == 303
    assert (await act(rae, rid, "consent_yes")).status_code == 303
    assert (await act(cleo, rid, "inform_respondent")).status_code == 303
    assert (await act(cleo, rid, "record_response", text="He apologised.")).status_code == 303
    no_reason = await act(cleo, rid, "close", outcome="warning", text="  ")
    assert no_reason.status_code == 400 and "Give a reason" in no_reason.text
    no_outcome = await act(cleo, rid, "close", outcome="", text="done")
    assert no_outcome.status_code == 400 and "Choose an outcome" in no_outcome.text
    closed = await act(cleo, rid, "close", outcome="warning", text="A written warning.")
    assert closed.status_code == 303
    page = await rae.get(f"/reports/{rid}")
    for step in (
        "Acknowledged by the committee",
        "The reporter said no",
        "The reporter said yes",
        "The respondent was informed",
        "He apologised.",
        "Closed: Warning to the respondent",
        "A written warning.",
    ):
        assert step in page.text, (step, page.text[page.text.find("Timeline") :][:3000])
    # The reporter was told at each step, never with any detail.
    texts = set(await Notification.filter(member__handle="rae").values_list("text", flat=True))
    assert texts == {"Your report has an update"}
    # Nobody can act on a closed case; the reporter can still erase their words.
    assert (await act(cleo, rid, "message", text="one more")).status_code == 409
    assert (await act(rae, rid, "erase")).status_code == 303
    page = await rae.get(f"/reports/{rid}")
    assert "He mocked me twice." not in page.text and "text erased" in page.text
    assert "A written warning." in page.text


async def test_the_case_is_invisible_to_everyone_else(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    fac = await signed_in(app, "fran", "facilitator")
    rae = await signed_in(app, "rae")
    sam = await signed_in(app, "sam")
    cleo = await signed_in(app, "cleo")
    other = await signed_in(app, "otto")
    await seat(admin, "cleo")
    rid = case_id(await report(rae, "secret words", respondents="sam"))
    for client in (admin, fac, sam, other):
        missing = await client.get("/reports/12345")
        page = await client.get(f"/reports/{rid}")
        assert page.status_code == 404 and page.text == missing.text
        listing = await client.get("/reports")
        assert f"/reports/{rid}" not in listing.text
        refused = await act(client, rid, "message", text="hello")
        assert refused.status_code == 404
        found = await client.get("/search", params={"q": "secret"})
        assert "secret words" not in found.text
    anonymous = await httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ).get(f"/reports/{rid}")
    assert anonymous.status_code in (303, 401, 404)
    assert "secret" not in (await admin.get("/moderation/log")).text
    assert (await cleo.get(f"/reports/{rid}")).status_code == 200
    # The text is not in the database in the clear.
    entry = await CaseEntry.get(report_id=rid, kind="filed")
    assert entry.ciphertext and "secret" not in entry.ciphertext


async def test_escrow_waits_for_another_reporter(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    rae = await signed_in(app, "rae")
    una = await signed_in(app, "una")
    await make_member("sam")
    cleo = await signed_in(app, "cleo")
    await seat(admin, "cleo")
    first = case_id(await report(rae, "held one", level="escrow", respondents="sam"))
    assert "Held (only you can see it)" in (await rae.get(f"/reports/{first}")).text
    assert (await cleo.get(f"/reports/{first}")).status_code == 404
    assert f"/reports/{first}" not in (await cleo.get("/reports")).text
    # The same reporter again: still held, both.
    second = case_id(await report(rae, "held two", level="escrow", respondents="sam"))
    assert (await cleo.get(f"/reports/{second}")).status_code == 404
    assert not await Notification.filter(
        member__handle="cleo", kind="report", url__startswith="/reports"
    ).exists()
    assert "0</strong> open now" in (await cleo.get("/reports/transparency")).text
    # Another member names the same person: the held reports go to the committee.
    third = case_id(await report(una, "me too", level="escrow", respondents="@Sam"))
    for rid in (first, second, third):
        page = await cleo.get(f"/reports/{rid}")
        assert page.status_code == 200, rid
        assert "Released to the committee" in page.text
    assert "3</strong> open now" in (await cleo.get("/reports/transparency")).text


async def test_recusal_and_the_alternate_body(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    rae = await signed_in(app, "rae")
    cleo = await signed_in(app, "cleo")
    dan = await signed_in(app, "dan")
    alma = await signed_in(app, "alma")
    await seat(admin, "cleo")
    await seat(admin, "dan")
    await seat(admin, "alma", "alternate")
    # A report naming a committee member goes to the alternate body; cleo never sees it.
    named = case_id(await report(rae, "about cleo", respondents="cleo"))
    assert (await cleo.get(f"/reports/{named}")).status_code == 404
    assert (await dan.get(f"/reports/{named}")).status_code == 404
    assert (await alma.get(f"/reports/{named}")).status_code == 200
    assert not await Notification.filter(member__handle="cleo", text__contains="case").exists()
    # A committee member steps aside; when nobody is left, the alternate body takes it.
    rid = case_id(await report(rae, "about nobody on it"))
    assert (await alma.get(f"/reports/{rid}")).status_code == 404
    assert (await act(cleo, rid, "declare_conflict")).status_code == 303
    assert (await cleo.get(f"/reports/{rid}")).status_code == 404
    assert (await act(cleo, rid, "message", text="x")).status_code == 404
    assert (await dan.get(f"/reports/{rid}")).status_code == 200
    assert (await act(dan, rid, "declare_conflict")).status_code == 303
    page = await alma.get(f"/reports/{rid}")
    assert page.status_code == 200 and "Passed to the alternate body" in page.text
    assert f"/reports/{rid}" not in (await dan.get("/reports")).text


async def test_admin_and_committee_seat_exclude_each_other(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    await signed_in(app, "boss", "admin")
    await signed_in(app, "cleo")
    refused = await post_form(
        admin,
        "/admin/committee",
        {"handle": "boss", "action": "add", "body": "committee", "reason": REASON},
        page="/admin/committee",
    )
    assert refused.status_code == 400 and "An admin cannot sit on the committee" in refused.text
    await seat(admin, "cleo")
    promote = await post_form(
        admin, "/admin/members/cleo/role", {"role": "admin"}, page="/admin/members"
    )
    assert promote.status_code in (400, 403)
    assert "committee member cannot be an admin" in promote.text
    # Every roster change is public and reasoned.
    log = await admin.get("/moderation/log")
    assert "committee.add" in log.text.replace(" ", "") or "committee" in log.text
    assert await ModerationAction.filter(action="committee.add", reason=REASON).exists()
    told = await Notification.filter(member__handle="cleo", kind="report").values_list(
        "text", "url"
    )
    assert told == [("The committee roster changed", "/committee")]
    # Members who are not admins cannot reach the admin page.
    member = await signed_in(app, "otto")
    assert (await member.get("/admin/committee")).status_code == 404


async def test_bad_input_gets_clear_errors_and_keeps_the_text(app: Starlette) -> None:
    rae = await signed_in(app, "rae")
    huge = await report(rae, "x" * 20_001)
    assert huge.status_code == 400 and "At most 20,000 characters" in huge.text
    unknown = await report(rae, "words kept", respondents="@nobody_here")
    assert unknown.status_code == 400 and "There is no member @nobody_here" in unknown.text
    assert "words kept" in unknown.text
    myself = await report(rae, "about me", respondents="rae")
    assert myself.status_code == 400 and "cannot name yourself" in myself.text
    no_level = await report(rae, "no level", level="sometimes")
    assert no_level.status_code == 400
    bad_verb = await post_form(rae, "/reports/1/explode", {}, page="/reports")
    assert bad_verb.status_code == 404
    assert await Report.all().count() == 0


async def test_the_demo_has_a_committee_an_alternate_and_a_case(
    app: Starlette, settings: object
) -> None:
    from forum.security import Hasher, Throttle
    from forum.services import demo
    from forum.services.context import Services
    from tests.conftest import login, make_client

    await demo.load(Services(settings, Hasher(1), Throttle(None)))  # type: ignore[arg-type]
    amara = make_client(app)
    await login(amara, "amara", demo.DEMO_PASSWORD)
    roster = await amara.get("/committee")
    assert "@cass" in roster.text and "@dee" in roster.text and "@eli" in roster.text
    mine = await amara.get("/reports")
    rid = int(re.search(r'href="/reports/(\d+)"', mine.text).group(1))  # type: ignore[union-attr]
    case = await amara.get(f"/reports/{rid}")
    assert "Acknowledged by the committee" in case.text and "in person or by phone" in case.text
    admin = make_client(app)
    await login(admin, "admin", demo.DEMO_PASSWORD)
    assert (await admin.get(f"/reports/{rid}")).status_code == 404


async def test_pending_and_suspended_members_can_still_report(app: Starlette) -> None:
    from tests.conftest import PASSWORD, csrf_token, make_client

    admin = await signed_in(app, "ada", "admin")
    cleo = await signed_in(app, "cleo")
    await seat(admin, "cleo")
    await make_member("sus", status="suspended")
    await make_member("pen", status="pending")
    await make_member("act")
    visitor = make_client(app)
    assert "/reports/locked" in (await visitor.get("/login")).text
    form = {"level": "formal", "body": "It has to be heard.", "respondents": "ada"}
    for handle in ("sus", "pen"):
        token = await csrf_token(visitor, "/reports/locked")
        sent = await visitor.post(
            "/reports/locked", data={**form, "handle": handle, "password": PASSWORD, "csrf": token}
        )
        assert sent.status_code == 200 and "Your report was received" in sent.text, sent.text
    for handle, password in (("act", PASSWORD), ("sus", "wrong password!"), ("nobody", "x")):
        token = await csrf_token(visitor, "/reports/locked")
        refused = await visitor.post(
            "/reports/locked",
            data={**form, "handle": handle, "password": password, "csrf": token},
        )
        assert refused.status_code == 400 and "pending or suspended" in refused.text
        assert "It has to be heard." in refused.text  # nothing lost
    handled = await cleo.get("/reports")
    assert len(re.findall(r'href="/reports/\d+"', handled.text)) == 2
    assert await Report.filter(reporter__handle_key__in=["sus", "pen"]).count() == 2


async def test_the_case_page_costs_the_same_queries_however_long_the_case(app: Starlette) -> None:
    import logging

    admin = await signed_in(app, "ada", "admin")
    rae = await signed_in(app, "rae")
    cleo = await signed_in(app, "cleo")
    await seat(admin, "cleo")
    short = case_id(await report(rae, "short case", respondents="ada"))
    long = case_id(await report(rae, "long case", respondents="ada"))
    for n in range(30):
        await act(cleo if n % 2 else rae, long, "message", text=f"message {n}")
    seen: list[str] = []

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger = logging.getLogger("tortoise.db_client")
    handler, level = Count(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    counts = []
    try:
        for rid in (short, long, short, long):
            seen.clear()
            page = await cleo.get(f"/reports/{rid}")
            assert page.status_code == 200
            counts.append(len(seen))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert counts[2] == counts[3], counts
    assert counts[3] <= 12, counts


async def test_an_overdue_case_is_marked_for_its_reporter_and_counted(app: Starlette) -> None:
    from datetime import UTC, datetime, timedelta

    admin = await signed_in(app, "ada", "admin")
    rae = await signed_in(app, "rae")
    await signed_in(app, "cleo")
    await seat(admin, "cleo")
    rid = case_id(await report(rae, "nobody answered"))
    page = await rae.get(f"/reports/{rid}")
    assert "overdue" not in page.text and "Acknowledge by" in page.text
    counts = await rae.get("/reports/transparency")
    assert "<strong>1</strong> open now, <strong>0</strong> overdue" in counts.text
    await Report.filter(id=rid).update(released_at=datetime.now(UTC) - timedelta(days=3))
    page = await rae.get(f"/reports/{rid}")
    assert "This case is overdue" in page.text
    counts = await admin.get("/reports/transparency")
    assert "<strong>1</strong> open now, <strong>1</strong> overdue" in counts.text
    assert "nobody answered" not in counts.text and "rae" not in counts.text.split("</header>")[1]


async def test_a_report_from_a_caucus_post_carries_no_caucus_text(app: Starlette) -> None:
    from tests.test_caucuses import found

    admin = await signed_in(app, "ada", "admin")
    amara = await signed_in(app, "amara")
    outsider = await signed_in(app, "otto")
    cleo = await signed_in(app, "cleo")
    await seat(admin, "cleo")
    bo = await signed_in(app, "bo")
    slug = await found(amara, "Survivors", listed=False, join_policy="invite")
    assert (await post_form(amara, f"/caucuses/{slug}/invite", {"handle": "bo"})).status_code == 303
    assert (await post_form(bo, f"/caucuses/{slug}/accept", {})).status_code == 303
    _, pid = await thread_with_post(bo, "caucus-only words", slug=f"{slug}-talk")
    page = await amara.get(f"/p/{pid}", follow_redirects=True)
    assert f"/reports/new?post={pid}" in page.text
    rid = case_id(await report(amara, "my own words", post_id=str(pid)))
    seen = await cleo.get(f"/reports/{rid}")
    assert "my own words" in seen.text and "caucus-only words" not in seen.text
    assert "Survivors" not in seen.text
    # An outsider naming the hidden post's id gets what a missing id gets: no link kept.
    theirs = case_id(await report(outsider, "about a post", post_id=str(pid)))
    assert (await Report.get(id=theirs)).post_id is None
    assert (await Report.get(id=rid)).post_id == pid
