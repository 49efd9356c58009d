"""Each route declares who may reach it; the policy module still decides every detail.

The declaration is for people and for the route-walking test: a route without one fails the
suite. Values: "anyone" (the handler asks the policy about what it shows), "signed-in",
"member" (an active member), or "policy" (the service asks the policy for the target).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
RULES = ("anyone", "signed-in", "member", "policy")


def access(rule: str) -> Callable[[F], F]:
    if rule not in RULES:
        raise ValueError(f"unknown access rule {rule!r}")

    def mark(fn: F) -> F:
        setattr(fn, "__access__", rule)  # noqa: B010 - functions take attributes
        return fn

    return mark
