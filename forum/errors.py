"""Domain errors raised by services and the policy; the web layer maps them to pages and JSON."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "invalid"
    default_message = "That request could not be completed."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class NotFound(DomainError):
    """Missing, or not readable by this actor: the two are indistinguishable on purpose."""

    status = 404
    code = "not_found"
    default_message = "There is nothing here, or you cannot see it."

    def __init__(self, message: str | None = None) -> None:
        # Never let a caller's detail leak what exists; every NotFound reads the same.
        super().__init__(None)


class Forbidden(DomainError):
    """The actor can see the thing but may not do this to it."""

    status = 403
    code = "forbidden"
    default_message = "You are not allowed to do that."


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    default_message = "Please sign in first."


class Invalid(DomainError):
    """Input that cannot be accepted; `fields` maps a field name to its message."""

    status = 400
    code = "invalid"
    default_message = "Please correct the highlighted fields."

    def __init__(self, message: str | None = None, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class Unprocessable(Invalid):
    """Well-formed input the forum will not process, such as a post too slow to render."""

    status = 422


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = "That conflicts with the current state."


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    default_message = "Too many attempts. Please wait a moment and try again."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
