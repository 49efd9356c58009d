"""Email preferences: a cadence per topic."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forum.schemas.base import Input, Output

Cadence = Literal["immediately", "daily", "weekly", "never"]
_HELP = "immediately (batched over a few minutes), daily, weekly (digests) or never"


class EmailPreferences(Output):
    reply: Cadence = Field(description="Replies to your posts: " + _HELP)
    mention: Cadence = Field(description="Mentions of you")
    caucus: Cadence = Field(
        description="Caucus requests, invitations and activity (emails name no caucus)"
    )
    moderation: Cadence = Field(description="Moderation acts concerning you")
    report: Cadence = Field(description="Updates on your reports (emails say only that)")
    decision: Cadence = Field(description="Decisions")
    statement: Cadence = Field(description="New statements")
    following: Cadence = Field(
        description="New replies in threads, and new threads in channels, that you follow"
    )


class EmailPreferencesUpdate(Input):
    """Only the topics given change."""

    MESSAGES = {
        name: "One of: immediately, daily, weekly, never."
        for name in (
            "reply",
            "mention",
            "caucus",
            "moderation",
            "report",
            "decision",
            "statement",
            "following",
        )
    }

    reply: Cadence | None = None
    mention: Cadence | None = None
    caucus: Cadence | None = None
    moderation: Cadence | None = None
    report: Cadence | None = None
    decision: Cadence | None = None
    statement: Cadence | None = None
    following: Cadence | None = None

    def changes(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}
