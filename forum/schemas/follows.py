"""Following threads and channels: the page's forms and the API's shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from forum.schemas.base import Choice, Input, Output, When
from forum.schemas.channels import Channel, Thread

Level = Literal["watching", "muted"]
_LEVEL_HELP = (
    "`watching`: be told of new replies to the thread (or of new threads in the channel); "
    "`muted`: never be told of activity there (mentions of you still are)."
)


class FollowForm(Input):
    """A Follow, Mute or Unfollow button (the service checks the level: 400 for another)."""

    level: Choice = ""
    # Where to come back to: the thread or channel page, or the Following page.
    back: Choice = ""


class FollowBody(Input):
    MESSAGES = {"level": "One of: watching, muted."}

    level: Level = Field(description=_LEVEL_HELP)


class FollowState(Output):
    level: Literal["watching", "muted", "none"] = Field(
        description=_LEVEL_HELP + " `none`: neither (the default)."
    )


class FollowedThread(Output):
    thread: Thread
    level: Level
    since: When


class FollowedChannel(Output):
    channel: Channel
    level: Level
    since: When


class FollowingOut(Output):
    threads: list[FollowedThread]
    channels: list[FollowedChannel]
