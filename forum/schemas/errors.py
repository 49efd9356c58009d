"""The one error shape of the JSON API."""

from __future__ import annotations

from pydantic import Field

from forum.schemas.base import Output


class ErrorDetail(Output):
    code: str = Field(examples=["not_found"])
    message: str
    fields: dict[str, str] = Field(
        default_factory=dict, description="Field name -> what is wrong with it."
    )


class Error(Output):
    error: ErrorDetail
