"""Members as the API shows them, and the account forms' input."""

from __future__ import annotations

from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field

from forum import limits
from forum.schemas.base import CLEAN, Count, Id, Input, Output, When


class MemberRef(Output):
    """A member as shown beside their posts."""

    handle: str
    display_name: str


class Me(Output):
    id: Id
    handle: str
    display_name: str
    role: Literal["member", "facilitator", "admin"]
    status: Literal["pending", "active", "suspended"]
    unread_notifications: Count
    created_at: When
    email: str | None = Field(description="The member's address (null: none yet).")
    email_confirmed: bool = Field(description="Whether the member followed its link.")


# ---- input: the account forms ------------------------------------------------------------------
# Only sizes here; what a handle may look like, how short a password may be, whether an invite is
# still good, all stay with `forum.services.accounts`. Passwords are not cleaned (every character
# counts) and never shown again.

Password = Annotated[str, Field(max_length=limits.MAX_PASSWORD)]
DisplayName = Annotated[str, Field(max_length=limits.MAX_DISPLAY_NAME), CLEAN]
EMAIL_MESSAGE = "Enter an email address, such as name@example.org."


def _email_address(value: str) -> str:
    """An address as `email-validator` normalises it (its syntax only: no DNS lookup)."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


EmailAddress = Annotated[
    str,
    Field(
        max_length=limits.MAX_EMAIL,
        json_schema_extra={"format": "email"},
        examples=["amara@example.org"],
    ),
    AfterValidator(_email_address),
]
Token = Annotated[
    str,
    Field(
        min_length=1,
        max_length=limits.MAX_INVITE_TOKEN,
        description="The token from the emailed link (what follows `token=`).",
    ),
]


class Login(Input):
    """The sign-in form."""

    handle: Annotated[str, Field(max_length=limits.MAX_HANDLE_INPUT)]
    password: Password


class SignUp(Input):
    """The sign-up form."""

    MESSAGES = {"email": EMAIL_MESSAGE}

    handle: Annotated[str, Field(max_length=limits.MAX_HANDLE)]
    email: EmailAddress
    display_name: DisplayName = ""
    password: Password
    invite: Annotated[str, Field(max_length=limits.MAX_INVITE_TOKEN)] = ""


class Profile(Input):
    """The account page's profile form (pronouns and bio left out: unchanged)."""

    display_name: DisplayName
    pronouns: Annotated[str, Field(max_length=limits.MAX_PRONOUNS), CLEAN] | None = None
    bio: Annotated[str, Field(max_length=limits.MAX_BIO), CLEAN] | None = None


class NewPassword(Input):
    """The account page's password form."""

    current: Password
    new: Password
    confirm: Password


class ForgotPassword(Input):
    """Asking for a password-reset link: the account's email address or its handle."""

    address: Annotated[
        str,
        Field(
            max_length=limits.MAX_EMAIL,
            description="The account's email address, or its handle.",
            examples=["amara@example.org"],
        ),
        CLEAN,
    ]


class ResetPassword(Input):
    """Setting a new password with the token of a reset link."""

    token: Token
    new: Password
    confirm: Password


class ConfirmEmail(Input):
    """Confirming an address with the token of a confirmation link."""

    token: Token


class ChangeEmail(Input):
    """Asking to change one's address: a link goes to the new one, which counts once followed."""

    MESSAGES = {"email": EMAIL_MESSAGE}

    email: EmailAddress
    password: Password


class MailSent(Output):
    """What was done; the same words whether or not an account matched."""

    message: str


class EmailConfirmed(Output):
    email: str
