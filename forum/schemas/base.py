"""The building blocks of every input and output model: the field types (with their limits from
`forum.limits`), the two base classes, and the cleaning every text input gets.

Inputs (`Input`) ignore unknown keys and leave the domain rules to the services: a blank title
passes here and the service says "Give the thread a title." What an input model refuses is a
wrong type, a value out of range, or text longer than its limit. A field the service checks
for presence (a reason, a note, a choice) defaults to "" so that the service, having first
found the target (404 for what the caller may not see), names what is missing in its words.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from forum import limits


def clean_text(value: str) -> str:
    """Text as a form field arrives once read: browsers' CRLF as LF; NULs and other control
    characters except newline and tab dropped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if any((ord(c) < 32 and c not in "\n\t") or c == "\x7f" for c in value):
        value = "".join(c for c in value if ord(c) >= 32 or c in "\n\t").replace("\x7f", "")
    return value


CLEAN = AfterValidator(clean_text)


def _limit(limit: int, description: str | None = None) -> Any:
    """The length limit of a text field (and its description for the document)."""
    return Field(max_length=limit, description=description)


def _iso_moment(value: object) -> object:
    """An ISO 8601 date or date-time; without an offset it is taken as UTC."""
    if not isinstance(value, str):
        return value  # the datetime check refuses it with a clear message
    if len(value) > 64:
        raise ValueError("too long")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


Id = Annotated[int, Field(ge=1, le=limits.MAX_ID, examples=[1])]
Count = Annotated[int, Field(ge=0)]
When = datetime
Moment = Annotated[datetime, BeforeValidator(_iso_moment)]
Slug = Annotated[str, Field(min_length=1, max_length=limits.MAX_SLUG, examples=["general"])]
Handle = Annotated[
    str,
    Field(
        min_length=1,
        max_length=limits.MAX_HANDLE_INPUT,
        description="A member's handle, with or without its leading @.",
        examples=["ada"],
    ),
]
Key = Annotated[
    str,
    Field(
        pattern=rf"^[A-Za-z0-9_-]{{1,{limits.MAX_KEY}}}$",
        description="Client-made idempotency key: a retry returns what the first call made.",
    ),
]
Cursor = Annotated[
    str,
    Field(
        max_length=limits.MAX_CURSOR,
        pattern="^[0-9a-z]*$",
        description="The `next` cursor of the previous page.",
    ),
]
Page = Annotated[int, Field(ge=1, le=limits.MAX_PAGE)]

# Text inputs, each with its limit; blank or not is the service's rule.
Title = Annotated[str, _limit(limits.MAX_TITLE), CLEAN]
Body = Annotated[str, _limit(limits.MAX_BODY, "Markdown."), CLEAN]
Reason = Annotated[
    str, _limit(limits.MAX_REASON, "Why: the member concerned and the log show it."), CLEAN
]
Note = Annotated[str, _limit(limits.MAX_NOTE), CLEAN]
Choice = Annotated[str, _limit(limits.MAX_CHOICE)]
Name = Annotated[str, _limit(limits.MAX_NAME), CLEAN]
Description = Annotated[str, _limit(limits.MAX_DESCRIPTION), CLEAN]
Query = Annotated[str, _limit(limits.MAX_QUERY, "Words to find."), CLEAN]


class Input(BaseModel):
    """A request body, query or path: unknown keys are ignored.

    `MESSAGES` gives a field's message for a value of the wrong form (a pattern or choice it does
    not match); type and length errors have general messages (see `forum.schemas.parse`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    MESSAGES: ClassVar[dict[str, str]] = {}


class Output(BaseModel):
    """A response shape, for the document: `forum.web.api.serialise` builds the dicts."""

    model_config = ConfigDict(extra="ignore")
