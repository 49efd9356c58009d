"""Facilitation as members, facilitators and conveners meet it: flags, the queue, actions with
reasons, appeals, posting limits and the public log."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from forum.models import ModerationAction, Post, ReviewItem, Thread
from forum.services import channels
from forum.settings import Settings
from tests.conftest import make_client, post_form, signed_in


async def thread_with_post(
    author: httpx.AsyncClient, body: str = "a heated post", slug: str = "general"
) -> tuple[int, int]:
    made = await post_form(
        author, f"/c/{slug}/threads", {"title": "Debate", "body": "opening"}, page=f"/c/{slug}/new"
    )
    assert made.status_code == 303, made.text
    tid = int(made.headers["location"].rsplit("/", 1)[1])
    response = await post_form(author, f"/t/{tid}/posts", {"body": body}, page=f"/t/{tid}")
    return tid, int(response.headers["location"].rsplit("/", 1)[1])


async def test_flag_review_hide_appeal_and_the_public_log(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    author = await signed_in(app, "amara")
    flagger = await signed_in(app, "bo")
    other = await signed_in(app, "cy")
    fran = await signed_in(app, "fran", "facilitator")
    tid, pid = await thread_with_post(author, "you are all fools")
    # A member flags; the facilitator finds it in the queue with the reason.
    missing_note = await post_form(flagger, f"/p/{pid}/flag", {"reason": "other"})
    assert missing_note.status_code == 400 and "Say what is wrong" in missing_note.text
    flagged = await post_form(flagger, f"/p/{pid}/flag", {"reason": "harassment"})
    assert flagged.status_code == 303
    await post_form(other, f"/p/{pid}/flag", {"reason": "off_topic"})
    again = await post_form(flagger, f"/p/{pid}/flag", {"reason": "spam"})
    assert again.status_code == 400 and "already flagged" in again.text
    assert await ReviewItem.filter(post_id=pid).count() == 1
    queue = await fran.get("/review")
    assert "2 flags: harassment or abuse, off-topic" in queue.text
    assert "you are all fools" in queue.text
    item = await ReviewItem.get(post_id=pid)
    assert (
        await post_form(fran, f"/review/{item.id}/claim", {}, page="/review")
    ).status_code == 303
    assert "Claimed by @fran" in (await fran.get("/review")).text
    # Hiding needs a reason; the author sees why, others see the notice without the text.
    no_reason = await post_form(fran, f"/p/{pid}/hide", {"reason": "  "}, page="/review")
    assert no_reason.status_code == 400 and "Give a reason" in no_reason.text
    hidden = await post_form(
        fran, f"/p/{pid}/hide", {"reason": "insulting other members"}, page="/review"
    )
    assert hidden.status_code == 303
    twice = await post_form(fran, f"/p/{pid}/hide", {"reason": "again"}, page="/review")
    assert twice.status_code == 400 and "already hidden" in twice.text
    reader_view = await other.get(f"/t/{tid}")
    assert "Hidden by a facilitator: insulting other members" in reader_view.text
    assert "you are all fools" not in reader_view.text
    author_view = await author.get(f"/t/{tid}")
    assert "Hidden by a facilitator: insulting other members" in author_view.text
    assert "you are all fools" in author_view.text and "as its author" in author_view.text
    assert (
        "A post of yours was hidden: insulting other members"
        in (await author.get("/notifications")).text
    )
    outcome = await flagger.get("/notifications")
    assert "Your flag was reviewed and acted on: insulting other members" in outcome.text
    assert "Nothing waiting" in (await fran.get("/review")).text
    assert "insulting other members" in (await fran.get("/review?status=resolved")).text
    # The author appeals once, into the queue.
    appealed = await post_form(
        author,
        f"/p/{pid}/appeal",
        {"note": "it was a joke among friends"},
        page=f"/p/{pid}/moderate",
    )
    assert appealed.status_code == 303
    twice = await post_form(
        author, f"/p/{pid}/appeal", {"note": "please"}, page=f"/p/{pid}/moderate"
    )
    assert twice.status_code == 400 and "already appealed" in twice.text
    assert "it was a joke among friends" in (await fran.get("/review")).text
    # Any member reads the act and its reason in the log, never the hidden text.
    log = await other.get("/moderation/log")
    assert "hide post" in log.text and "insulting other members" in log.text and "@fran" in log.text
    assert "you are all fools" not in log.text
    restored = await post_form(
        fran, f"/p/{pid}/restore", {"reason": "appeal accepted"}, page="/review"
    )
    assert restored.status_code == 303
    assert "you are all fools" in (await other.get(f"/t/{tid}")).text
    assert (
        "Your appeal was reviewed and acted on: appeal accepted"
        in (await author.get("/notifications")).text
    )
    not_hidden = await post_form(fran, f"/p/{pid}/restore", {"reason": "x"}, page="/review")
    assert not_hidden.status_code == 400 and "not hidden" in not_hidden.text


async def test_members_cannot_moderate_and_caucus_flags_stay_in_the_caucus(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    fran = await signed_in(app, "fran", "facilitator")
    admin = await signed_in(app, "ada", "admin")
    _tid, pid = await thread_with_post(amara)
    refused = await post_form(bo, f"/p/{pid}/hide", {"reason": "I dislike it"})
    assert refused.status_code == 403
    assert (await bo.get("/review")).status_code == 403
    founded = await post_form(
        amara,
        "/caucuses",
        {"name": "Black Members", "listed": "0", "join_policy": "invite"},
        page="/caucuses",
    )
    slug = founded.headers["location"].rsplit("/", 1)[1]
    await post_form(amara, f"/caucuses/{slug}/invite", {"handle": "bo"})
    await post_form(bo, f"/caucuses/{slug}/accept", {})
    _ctid, cpid = await thread_with_post(bo, "a caucus post", slug=f"{slug}-talk")
    assert (await post_form(amara, f"/p/{cpid}/flag", {"reason": "spam"})).status_code == 303
    for outsider in (fran, admin):
        queue = await outsider.get("/review")
        assert "a caucus post" not in queue.text and "Debate" not in queue.text.split("<h1>")[1]
        assert (
            await post_form(outsider, f"/p/{cpid}/hide", {"reason": "x"}, page="/review")
        ).status_code == 404
    convener_queue = await amara.get("/review")
    assert "a caucus post" in convener_queue.text
    hidden = await post_form(
        amara, f"/p/{cpid}/hide", {"reason": "off the caucus's purpose"}, page="/review"
    )
    assert hidden.status_code == 303
    assert "off the caucus&#39;s purpose" in (await bo.get(f"/caucuses/{slug}/log")).text
    for outsider in (fran, admin):
        assert "off the caucus" not in (await outsider.get("/moderation/log")).text
    act = await ModerationAction.get(post_id=cpid)
    assert act.caucus_id is not None


async def test_lock_pin_slow_mode_and_move(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    await channels.create_channel(None, "Strategy", "strategy")
    amara = await signed_in(app, "amara")
    fran = await signed_in(app, "fran", "facilitator")
    tid, _ = await thread_with_post(amara)
    locked = await post_form(
        fran,
        f"/t/{tid}/moderate",
        {"action": "lock", "reason": "cooling off"},
        page=f"/t/{tid}/moderate",
    )
    assert locked.status_code == 303
    refused = await post_form(amara, f"/t/{tid}/posts", {"body": "but wait"}, page=f"/t/{tid}")
    assert refused.status_code == 403
    assert "This thread is locked" in (await amara.get(f"/t/{tid}")).text
    explained = await post_form(
        fran, f"/t/{tid}/posts", {"body": "Locked for a day."}, page=f"/t/{tid}"
    )
    assert explained.status_code == 303
    await post_form(
        fran,
        f"/t/{tid}/moderate",
        {"action": "unlock", "reason": "calm again"},
        page=f"/t/{tid}/moderate",
    )
    missing = await post_form(
        fran,
        f"/t/{tid}/moderate",
        {"action": "slow_mode", "reason": "r"},
        page=f"/t/{tid}/moderate",
    )
    assert missing.status_code == 400 and "Seconds between posts" in missing.text
    await post_form(
        fran,
        f"/t/{tid}/moderate",
        {"action": "slow_mode", "seconds": "120", "reason": "one thought at a time"},
        page=f"/t/{tid}/moderate",
    )
    bo = await signed_in(app, "bo")
    first = await post_form(
        bo, f"/t/{tid}/posts", {"body": "my considered point"}, page=f"/t/{tid}"
    )
    assert first.status_code == 303
    second = await post_form(
        bo, f"/t/{tid}/posts", {"body": "and another thing!"}, page=f"/t/{tid}"
    )
    assert second.status_code == 429
    assert 0 < int(second.headers["Retry-After"]) <= 121
    assert "Slow mode is on" in second.text and "and another thing!" in second.text
    await post_form(
        fran,
        f"/t/{tid}/moderate",
        {"action": "pin", "reason": "read this first"},
        page=f"/t/{tid}/moderate",
    )
    await thread_with_post(amara, "newer thread")
    listing = (await amara.get("/c/general")).text
    assert listing.index(f'data-thread="{tid}"') < listing.index("pinned") + 500
    moved = await post_form(
        fran,
        f"/t/{tid}/moderate",
        {"action": "move", "channel": "strategy", "reason": "belongs there"},
        page=f"/t/{tid}/moderate",
    )
    assert moved.status_code == 303
    assert (await Thread.get(id=tid).select_related("channel")).channel.slug == "strategy"
    log = (await amara.get("/moderation/log")).text
    for reason in (
        "cooling off",
        "calm again",
        "one thought at a time",
        "read this first",
        "belongs there",
    ):
        assert reason in log


async def test_posting_rate_limit_keeps_the_text(settings: Settings) -> None:
    from forum.app import create_app

    app = create_app(settings.with_(post_rate="2/minute", new_member_post_rate="2/minute"))
    async with app.router.lifespan_context(app):
        await channels.create_channel(None, "General", "general")
        amara = await signed_in(app, "amara")
        tid, _ = await thread_with_post(amara)  # the thread and one reply: two posts
        third = await post_form(
            amara, f"/t/{tid}/posts", {"body": "a third careful thought"}, page=f"/t/{tid}"
        )
        assert third.status_code == 429 and "Retry-After" in third.headers
        assert "a third careful thought" in third.text and "posting very fast" in third.text
        assert await Post.filter(body="a third careful thought").count() == 0


async def test_duplicate_post_in_a_short_window_is_refused(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    amara = await signed_in(app, "amara")
    tid, _ = await thread_with_post(amara, "same words")
    again = await post_form(amara, f"/t/{tid}/posts", {"body": "same words"}, page=f"/t/{tid}")
    assert again.status_code == 400 and "same text" in again.text


async def test_warning_is_private_and_logged(app: Starlette) -> None:
    amara = await signed_in(app, "amara")
    fran = await signed_in(app, "fran", "facilitator")
    refused = await post_form(amara, "/m/fran/warn", {"reason": "payback"}, page="/m/fran")
    assert refused.status_code == 403
    done = await post_form(
        fran, "/m/amara/warn", {"reason": "mind the guidelines"}, page="/m/amara"
    )
    assert done.status_code == 303
    assert (
        "A facilitator warned you: mind the guidelines" in (await amara.get("/notifications")).text
    )
    self_warn = await post_form(fran, "/m/fran/warn", {"reason": "x"}, page="/m/fran")
    assert self_warn.status_code == 403


async def test_suspended_member_appeals_once(app: Starlette) -> None:
    admin = await signed_in(app, "ada", "admin")
    await signed_in(app, "ned")
    await post_form(
        admin, "/admin/members/ned/suspend", {"reason": "spamming"}, page="/admin/members"
    )
    async with make_client(app) as visitor:
        wrong = await post_form(
            visitor,
            "/appeal",
            {"handle": "ned", "password": "nope nope", "note": "sorry"},
            page="/appeal",
        )
        assert wrong.status_code == 400 and "do not match a suspended account" in wrong.text
        from tests.conftest import PASSWORD

        ok = await post_form(
            visitor,
            "/appeal",
            {"handle": "ned", "password": PASSWORD, "note": "I was hacked"},
            page="/appeal",
        )
        assert ok.status_code == 200 and "Your appeal is in the review queue" in ok.text
        again = await post_form(
            visitor,
            "/appeal",
            {"handle": "ned", "password": PASSWORD, "note": "please"},
            page="/appeal",
        )
        assert again.status_code == 400 and "already appealed" in again.text
    assert "I was hacked" in (await admin.get("/review")).text


async def _sign_in_page(client: httpx.AsyncClient, handle: str, password: str) -> httpx.Response:
    from tests.conftest import csrf_token

    token = await csrf_token(client, "/login")
    return await client.post(
        "/login", data={"csrf": token, "handle": handle, "password": password, "next": "/"}
    )


async def test_a_suspended_member_is_told_why_until_when_and_how_to_appeal(
    app: Starlette,
) -> None:
    from tests.conftest import PASSWORD, csrf_token

    admin = await signed_in(app, "ada", "admin")
    await signed_in(app, "ned")
    await post_form(
        admin,
        "/admin/members/ned/suspend",
        {"reason": "Personal attacks in <the> budget thread", "days": "7"},
        page="/admin/members",
    )
    async with make_client(app) as visitor:
        page = await _sign_in_page(visitor, "ned", PASSWORD)
        assert page.status_code == 403
        assert "Your account is suspended" in page.text
        assert "Personal attacks in &lt;the&gt; budget thread" in page.text
        assert " UTC</time>" in page.text and "until" in page.text
        assert "Why should the suspension be lifted?" in page.text
        # Not signed in: the page only explains.
        assert (await visitor.get("/account")).status_code == 303
        # The appeal form on that page needs no password again: it carries a signed token.
        token = page.text.split('name="token" value="', 1)[1].split('"', 1)[0]
        csrf = await csrf_token(visitor, "/login")
        appealed = await visitor.post(
            "/appeal", data={"csrf": csrf, "token": token, "note": "It was a quote"}
        )
        assert appealed.status_code == 200 and "Your appeal is in the review queue" in appealed.text
        # The form is gone once used: signing in again says when they appealed.
        again = await _sign_in_page(visitor, "ned", PASSWORD)
        assert "You appealed this suspension on" in again.text
        assert "Why should the suspension be lifted?" not in again.text
        # A forged or altered token proves nothing.
        forged = await visitor.post(
            "/appeal",
            data={
                "csrf": csrf,
                "token": token[:-1] + ("0" if token[-1] != "0" else "1"),
                "note": "x",
            },
        )
        assert forged.status_code == 400 and "expired" in forged.text
        # A wrong password still reads as any failed sign-in.
        wrong = await _sign_in_page(visitor, "ned", "not the password")
        assert wrong.status_code == 400 and "Your account is suspended" not in wrong.text
    assert "It was a quote" in (await admin.get("/review")).text


async def test_lifting_a_suspension_grants_its_appeal_and_a_new_one_may_be_appealed(
    app: Starlette,
) -> None:
    from tests.conftest import PASSWORD

    admin = await signed_in(app, "ada", "admin")
    await signed_in(app, "ned")

    async def appeal(visitor: httpx.AsyncClient, note: str) -> httpx.Response:
        return await post_form(
            visitor,
            "/appeal",
            {"handle": "ned", "password": PASSWORD, "note": note},
            page="/appeal",
        )

    await post_form(admin, "/admin/members/ned/suspend", {"reason": "spam"}, page="/admin/members")
    async with make_client(app) as visitor:
        assert (await appeal(visitor, "first")).status_code == 200
    lifted = await post_form(
        admin, "/admin/members/ned/unsuspend", {"reason": "fair point"}, page="/admin/members"
    )
    assert lifted.status_code == 303
    item = await ReviewItem.get(kind="appeal", note="first")
    assert (item.status, item.resolution, item.resolution_reason) == (
        "resolved",
        "actioned",
        "fair point",
    )
    assert "first" not in (await admin.get("/review")).text
    async with make_client(app) as ned:
        from tests.conftest import login

        assert (await login(ned, "ned")).status_code == 303
        assert (
            "Your appeal was reviewed and acted on: fair point"
            in (await ned.get("/notifications")).text
        )
    # A second suspension may be appealed again (once).
    await post_form(
        admin, "/admin/members/ned/suspend", {"reason": "spam again"}, page="/admin/members"
    )
    async with make_client(app) as visitor:
        assert (await appeal(visitor, "second")).status_code == 200
        twice = await appeal(visitor, "third")
        assert twice.status_code == 400 and "already appealed" in twice.text


async def test_each_act_is_confirmed_on_the_next_page_once(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    author = await signed_in(app, "amara")
    flagger = await signed_in(app, "bo")
    fran = await signed_in(app, "fran", "facilitator")
    tid, pid = await thread_with_post(author)
    # The reply itself: the thread page says it is posted, once.
    page = await author.get(f"/p/{pid}", follow_redirects=True)
    assert "Your reply is posted." in page.text
    assert "Your reply is posted." not in (await author.get(f"/t/{tid}")).text

    flagged = await post_form(
        flagger, f"/p/{pid}/flag", {"reason": "spam", "note": ""}, page=f"/p/{pid}/flag"
    )
    page = await flagger.get(flagged.headers["location"], follow_redirects=True)
    assert 'id="page-notice"' in page.text and "Your flag is in the review queue" in page.text

    hidden = await post_form(
        fran, f"/p/{pid}/hide", {"reason": "off topic"}, page=f"/p/{pid}/moderate"
    )
    page = await fran.get(hidden.headers["location"], follow_redirects=True)
    assert "The post is hidden. Its author is told why" in page.text

    appealed = await post_form(
        author, f"/p/{pid}/appeal", {"note": "it was on topic"}, page=f"/p/{pid}/moderate"
    )
    page = await author.get(appealed.headers["location"], follow_redirects=True)
    assert "Your appeal is in the review queue" in page.text
    # The appeal form is gone once used.
    moderate = await author.get(f"/p/{pid}/moderate")
    assert "You appealed on" in moderate.text and "It is in the review queue" in moderate.text
    assert "Send appeal" not in moderate.text


async def test_an_unknown_notice_code_shows_nothing(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    author = await signed_in(app, "amara")
    tid, _ = await thread_with_post(author)
    author.cookies.set("forum_notice", "<script>alert(1)</script>")
    page = await author.get(f"/t/{tid}")
    assert page.status_code == 200 and 'id="page-notice"' not in page.text
    assert "alert(1)" not in page.text


async def test_the_thread_says_why_it_is_locked_and_slowed(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    author = await signed_in(app, "amara")
    fran = await signed_in(app, "fran", "facilitator")
    tid, _ = await thread_with_post(author)
    for action, extra, reason in (
        ("lock", {}, "Cooling off until the meeting"),
        ("slow_mode", {"seconds": "600"}, "Too fast to read"),
    ):
        done = await post_form(
            fran,
            f"/t/{tid}/moderate",
            {"action": action, "reason": reason, **extra},
            page=f"/t/{tid}/moderate",
        )
        assert done.status_code == 303, done.text
    page = (await author.get(f"/t/{tid}")).text
    assert "Locked by @fran on" in page and "“Cooling off until the meeting”" in page
    assert "Slow mode set by @fran on" in page and "“Too fast to read”" in page
    await post_form(
        fran,
        f"/t/{tid}/moderate",
        {"action": "unlock", "reason": "meeting over"},
        page=f"/t/{tid}/moderate",
    )
    page = (await author.get(f"/t/{tid}")).text
    assert "Locked by" not in page and "Slow mode set by @fran" in page


async def test_a_new_nested_reply_opens_in_the_whole_thread(app: Starlette) -> None:
    await channels.create_channel(None, "General", "general")
    author = await signed_in(app, "amara")
    tid, pid = await thread_with_post(author)
    parent = pid
    for depth in range(1, 4):
        made = await post_form(
            author,
            f"/t/{tid}/posts",
            {"body": f"an answer at depth {depth}", "parent_id": str(parent)},
            page=f"/t/{tid}",
        )
        parent = int(made.headers["location"].rsplit("/", 1)[1])
    where = await author.get(f"/p/{parent}")
    assert where.headers["location"] == f"/t/{tid}#p{parent}"
    page = await author.get(where.headers["location"])
    assert "an answer at depth 3" in page.text and "Back to the whole thread" not in page.text


def _review_badge(page: str) -> str:
    """The header's review count as a reviewer sees it ("" when hidden)."""
    link = page.split('class="review-link"', 1)[1].split("</a>", 1)[0]
    badge = link.split('data-review-open="', 1)[1]
    return (
        "" if " hidden>" in badge.split("</span>", 1)[0] else badge.split(">", 1)[1].split("<")[0]
    )


async def test_reviewers_see_how_many_items_wait_and_are_told_live(app: Starlette) -> None:
    from forum.models import Event, Member

    await channels.create_channel(None, "General", "general")
    amara = await signed_in(app, "amara")
    bo = await signed_in(app, "bo")
    fran = await signed_in(app, "fran", "facilitator")
    _tid, pid = await thread_with_post(amara)
    assert _review_badge((await fran.get("/")).text) == ""
    await post_form(bo, f"/p/{pid}/flag", {"reason": "spam"})
    assert _review_badge((await fran.get("/")).text) == "1"
    assert 'aria-label="Review, 1 open"' in (await fran.get("/")).text
    # Members see no review link at all.
    assert 'class="review-link"' not in (await bo.get("/")).text

    fran_id = (await Member.get(handle="fran")).id
    told = await Event.filter(topic=f"member:{fran_id}", kind="review.changed").order_by("seq")
    assert [e.payload["review_open"] for e in told] == [1]

    # A caucus's flag counts for its conveners only: the facilitator's count does not move.
    founded = await post_form(
        amara,
        "/caucuses",
        {"name": "Disabled Members", "listed": "0", "join_policy": "invite"},
        page="/caucuses",
    )
    slug = founded.headers["location"].rsplit("/", 1)[1]
    await post_form(amara, f"/caucuses/{slug}/invite", {"handle": "bo"})
    await post_form(bo, f"/caucuses/{slug}/accept", {})
    _ctid, cpid = await thread_with_post(bo, "a caucus post", slug=f"{slug}-talk")
    await post_form(amara, f"/p/{cpid}/flag", {"reason": "spam"})
    assert _review_badge((await fran.get("/")).text) == "1"
    assert _review_badge((await amara.get("/")).text) == "1"
    amara_id = (await Member.get(handle="amara")).id
    told_amara = await Event.filter(topic=f"member:{amara_id}", kind="review.changed")
    assert [e.payload["review_open"] for e in told_amara] == [1]
    assert await Event.filter(topic=f"member:{fran_id}", kind="review.changed").count() == 1

    # Resolving the open item brings the facilitator's count back to none, live too.
    await post_form(fran, f"/p/{pid}/hide", {"reason": "spam"}, page=f"/p/{pid}/moderate")
    assert _review_badge((await fran.get("/")).text) == ""
    told = await Event.filter(topic=f"member:{fran_id}", kind="review.changed").order_by("seq")
    assert [e.payload["review_open"] for e in told] == [1, 0]
