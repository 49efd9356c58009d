"""Demo content for a first look: members, the open channels, a real statement and replies."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from forum.importers import parse_path
from forum.models import Channel, Member
from forum.services import accounts, channels, posting, statements
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
        members[handle] = await accounts.create_member(services, handle, DEMO_PASSWORD, role, name)
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
    await _load_reports(services, members)
    return True


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
