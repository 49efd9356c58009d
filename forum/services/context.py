"""The context every service takes first: who acts, with which settings and shared tools."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from forum.policy import Actor
from forum.security import Hasher, Throttle
from forum.settings import Settings

if TYPE_CHECKING:
    from forum.models import Member, Session


Publish = Callable[[dict[str, Any]], Awaitable[None]]


async def _drop(_message: dict[str, Any]) -> None:
    return None


@dataclass
class Services:
    """Process-wide tools, built once by the app (or a CLI command)."""

    settings: Settings
    hasher: Hasher
    throttle: Throttle
    # Tells every process about committed events. Access changes need no call of their own:
    # they are events too (see forum.realtime.hub).
    publish: Publish = _drop
    # Wakes this process's email deliverer after a commit that wrote to the outbox (other
    # processes find the rows on their next look, within seconds).
    wake_mail: Callable[[], None] = lambda: None


@dataclass
class Ctx:
    services: Services
    actor: Actor = field(default_factory=Actor.anonymous)
    member: Member | None = None
    session: Session | None = None
    address: str = "unknown"
    via_token: bool = False
    # The scopes of the API token this request came with (empty for sessions and anonymous).
    token_scopes: frozenset[str] = frozenset()
    # When that token expires (None: never, or not a token).
    token_expires_at: datetime | None = None
    # The id of the token this request came with (None for a session).
    token_id: int | None = None
    # The double-submit CSRF value for visitors without a session (sign-in and sign-up forms).
    anon_csrf: str = ""
    # Open review items this actor may review (pages of reviewers only; None elsewhere).
    review_open: int | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings
