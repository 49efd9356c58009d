"""Each route declares who may reach it, and the declaration is enforced before the handler runs.

Values: "anyone" (the handler asks the policy about what it shows), "signed-in" (anyone with a
session, even pending or suspended: their own account), "member" (an active member), or
"policy" (the service asks the policy for the target, which may be hidden: a 404 then). The
route-walking test fails for a route without a declaration. What "signed-in" and "member" mean
is the policy's (`policy.members`); this module only asks it, with the request's Actor.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request

from forum.errors import DomainError, Invalid
from forum.policy import members
from forum.web.forms import check_csrf, read_form

F = TypeVar("F", bound=Callable[..., Any])
RULES = ("anyone", "signed-in", "member", "policy")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_CHECKS: dict[str, Callable[[Any], None]] = {
    "signed-in": members.check_use_account,
    "member": members.check_active_member,
}


async def _prove_origin(request: Request) -> None:
    """An unsafe request proves it came from this site before anything else is said about it:
    a forged form gets the CSRF refusal, whoever it claims to be. (Only on the refusal path:
    allowed requests leave this to the handler, which reads the form once.)"""
    if request.method not in UNSAFE:
        return
    ctx = request.state.ctx
    if request.url.path.startswith("/api/"):
        if ctx.session is not None:
            check_csrf(ctx, request.headers.get("x-csrf-token", ""))
        return
    with contextlib.suppress(Invalid):
        await read_form(request)


def access(rule: str) -> Callable[[F], F]:
    if rule not in RULES:
        raise ValueError(f"unknown access rule {rule!r}")
    check = _CHECKS.get(rule)

    def mark(fn: F) -> F:
        if check is None:
            # "anyone" and "policy": the handler's service asks the policy for its target.
            setattr(fn, "__access__", rule)  # noqa: B010 - functions take attributes
            return fn

        @functools.wraps(fn)
        async def enforced(request: Request, *args: Any, **kwargs: Any) -> Any:
            try:
                check(request.state.ctx.actor)
            except DomainError:
                await _prove_origin(request)
                raise
            # API handlers also take their declared path, query and body models.
            return await fn(request, *args, **kwargs)

        setattr(enforced, "__access__", rule)  # noqa: B010 - functions take attributes
        return enforced  # type: ignore[return-value]

    return mark
