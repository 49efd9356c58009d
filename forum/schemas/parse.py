"""Validating input against a model, and pydantic's errors as the forum's `Invalid`.

Every surface calls one of these: the API's declarations (`forum.web.api.base.Endpoint`) for
JSON bodies, queries and paths, and the form views for form data. A refusal is an `Invalid` whose
`fields` maps each field to one plain sentence; pydantic's own error list never reaches a caller.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from forum.errors import Invalid, NotFound
from forum.schemas.base import Input

M = TypeVar("M", bound=Input)


def _message(model: type[Input], field: str, error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "This field is required."
    if kind in ("string_too_long", "too_long"):
        limit = int(ctx.get("max_length", 0))
        unit = "characters" if kind == "string_too_long" else "items"
        return f"Use at most {limit:,} {unit}."
    if field in model.MESSAGES:
        return model.MESSAGES[field]
    if kind in ("string_too_short", "too_short"):
        return "This field is required."
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low, high = _bounds(model, field)
        return f"A whole number from {low} to {high}."
    if kind == "literal_error":
        return f"One of: {ctx.get('expected', '')}."
    if kind.startswith("string"):
        return "This field must be a string."
    if kind.startswith("int"):
        return "This field must be a whole number."
    if kind.startswith("bool"):
        return "This field must be true or false."
    if kind.startswith(("datetime", "value_error")) and "datetime" in _annotation(model, field):
        return "An ISO 8601 date-time, e.g. 2024-05-01T12:00:00Z."
    if kind.startswith(("list", "iterable")):
        return "This field must be a list."
    return "This value is not accepted here."


def _annotation(model: type[Input], field: str) -> str:
    info = model.model_fields.get(field)
    return repr(info.annotation) if info is not None else ""


@functools.cache
def _properties(model: type[Input]) -> dict[str, Any]:
    properties: dict[str, Any] = model.model_json_schema()["properties"]
    return properties


def _bounds(model: type[Input], field: str) -> tuple[object, object]:
    """A number field's range as the document states it (optional ones under `anyOf`)."""
    schema = _properties(model).get(field, {})
    low: object = "?"
    high: object = "?"
    for option in [schema, *schema.get("anyOf", [])]:
        low = option.get("minimum", low)
        high = option.get("maximum", high)
    return low, high


def invalid(model: type[Input], exc: ValidationError) -> Invalid:
    """One message per field (the first error of each); an error about the whole input (not an
    object, not JSON) becomes the message."""
    fields: dict[str, str] = {}
    message: str | None = None
    for error in exc.errors(include_url=False, include_input=False):
        loc = error.get("loc") or ()
        if not loc:
            kind = error.get("type")
            message = (
                "The request body is not valid JSON."
                if kind == "json_invalid"
                else "Send a JSON object."
            )
            continue
        field = str(loc[0])
        if field not in fields:
            fields[field] = _message(model, field, error)
    return Invalid(message, fields=fields)


def from_json(model: type[M], raw: bytes) -> M:
    """A JSON body: strictly typed (no "1" for 1, no true for 1, no 1.0 for 1)."""
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise invalid(model, exc) from None


def from_form(model: type[M], form: Mapping[str, str]) -> M:
    """Form fields (all text): an empty optional field is left out, a missing required one reads
    as "" (so the service names what is missing in its own words)."""
    data: dict[str, str] = {}
    for name, info in model.model_fields.items():
        value = form.get(name, "")
        if value != "" or info.is_required():
            data[name] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(model, exc) from None


def from_query(model: type[M], query: Mapping[str, str]) -> M:
    """Query parameters: text, converted; an empty parameter is left out."""
    data = {name: query[name] for name in model.model_fields if query.get(name, "") != ""}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(model, exc) from None


def from_path(model: type[M], params: Mapping[str, Any]) -> M:
    """Path parameters: a value that cannot name anything is simply not found."""
    try:
        return model.model_validate({k: str(v) for k, v in params.items()})
    except ValidationError:
        raise NotFound() from None
