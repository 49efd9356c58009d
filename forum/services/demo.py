"""Demo content for a first look: a few members, the open channels and a real statement."""

from __future__ import annotations

from forum.models import Member
from forum.services import accounts
from forum.services.context import Services

DEMO_PASSWORD = "demo-password-1"  # noqa: S105 - printed for the demo on purpose
DEMO_MEMBERS = (
    ("admin", "admin", "Site Admin"),
    ("fran", "facilitator", "Fran the Facilitator"),
    ("amara", "member", "Amara"),
    ("bo", "member", "Bo"),
)


async def load(services: Services) -> bool:
    """Create the demo members and content unless they exist; True when something was made."""
    if await Member.exists(handle_key="admin"):
        return False
    for handle, role, name in DEMO_MEMBERS:
        await accounts.create_member(services, handle, DEMO_PASSWORD, role, name)
    return True
