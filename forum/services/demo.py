"""Demo content for a first look: members, the open channels, a real statement and replies."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from forum.importers import parse_path
from forum.models import Channel, Member, Thread
from forum.services import accounts, caucuses, channels, moderation, posting, statements
from forum.services.context import Ctx, Services

DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - printed for the demo on purpose
DEMO_MEMBERS = (
    ("admin", "admin", "Site Admin"),
    ("fran", "facilitator", "Fran the Facilitator"),
    ("amara", "member", "Amara"),
    ("bo", "member", "Bo"),
)
# The reports committee (two members) and its alternate body: not site roles.
DEMO_COMMITTEE = (
    ("cass", "committee", "Cass (committee)"),
    ("dee", "committee", "Dee (committee)"),
    ("eli", "alternate", "Eli (alternate)"),
)
STATEMENT = (
    Path(__file__).resolve().parents[1] / "demo_content" / "on-the-dissolution-of-the-iso.txt"
)
STATEMENT_AUTHOR = "rs21 Steering Group"


async def _ctx_for(services: Services, member: Member) -> Ctx:
    return Ctx(services=services, actor=await accounts.load_actor(member), member=member)


async def load(services: Services) -> bool:
    """Create the demo members and content unless they exist; True when something was made."""
    if await Member.exists(handle_key="admin"):
        return False
    members = {}
    for handle, role, name in DEMO_MEMBERS:
        # Confirmed example addresses, so the demo can show email (example.org takes no mail).
        members[handle] = await accounts.create_member(
            services,
            handle,
            DEMO_PASSWORD,
            role,
            name,
            email=f"{handle}@example.org",
            email_confirmed=True,
        )
    if not await Channel.exists(slug="statements"):
        await channels.create_channel(
            None,
            "Statements",
            "statements",
            "The organisation's published statements, open for discussion.",
            public=True,  # the organisation publishes its statements: visitors may read them
        )
    await channels.create_channel(None, "General", "general", "Everything else.")
    await channels.create_channel(
        None, "Strategy", "strategy", "Where we are going and how we get there."
    )
    data = parse_path(STATEMENT, default_author=STATEMENT_AUTHOR)[0]
    data = replace(data, external_id=f"file:{STATEMENT.stem}")
    result = await statements.publish(None, data, settings=services.settings)
    amara = await _ctx_for(services, members["amara"])
    bo = await _ctx_for(services, members["bo"])
    # Demo writes are not throttled like a person typing.
    await services.throttle.reset()
    first = await posting.reply(
        amara,
        result.thread.id,
        "The line about caucuses being suppressed is the heart of it for me. "
        "Self-organisation of oppressed members can't be a favour granted by a leadership.",
    )
    await posting.reply(
        bo,
        result.thread.id,
        "Agreed, @amara. What would it take for our own structures to make that impossible "
        "rather than just unlikely?",
        parent_id=first.id,
    )
    await posting.reply(
        amara,
        result.thread.id,
        "Survivor-centred processes, written down *before* they are needed. Worth a thread of "
        "its own.",
    )
    await _more_content(services, members)
    await _load_reports(services, members)
    await _decided_motion(services, members)
    return True


EXTRA_MEMBERS = (
    ("cy", "member", "Cy"),
    ("dana", "member", "Dana"),
)
CAUCUS_NAME = "Disabled Members' Caucus"


async def _more_content(services: Services, members: dict[str, Member]) -> None:
    """Everyday discussion in the open channels, a thread in slow mode with its reason shown,
    and a listed caucus whose private thread only its members (amara, bo) read."""
    for handle, role, name in EXTRA_MEMBERS:
        members[handle] = await accounts.create_member(services, handle, DEMO_PASSWORD, role, name)
    ctx = {handle: await _ctx_for(services, member) for handle, member in members.items()}
    await services.throttle.reset()

    welcome = await posting.start_thread(
        ctx["fran"],
        "general",
        "Welcome: introduce yourself",
        "New here? Say hello, where you are, and what you hope to work on. "
        "Facilitators read along; the [moderation log](/moderation/log) shows every act.",
    )
    hello = await posting.reply(
        ctx["cy"], welcome.id, "Hi all, I'm Cy, in the north-east branch, mostly housing work."
    )
    await posting.reply(
        ctx["dana"],
        welcome.id,
        "Welcome @cy! The tenants' union thread in Strategy might interest you.",
        parent_id=hello.id,
    )

    meeting = await posting.start_thread(
        ctx["bo"],
        "strategy",
        "Branch meetings: what format works for the new year?",
        "Monthly in person, fortnightly online, or both? Childcare and access needs matter "
        "as much as the agenda.",
    )
    online = await posting.reply(
        ctx["dana"],
        meeting.id,
        "Fortnightly online, with captions on, and a monthly social in a step-free venue.",
    )
    await posting.reply(
        ctx["amara"],
        meeting.id,
        "Seconding captions. Could we also rotate the chair so it isn't always the same voices?",
        parent_id=online.id,
    )
    await moderation.act_on_thread(
        ctx["fran"],
        meeting.id,
        "slow_mode",
        "Keeping the pace readable while people catch up after the meeting",
        seconds=120,
    )

    caucus = await caucuses.found(
        ctx["amara"],
        CAUCUS_NAME,
        "Disabled members organising together: access, care and our own demands.",
        listed=True,
        join_policy="request",
    )
    # Seats change who someone is: each step acts with a freshly loaded actor.
    await caucuses.request_join(ctx["bo"], caucus.slug, "I'd like to join, please.")
    ctx["amara"] = await _ctx_for(services, members["amara"])
    await caucuses.decide(ctx["amara"], caucus.slug, "bo", "admit")
    ctx["bo"] = await _ctx_for(services, members["bo"])
    private = await posting.start_thread(
        ctx["amara"],
        f"{caucus.slug}-talk",
        "Access needs for the conference",
        "Before we take demands to the steering group: what did last year's conference get "
        "wrong for you? Only this caucus reads this thread.",
    )
    await posting.reply(
        ctx["bo"],
        private.id,
        "No quiet room, and the agenda came out two days before. Both are easy to fix.",
    )


async def _load_reports(services: Services, members: dict[str, Member]) -> None:
    """The committee, its alternate, and one case in progress that its reporter (amara) can
    follow: acknowledged, with a message from the committee."""
    from forum.services import committee, reports, reports_crypto

    reports_crypto.ensure_key_file(services.settings)
    for handle, body, name in DEMO_COMMITTEE:
        members[handle] = await accounts.create_member(
            services, handle, DEMO_PASSWORD, "member", name
        )
        await committee.add(services, None, handle, "Elected at the founding meeting.", body)
    if not reports_crypto.configured(services.settings):
        return  # PostgreSQL without FORUM_REPORTS_KEY: the roster, but no case
    amara = await _ctx_for(services, members["amara"])
    cass = await _ctx_for(services, members["cass"])
    case = await reports.file(
        amara,
        "formal",
        "",
        "At the last branch meeting someone kept talking over me and mocking what I said. "
        "I would like the committee to know, and to talk with me before anything else happens.",
    )
    await reports.act(cass, case.id, "acknowledge", "Thank you for telling us. We have read it.")
    await reports.act(
        cass,
        case.id,
        "message",
        "Would you like to meet one of us, in person or by phone, before we decide anything?",
    )


MOTION_THREAD = "Branch meetings: what format works for the new year?"
MOTION_TITLE = "Meet fortnightly online with captions, and monthly in person step-free"
MOTION_VOTES = (
    ("bo", "agree"),
    ("dana", "agree"),
    ("amara", "agree"),
    ("fran", "agree"),
    ("cy", "abstain"),
    ("admin", "disagree"),
)


async def _decided_motion(services: Services, members: dict[str, Member]) -> None:
    """A decided motion in the branch-meetings thread, through the decisions service as members
    would: bo proposes a secret-ballot motion (opening it freezes the electorate: every active
    member, as the channel is open), six members vote (each gets a receipt, which the demo
    forgets), bo closes it early with a reason in the moderation log once most had voted, and
    writes the outcome statement. The register at /decisions lists it as carried."""
    from datetime import timedelta

    from forum.services import decisions

    thread = await Thread.get(title=MOTION_THREAD)
    ctx = {handle: await _ctx_for(services, members[handle]) for handle, _ in MOTION_VOTES}
    rules = decisions.Rules(
        kind="motion",
        title=MOTION_TITLE,
        body="From the discussion above: fortnightly online meetings with captions on, and a "
        "monthly in-person social in a step-free venue, with a rotating chair.",
        options=[],
        closes_at=decisions.now() + timedelta(days=7),
        secret=True,
        quorum=50,
        threshold="simple",
    )
    motion = await decisions.propose(ctx["bo"], thread.id, rules)
    for handle, position in MOTION_VOTES:
        await decisions.vote(ctx[handle], motion.id, decisions.Choice(position=position))
    await decisions.close(
        ctx["bo"], motion.id, "Closed at the branch meeting: most members had voted."
    )
    await decisions.write_statement(
        ctx["bo"],
        motion.id,
        "Carried. From January we meet online every other Tuesday with captions, and in person "
        "once a month at the step-free community centre; the chair rotates.",
    )
