"""Personal API tokens: issued, listed and revoked by their member, expiring, and held to
their scopes (`read`, `write`, `admin`; see forum.web.middleware for where scopes are enforced).

A token is a sign-in: "sign out everywhere", a password change (accounts.end_all_sessions) and
a suspension (accounts.suspend) revoke every token of the member."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from forum import limits, policy
from forum.errors import Forbidden, Invalid, NotFound
from forum.models import ApiToken, Member
from forum.models.members import TOKEN_SCOPES
from forum.policy import Action
from forum.security import new_token, token_digest
from forum.services.context import Ctx

# A token's last-used time is written at most this often, so API reads cost no write.
TOUCH_EVERY = timedelta(minutes=1)
MAX_DAYS = limits.MAX_TOKEN_DAYS
# Live tokens a member may hold at once: a list a person can still read and prune.
MAX_TOKENS = 50
MAX_NAME = limits.MAX_TOKEN_NAME


def now() -> datetime:
    return datetime.now(UTC)


def _clean_name(value: str) -> str:
    return " ".join(value.split())[:MAX_NAME]


async def token_for(token: str) -> ApiToken | None:
    """The live API token for a bearer value, with its member loaded, or None: unknown,
    revoked, expired, or its member cannot sign in."""
    if not token or len(token) > 100:
        return None
    row = await ApiToken.filter(token_hash=token_digest(token)).select_related("member").first()
    if row is None or row.revoked_at is not None:
        return None
    moment = now()
    if row.expires_at is not None and row.expires_at <= moment:
        return None
    member: Member = row.member
    if member.status != "active":
        return None
    if row.last_used_at is None or moment - row.last_used_at > TOUCH_EVERY:
        row.last_used_at = moment
        await ApiToken.filter(id=row.id).update(last_used_at=moment)
    return row


async def api_token_member(token: str) -> Member | None:
    row = await token_for(token)
    return row.member if row is not None else None


def scopes_of(row: ApiToken) -> frozenset[str]:
    return frozenset(row.scopes.split()) & frozenset(TOKEN_SCOPES)



def clean_scopes(values: Iterable[str]) -> str:
    """The stored form of requested scopes: known names only, `read` always included (every
    token may read), in a fixed order."""
    wanted = {str(v).strip().lower() for v in values if str(v).strip()}
    unknown = wanted - set(TOKEN_SCOPES)
    if unknown:
        raise Invalid(fields={"scopes": f"Scopes are {', '.join(TOKEN_SCOPES)}."})
    wanted.add("read")
    return " ".join(s for s in TOKEN_SCOPES if s in wanted)


async def create_api_token(
    member: Member,
    label: str = "",
    *,
    scopes: Iterable[str] = ("read",),
    expires_days: int | None = None,
) -> str:
    """A new personal API token for `member` (the CLI and tests; members use `issue`). The
    token is returned once; the database keeps its hash."""
    token, _ = await _new_token_row(member.id, label, scopes, expires_days)
    return token


async def _new_token_row(
    member_id: int,
    label: str,
    scopes: Iterable[str],
    expires_days: int | None,
    made_by: int | None = None,
) -> tuple[str, ApiToken]:
    name = _clean_name(label) or "unnamed"
    stored = clean_scopes(scopes)
    if expires_days is not None and not 1 <= expires_days <= MAX_DAYS:
        raise Invalid(
            fields={"expires_days": f"Between 1 and {MAX_DAYS} days, or none for no end."}
        )
    if await ApiToken.filter(member_id=member_id, revoked_at=None).count() >= MAX_TOKENS:
        raise Invalid(f"You hold {MAX_TOKENS} tokens already: revoke one you no longer use.")
    token = new_token()
    row = await ApiToken.create(
        token_hash=token_digest(token),
        member_id=member_id,
        label=name,
        scopes=stored,
        expires_at=now() + timedelta(days=expires_days) if expires_days else None,
        made_by_id=made_by,
    )
    return token, row


async def issue(
    ctx: Ctx, name: str, scopes: Iterable[str], expires_days: int | None
) -> tuple[str, ApiToken]:
    """A token for the signed-in member. A token may only issue tokens within its own scopes,
    so a `write` token cannot mint an `admin` one."""
    policy.require(ctx.actor, Action.USE_ACCOUNT)
    assert ctx.member is not None
    if not _clean_name(name):
        raise Invalid(fields={"name": "Name the token after what will use it."})
    if len(name) > MAX_NAME:
        raise Invalid(fields={"name": f"At most {MAX_NAME} characters."})
    wanted = clean_scopes(scopes).split()
    if ctx.via_token and not set(wanted) <= ctx.token_scopes:
        raise Forbidden("A token can only create tokens with scopes it holds itself.")
    ends = ctx.token_expires_at if ctx.via_token else None
    if ends is not None:
        # A token that expires makes only tokens that expire with it or sooner, or its expiry
        # would bound nothing.
        left = max(1, math.ceil((ends - now()).total_seconds() / 86400))
        if expires_days is None or expires_days > left:
            raise Invalid(
                fields={
                    "expires_days": f"This token expires in {left} day{'s' if left != 1 else ''}: "
                    "the tokens it makes expire no later."
                }
            )
    made_by = ctx.token_id if ctx.via_token else None
    token, row = await _new_token_row(ctx.member.id, name, wanted, expires_days, made_by)
    if ends is not None and row.expires_at is not None and row.expires_at > ends:
        row.expires_at = ends
        await ApiToken.filter(id=row.id).update(expires_at=ends)
    return token, row


async def list_mine(ctx: Ctx) -> list[ApiToken]:
    """The signed-in member's tokens that are not revoked, newest first (expired ones too, so
    the member sees why a script stopped)."""
    policy.require(ctx.actor, Action.USE_ACCOUNT)
    assert ctx.member is not None
    return await ApiToken.filter(member_id=ctx.member.id, revoked_at=None).order_by("-id")


async def revoke(ctx: Ctx, token_id: int) -> None:
    """Revoke one of the signed-in member's tokens; another member's is simply not found."""
    policy.require(ctx.actor, Action.USE_ACCOUNT)
    assert ctx.member is not None
    moment = now()
    revoked = await ApiToken.filter(id=token_id, member_id=ctx.member.id, revoked_at=None).update(
        revoked_at=moment
    )
    if not revoked:
        raise NotFound()
    # And every token it made, and what those made: a leaked token leaves no copies working.
    made = [token_id]
    while made:
        rows = await ApiToken.filter(made_by_id__in=made, revoked_at=None).values("id")
        made = [int(row["id"]) for row in rows]
        if made:
            await ApiToken.filter(id__in=made).update(revoked_at=moment)


async def revoke_all(member_id: int, conn: BaseDBAsyncClient | None = None) -> None:
    await (
        ApiToken.filter(member_id=member_id, revoked_at=None)
        .using_db(conn)
        .update(revoked_at=now())
    )
