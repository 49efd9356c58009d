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


class NewToken(Input):
    """The token form and POST /tokens."""

    name: Annotated[str, Field(max_length=limits.MAX_TOKEN_NAME), CLEAN] = Field(
        "", description="What it is for."
    )
    scopes: list[Scope] = Field(
        default_factory=_read_only,
        max_length=3,
        description="`read` (always included, the default): safe methods only; `write`: change "
        "things as the caller; `admin`: use the caller's site role. A token may create tokens "
        "within its own scopes only (403).",
    )
    expires_days: int | None = Field(
        None,
        ge=1,
        le=limits.MAX_TOKEN_DAYS,
        description="Stops working after this many days; null: no end.",
    )
    MESSAGES = {"scopes": "A list of scopes: read, write, admin."}
