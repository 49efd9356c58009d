"""Members as the API shows them."""

from __future__ import annotations

from typing import Literal

from forum.schemas.base import Count, Id, Output, When


class MemberRef(Output):
    """A member as shown beside their posts."""

    handle: str
    display_name: str


class Me(Output):
    id: Id
    handle: str
    display_name: str
    role: Literal["member", "facilitator", "admin"]
    status: Literal["pending", "active", "suspended"]
    unread_notifications: Count
    created_at: When
