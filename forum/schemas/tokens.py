"""Personal API tokens as their owner sees them (never the secret, but once at creation)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from forum import limits
from forum.schemas.base import CLEAN, Id, Input, Output, When

Scope = Literal["read", "write", "admin"]


def _read_only() -> list[Scope]:
    return ["read"]


class Token(Output):
    id: Id
    name: str
    scopes: list[Scope]
    created_at: When
    last_used_at: When | None = Field(
        description="Updated at most once a minute; null: never used."
    )
    expires_at: When | None
    expired: bool


class TokenList(Output):
    tokens: list[Token]


class TokenMade(Token):
    token: str = Field(description="The secret: shown this once only.")


class TokenPath(Input):
    token_id: Id


# The token page's form and POST /tokens share these, so both refuse the same name and days.
TokenName = Annotated[str, Field(max_length=limits.MAX_TOKEN_NAME), CLEAN]
Days = Annotated[int, Field(ge=1, le=limits.MAX_TOKEN_DAYS)]


class NewToken(Input):
    """POST /tokens (the page's form is `TokenForm`, with the same limits)."""

    name: TokenName = Field("", description="What it is for.")
    scopes: list[Scope] = Field(
        default_factory=_read_only,
        max_length=3,
        description="`read` (always included, the default): safe methods only; `write`: change "
        "things as the caller; `admin`: use the caller's site role. A token may create tokens "
        "within its own scopes only (403).",
    )
    expires_days: Days | None = Field(
        None, description="Stops working after this many days; null: no end."
    )
    MESSAGES = {"scopes": "A list of scopes: read, write, admin."}


class TokenForm(Input):
    """The form on /account/tokens: a checkbox a scope beyond `read`, which every token has."""

    name: TokenName = ""
    scope_write: bool = False
    scope_admin: bool = False
    expires_days: Days | None = None
    MESSAGES = {
        "expires_days": f"A whole number of days from 1 to {limits.MAX_TOKEN_DAYS:,}, "
        "or empty for no end.",
        "scope_write": "Tick the box or leave it empty.",
        "scope_admin": "Tick the box or leave it empty.",
    }

    @property
    def scopes(self) -> list[Scope]:
        chosen: list[Scope] = ["read"]
        if self.scope_write:
            chosen.append("write")
        if self.scope_admin:
            chosen.append("admin")
        return chosen
