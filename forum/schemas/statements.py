"""Statements the organisation publishes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from forum import limits
from forum.schemas.base import CLEAN, Id, Input, Moment, Output, When
from forum.schemas.channels import Thread


class Statement(Output):
    id: Id
    title: str
    author: str
    body: str = Field(description="Markdown source.")
    html: str
    caption: str | None
    source_url: str | None
    external_id: str | None
    published_at: When | None
    version: int
    created_at: When
    updated_at: When


class StatementVersion(Output):
    version: int = Field(ge=1)
    title: str
    body: str
    diff_html: str = Field(description="Changes from the version before.")
    created_at: When


class StatementWithThread(Output):
    statement: Statement
    thread: Thread


class StatementList(Output):
    statements: list[StatementWithThread]


class Published(StatementWithThread):
    outcome: Literal["created", "amended", "unchanged"]


class StatementVersions(StatementWithThread):
    versions: list[StatementVersion]


# ---- input ------------------------------------------------------------------------------------


class StatementPath(Input):
    statement_id: Id


class PublishStatement(Input):
    title: Annotated[str, Field(max_length=limits.MAX_STATEMENT_TITLE), CLEAN]
    body: Annotated[str, Field(max_length=limits.MAX_STATEMENT_BODY), CLEAN]
    author: Annotated[
        str,
        Field(
            max_length=limits.MAX_AUTHOR, description="Who published it, e.g. the Steering Group."
        ),
        CLEAN,
    ]
    source_url: (
        Annotated[
            str,
            Field(
                max_length=limits.MAX_URL,
                description="The original (http or https); the same URL later amends it.",
            ),
            CLEAN,
        ]
        | None
    ) = None
    published_at: Moment | None = None
    external_id: (
        Annotated[
            str,
            Field(
                max_length=limits.MAX_EXTERNAL_ID,
                description="Your id for it: publishing the same id again amends, never doubles.",
            ),
            CLEAN,
        ]
        | None
    ) = None
    caption: Annotated[str, Field(max_length=limits.MAX_CAPTION), CLEAN] | None = None
    channel: (
        Annotated[
            str,
            Field(
                max_length=limits.MAX_SLUG,
                description="The open channel of its thread (default `statements`).",
            ),
        ]
        | None
    ) = None
