"""Members as the API shows them, and the account forms' input."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from forum import limits
from forum.schemas.base import CLEAN, Count, Id, Input, Output, When


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


# ---- input: the account forms ------------------------------------------------------------------
# Only sizes here; what a handle may look like, how short a password may be, whether an invite is
# still good, all stay with `forum.services.accounts`. Passwords are not cleaned (every character
# counts) and never shown again.

Password = Annotated[str, Field(max_length=limits.MAX_PASSWORD)]
DisplayName = Annotated[str, Field(max_length=limits.MAX_DISPLAY_NAME), CLEAN]


class Login(Input):
    """The sign-in form."""

    handle: Annotated[str, Field(max_length=limits.MAX_HANDLE_INPUT)]
    password: Password


class SignUp(Input):
    """The sign-up form."""

    handle: Annotated[str, Field(max_length=limits.MAX_HANDLE)]
    display_name: DisplayName = ""
    password: Password
    invite: Annotated[str, Field(max_length=limits.MAX_INVITE_TOKEN)] = ""


class Profile(Input):
    """The account page's profile form (pronouns and bio left out: unchanged)."""

    display_name: DisplayName
    pronouns: Annotated[str, Field(max_length=limits.MAX_PRONOUNS), CLEAN] | None = None
    bio: Annotated[str, Field(max_length=limits.MAX_BIO), CLEAN] | None = None


class NewPassword(Input):
    """The account page's password form."""

    current: Password
    new: Password
    confirm: Password
