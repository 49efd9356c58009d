"""Reading form input, with the CSRF token checked on every unsafe request.

Handlers never touch `request.form()` directly: going through `read_form` is what
guarantees that no unsafe request skips the CSRF check. The fields are then validated with the
same models as the JSON API (`forum.schemas.parse.from_form`).
"""

from __future__ import annotations

from python_multipart.exceptions import MultipartParseError
from starlette.requests import Request

from forum.errors import DomainError, Forbidden, Invalid
from forum.limits import MAX_FIELD
from forum.schemas.base import clean_text
from forum.security import tokens_match
from forum.services.context import Ctx


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


_clean = clean_text  # one cleaning for form fields and the models' text fields
