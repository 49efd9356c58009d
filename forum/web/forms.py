"""Reading request input: forms and JSON, with the CSRF token checked on every unsafe request.

Handlers never touch `request.form()` directly: going through `read_form` / `read_json` is what
guarantees that no unsafe request skips the CSRF check.
"""

from __future__ import annotations

import json
from typing import Any

from python_multipart.exceptions import MultipartParseError
from starlette.requests import Request

from forum.errors import DomainError, Forbidden, Invalid
from forum.security import tokens_match
from forum.services.context import Ctx

MAX_FIELD = 200_000


class Form(dict[str, str]):
    """Form fields as text; a missing field reads as ""."""

    def __missing__(self, key: str) -> str:
        return ""


def check_csrf(ctx: Ctx, supplied: str) -> None:
    """A form (or the X-CSRF-Token header) must carry this session's token. API calls made with
    a bearer token carry no cookie, so they cannot be forged cross-site and need none."""
    if ctx.via_token:
        return
    expected = ctx.session.csrf_token if ctx.session else ctx.anon_csrf
    if not expected or not supplied or not tokens_match(expected, supplied):
        raise Forbidden("This form has expired or did not come from this site. Please try again.")


async def read_form(request: Request) -> Form:
    ctx: Ctx = request.state.ctx
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            check_csrf(ctx, request.headers.get("x-csrf-token", ""))
        raise Invalid("Please submit the form from its page.")
    try:
        raw = await request.form(max_files=0, max_fields=100, max_part_size=MAX_FIELD)
    except (MultipartParseError, UnicodeDecodeError, ValueError, KeyError) as exc:
        raise Invalid("The form data could not be read.") from exc
    except DomainError:
        raise
    except Exception as exc:  # starlette raises HTTPException for over-limit multipart parts
        if getattr(exc, "status_code", None) == 400:
            raise Invalid("The form data could not be read.") from exc
        raise
    form = Form()
    for key, value in raw.multi_items():
        if isinstance(value, str):
            # Browsers send CRLF; drop NULs and other control characters except newline and tab.
            form[key] = _clean(value)
    check_csrf(ctx, form.get("csrf", "") or request.headers.get("x-csrf-token", ""))
    return form


def _clean(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if any((ord(c) < 32 and c not in "\n\t") or c == "\x7f" for c in value):
        value = "".join(c for c in value if ord(c) >= 32 or c in "\n\t").replace("\x7f", "")
    return value


async def read_json(request: Request) -> dict[str, Any]:
    ctx: Ctx = request.state.ctx
    check_csrf(ctx, request.headers.get("x-csrf-token", ""))
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise Invalid("Send a JSON object with Content-Type: application/json.")
    body = await request.body()
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Invalid("The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise Invalid("Send a JSON object.")
    return data


def text_field(
    data: dict[str, Any], name: str, *, required: bool = True, limit: int = MAX_FIELD
) -> str:
    """A string field from JSON input, cleaned like a form field."""
    value = data.get(name)
    if value is None:
        if required:
            raise Invalid(fields={name: "This field is required."})
        return ""
    if not isinstance(value, str):
        raise Invalid(fields={name: "This field must be a string."})
    if len(value) > limit:
        raise Invalid(fields={name: f"At most {limit} characters."})
    return _clean(value)
