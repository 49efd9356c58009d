"""Members and their access: sign-up, sign-in, sessions, passwords, invites and API tokens."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from forum import limits, policy
from forum.db import sql_for
from forum.errors import Forbidden, Invalid, NotFound
from forum.models import CommitteeSeat, Invite, Member, Session, SignInAddress
from forum.models.members import ROLES
from forum.policy import Action, Actor
from forum.realtime.events import Tx, unit_of_work
from forum.security import new_token, token_digest
from forum.services import addresses, invites, post_rows, tokens
from forum.services.context import Ctx, Services
from forum.services.joined import JoinedQuery, Part

# Kept here for callers from before tokens had their own module.
from forum.services.tokens import api_token_member as api_token_member
from forum.services.tokens import create_api_token as create_api_token
from forum.settings import Settings

HANDLE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")
MIN_PASSWORD = limits.MIN_PASSWORD
MAX_PASSWORD = limits.MAX_PASSWORD
GENERIC_LOGIN_ERROR = "That handle and password do not match an account that can sign in."
# A session's last-seen time is written at most this often, so reading pages costs no write.
TOUCH_EVERY = timedelta(minutes=5)
# Failed sign-ins from an address the member signed in from this recently do not count toward
# the member's per-handle limit (the per-address limit still holds).
KNOWN_ADDRESS_DAYS = 30


def now() -> datetime:
    return datetime.now(UTC)


def _clean_text(value: str, limit: int) -> str:
    return " ".join(value.split())[:limit]


def validate_handle(handle: str) -> str | None:
    if not handle:
        return "Choose a handle."
    if len(handle) > limits.MAX_HANDLE or len(handle) < limits.MIN_HANDLE:
        return f"A handle has {limits.MIN_HANDLE} to {limits.MAX_HANDLE} characters."
    if not HANDLE_RE.match(handle):
        return "Use letters, digits, - and _ only, starting with a letter or digit."
    if handle.lower() == policy.follows.FACILITATORS:
        return "That name is kept: @facilitators asks the facilitators. Choose another."
    return None


def validate_password(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD:,} characters."
    if len(password) > MAX_PASSWORD:
        return f"Use at most {MAX_PASSWORD:,} characters."
    return None


def sign_up_rules(handle: str, password: str) -> dict[str, str]:
    """What is wrong with a new handle and password, by field, before any lookup (the sign-up
    form shows these beside the input model's size errors, so every fault shows at once)."""
    errors: dict[str, str] = {}
    if msg := validate_handle(handle.strip()):
        errors["handle"] = msg
    if msg := validate_password(password):
        errors["password"] = msg
    return errors


async def load_actor(member: Member | None, token_scopes: frozenset[str] | None = None) -> Actor:
    """The Actor for a member: role, status and caucus seats, in one query (none if anonymous).
    With `token_scopes` (a request made with an API token), as that token may act: the policy's
    `members.token_actor`."""
    if member is None:
        return Actor.anonymous()
    conn = connections.get("default")
    _, rows = await conn.execute_query(
        sql_for(conn, "SELECT caucus_id, role, status FROM caucus_membership WHERE member_id = ?"),
        [member.id],
    )
    found = (tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows)
    return actor_of(member, [(int(c), str(r), str(s)) for c, r, s in found], token_scopes)


def actor_of(
    member: Member,
    rows: list[tuple[int, str, str]],
    token_scopes: frozenset[str] | None = None,
) -> Actor:
    """The Actor for a member and their seats' (caucus, role, status) rows."""
    seats: dict[int, str] = {}
    pending: set[int] = set()
    for caucus_id, role, status in rows:
        if status == "active":
            seats[caucus_id] = role
        else:
            pending.add(caucus_id)
    actor = Actor(
        member_id=member.id,
        handle=member.handle,
        role=member.role,
        status=member.status,
        seats=seats,
        pending_seats=frozenset(pending),
    )
    return actor if token_scopes is None else policy.members.token_actor(actor, token_scopes)


# ---- sign-up -------------------------------------------------------------------------------


async def find_invite(token: str) -> Invite | None:
    """The usable invite a link names, or None."""
    invite, state = await invites.find(token)
    return invite if state == "usable" else None


async def sign_up(
    ctx: Ctx,
    *,
    handle: str,
    display_name: str,
    password: str,
    invite_token: str = "",
    email: str = "",
) -> Member:
    """Create a member. Invite mode needs a valid invite; approval mode creates a pending member
    whom an admin approves; open mode creates an active member. `email` (required: the schema
    has checked its form) gets a confirmation link (`addresses.ask_confirmation`)."""
    await ctx.services.throttle.hit(ctx.settings.signup_rate, "signup", ctx.address)
    errors = sign_up_rules(handle, password)
    if not email:
        errors["email"] = "Enter your email address: it is how you get back in if you forget."
    handle = handle.strip()
    display_name = _clean_text(display_name, limits.MAX_DISPLAY_NAME) or handle
    invite = None
    mode = ctx.settings.signup
    if mode == "invite" or invite_token:
        invite, state = await invites.find(invite_token)
        if invite is None or state != "usable":
            invite = None
            errors["invite"] = invites.MESSAGES[state]
    if not errors and await Member.exists(handle_key=handle.lower()):
        errors["handle"] = "That handle is taken."
    if errors:
        raise Invalid(fields=errors)
    password_hash = await ctx.services.hasher.hash(password)
    status = "active" if (invite is not None or mode == "open") else "pending"
    role = invite.role if invite is not None else "member"
    try:
        async with in_transaction() as conn:
            member = await Member.create(
                handle=handle,
                handle_key=handle.lower(),
                display_name=display_name,
                password_hash=password_hash,
                role=role,
                status=status,
                using_db=conn,
            )
            if invite is not None:
                claimed = (
                    await Invite.filter(id=invite.id, used_by_id=None, revoked_at=None)
                    .using_db(conn)
                    .update(used_by_id=member.id, used_at=now(), sealed=None)
                )
                if not claimed:  # used (or revoked) a moment ago
                    raise Invalid(fields={"invite": "This invite link has just been used."})
            await addresses.ask_confirmation(conn, ctx.settings, member, email)
    except IntegrityError:
        raise Invalid(fields={"handle": "That handle is taken."}) from None
    ctx.services.wake_mail()
    return member


async def create_member(
    services: Services,
    handle: str,
    password: str,
    role: str = "member",
    display_name: str = "",
    email: str = "",
    email_confirmed: bool = False,
) -> Member:
    """Create an active member directly (the CLI and demo data). An `email` given here is the
    member's address at once (an admin gave it: password resets go to it), and a link asks the
    member to confirm it, which notifications wait for; `email_confirmed` (the demo) skips that."""
    if msg := validate_handle(handle):
        raise Invalid(fields={"handle": msg})
    if msg := validate_password(password):
        raise Invalid(fields={"password": msg})
    if role not in ROLES:
        raise Invalid(fields={"role": f"Role must be one of {', '.join(ROLES)}."})
    if await Member.exists(handle_key=handle.lower()):
        raise Invalid(fields={"handle": "That handle is taken."})
    if email:
        email = addresses.normalised(email)
        if await Member.exists(email_key=addresses.email_key(email)):
            raise Invalid(fields={"email": "Another member has that email address."})
    password_hash = await services.hasher.hash(password)
    async with in_transaction() as conn:
        member = await Member.create(
            handle=handle,
            handle_key=handle.lower(),
            display_name=display_name or handle,
            password_hash=password_hash,
            role=role,
            status="active",
            email=email or None,
            email_key=addresses.email_key(email) if email else None,
            email_confirmed_at=now() if email and email_confirmed else None,
            using_db=conn,
        )
        if email and not email_confirmed:
            await addresses.ask_confirmation(conn, services.settings, member, email)
    services.wake_mail()
    return member


# ---- sign-in and sessions ------------------------------------------------------------------


async def authenticate(ctx: Ctx, handle: str, password: str) -> Member:
    """Check a handle and password. Every failure (unknown handle, wrong password, pending or
    suspended member) gives the same message after the same work.

    Failures are throttled per address, always, and per handle, but only for addresses the
    member has not signed in from in the last KNOWN_ADDRESS_DAYS: a stranger's wrong
    passwords cannot keep the member out of their usual places, while guessing one member's
    password from many addresses still stops at the per-handle limit."""
    throttle = ctx.services.throttle
    rate = ctx.settings.login_rate
    key = handle.strip().lower()[:64]
    await throttle.peek(rate, "login-addr", ctx.address)
    member = await Member.get_or_none(handle_key=key) if HANDLE_RE.match(key) else None
    place = address_digest(ctx.settings.secret_key, ctx.address)
    # Asked for unknown handles too (member id 0 matches nothing), so both take the same work.
    known = await _known_address(member.id if member else 0, place) and member is not None
    if not known:
        await throttle.peek(rate, "login-handle", key)
    ok, new_hash = await ctx.services.hasher.verify(
        password[:MAX_PASSWORD], member.password_hash if member else None
    )
    if member is not None and ok:
        _lift_expired_suspension(member)
    if member is None or not ok:
        await throttle.hit(rate, "login-addr", ctx.address)
        if not known:
            await throttle.hit(rate, "login-handle", key)
        raise Invalid(GENERIC_LOGIN_ERROR, fields={"password": GENERIC_LOGIN_ERROR})
    if member.status != "active":
        # The password is right: they proved who they are, so they are told why they cannot
        # come in (a suspension's reason and end, or an approval still waited for).
        await member.save(update_fields=["password_hash", "status", "suspended_until"])
        raise CannotSignIn(member)
    if new_hash:
        member.password_hash = new_hash
    await member.save(update_fields=["password_hash", "status", "suspended_until"])
    await _remember_address(member.id, place)
    return member


class CannotSignIn(Invalid):
    """The right password for an account that may not sign in now (suspended or pending)."""

    def __init__(self, member: Member) -> None:
        super().__init__(GENERIC_LOGIN_ERROR)
        self.member = member


def address_digest(secret: str, address: str) -> str:
    """What the database keeps of a sign-in address: a hash keyed with the site's secret."""
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()


async def _known_address(member_id: int, place: str) -> bool:
    since = now() - timedelta(days=KNOWN_ADDRESS_DAYS)
    return await SignInAddress.exists(member_id=member_id, address_hash=place, last_at__gt=since)


async def _remember_address(member_id: int, place: str) -> None:
    moment = now()
    await SignInAddress.filter(
        member_id=member_id, last_at__lt=moment - timedelta(days=KNOWN_ADDRESS_DAYS)
    ).delete()
    updated = await SignInAddress.filter(member_id=member_id, address_hash=place).update(
        last_at=moment
    )
    if not updated:
        # IntegrityError: the same member signed in from here a moment ago.
        with contextlib.suppress(IntegrityError):
            await SignInAddress.create(member_id=member_id, address_hash=place, last_at=moment)


def _lift_expired_suspension(member: Member) -> None:
    if member.status == "suspended" and member.suspended_until and member.suspended_until < now():
        member.status = "active"
        member.suspended_until = None


async def start_session(member: Member, user_agent: str, replacing: Session | None) -> str:
    """A fresh session (a new random token: rotated on every sign-in); the old one, if any, ends."""
    token = new_token()
    moment = now()
    async with in_transaction() as conn:
        if replacing is not None:
            await Session.filter(id=replacing.id).using_db(conn).delete()
        await Session.create(
            token_hash=token_digest(token),
            member=member,
            csrf_token=new_token(),
            created_at=moment,
            last_seen_at=moment,
            user_agent=user_agent[:200],
            using_db=conn,
        )
    return token


# Every request of a signed-in member starts here, so the query is prepared once.
SESSION_QUERY = JoinedQuery(
    [
        Part(Session, "s"),
        Part(Member, "m", "member"),
        # The member's caucus seats, "caucus:role:status" space-separated (see actor_of).
        Part(
            None,
            "seats",
            sql="(SELECT {agg}(CAST(cm.caucus_id AS TEXT) || ':' || cm.role || ':' || cm.status, "
            "' ') FROM caucus_membership cm WHERE cm.member_id = m.id)",
        ),
    ],
    "session s JOIN member m ON m.id = s.member_id",
    "s.token_hash = ?",
    words={"sqlite": {"agg": "group_concat"}, "postgres": {"agg": "string_agg"}},
)


def session_expired(
    settings: Settings, created_at: datetime, last_seen_at: datetime, moment: datetime
) -> bool:
    """A session ends after `session_idle_seconds` without a request, and after
    `session_absolute_seconds` in any case (open websockets are closed by the same rule)."""
    return moment - last_seen_at > timedelta(
        seconds=settings.session_idle_seconds
    ) or moment - created_at > timedelta(seconds=settings.session_absolute_seconds)


def _seat_rows(text: str | None) -> list[tuple[int, str, str]]:
    rows = []
    for item in (text or "").split():
        caucus, _, rest = item.partition(":")
        role, _, status = rest.partition(":")
        if caucus.isdigit() and status:
            rows.append((int(caucus), role, status))
    return rows


async def signed_in(services: Services, token: str | None) -> tuple[Session, Actor] | None:
    """The live session for a cookie value, with its member loaded, and the member's Actor
    (their caucus seats come in the same query); None when there is none. Sessions past their
    idle or absolute limit, and those of members who can no longer sign in, end here."""
    if not token or len(token) > 100:
        return None
    found, extras = await SESSION_QUERY.first([token_digest(token)])
    session = found if isinstance(found, Session) else None
    if session is None:
        return None
    moment = now()
    expired = session_expired(services.settings, session.created_at, session.last_seen_at, moment)
    member: Member = session.member
    if expired or member.status == "suspended":
        await Session.filter(id=session.id).delete()
        return None
    if moment - session.last_seen_at > TOUCH_EVERY:
        session.last_seen_at = moment
        await Session.filter(id=session.id).update(last_seen_at=moment)
    return session, actor_of(member, _seat_rows(extras.get("seats")))


async def end_sessions_by_token(tokens: list[str]) -> None:
    """End the sessions these cookie values name (two session cookies in one request: the
    middleware trusts neither, and a planted one must not outlive the confusion)."""
    digests = [token_digest(t) for t in tokens[:10] if t and len(t) <= 100]
    if digests:
        await Session.filter(token_hash__in=digests).delete()


async def _access_changed(tx: Tx, member_id: int, change: str) -> None:
    """Announce on the member's own topic, in the transaction of the change, that what they may
    read changed: every process narrows or closes their open sockets from this event."""
    await tx.emit("member", member_id, "access.changed", {"change": change})


async def end_session(ctx: Ctx) -> None:
    if ctx.session is not None:
        async with unit_of_work(ctx.services.publish) as tx:
            await Session.filter(id=ctx.session.id).using_db(tx.conn).delete()
            await _access_changed(tx, ctx.session.member_id, "session_ended")


async def end_all_sessions(ctx: Ctx, member_id: int) -> None:
    """Sign out everywhere (and after a password change): every session ends and every API
    token is revoked, since a token is a sign-in too."""
    async with unit_of_work(ctx.services.publish) as tx:
        await end_everywhere(tx, member_id)


async def end_everywhere(tx: Tx, member_id: int) -> None:
    """In the caller's transaction: every session of the member ends, every API token is
    revoked, and their open sockets close (sign out everywhere, password change or reset)."""
    await Session.filter(member_id=member_id).using_db(tx.conn).delete()
    await tokens.revoke_all(member_id, tx.conn)
    await _access_changed(tx, member_id, "sessions_ended")


async def change_password(ctx: Ctx, current: str, new: str, confirm: str) -> str:
    """Change the signed-in member's password: every session ends, and this browser gets a new
    one (the returned token) so the member stays signed in here."""
    policy.require(ctx.actor, Action.USE_ACCOUNT)
    member = ctx.member
    assert member is not None
    errors: dict[str, str] = {}
    ok, _ = await ctx.services.hasher.verify(current[:MAX_PASSWORD], member.password_hash)
    if not ok:
        errors["current"] = "That is not your current password."
    if msg := validate_password(new):
        errors["new"] = msg
    elif new != confirm:
        errors["confirm"] = "The two new passwords differ."
    if errors:
        raise Invalid(fields=errors)
    member.password_hash = await ctx.services.hasher.hash(new)
    await member.save(update_fields=["password_hash"])
    await end_all_sessions(ctx, member.id)
    return await start_session(member, ctx.session.user_agent if ctx.session else "", None)


async def update_profile(
    ctx: Ctx, display_name: str, pronouns: str | None = None, bio: str | None = None
) -> Member:
    """The member's own name, pronouns and bio (None: left as they are)."""
    policy.require(ctx.actor, Action.USE_ACCOUNT)
    member = ctx.member
    assert member is not None
    cleaned = _clean_text(display_name, limits.MAX_DISPLAY_NAME)
    if not cleaned:
        raise Invalid(fields={"display_name": "Enter the name to show beside your posts."})
    fields = ["display_name"]
    member.display_name = cleaned
    if pronouns is not None:
        member.pronouns = _clean_text(pronouns, limits.MAX_PRONOUNS)
        fields.append("pronouns")
    if bio is not None:
        if len(bio) > limits.MAX_BIO:
            raise Invalid(fields={"bio": f"Keep the bio under {limits.MAX_BIO} characters."})
        member.bio = bio.strip()
        fields.append("bio")
    await member.save(update_fields=fields)
    # Cached thread pages show names; this process drops them (others catch up on the next
    # event in each thread).
    post_rows.forget()
    return member


# ---- admin ---------------------------------------------------------------------------------


async def member_by_handle(handle: str) -> Member:
    # A handle longer than any can be names no one (and would not fit the column).
    too_long = len(handle) > limits.MAX_HANDLE
    member = None if too_long else await Member.get_or_none(handle_key=handle.lower())
    if member is None:
        raise NotFound()
    return member


async def list_members(ctx: Ctx, status: str | None = None) -> list[Member]:
    policy.require(ctx.actor, Action.ADMIN_MEMBERS)
    query = Member.all().order_by("status", "handle_key")
    if status:
        query = query.filter(status=status)
    return await query.limit(500)


async def approve(ctx: Ctx, handle: str) -> Member:
    policy.require(ctx.actor, Action.ADMIN_MEMBERS)
    member = await member_by_handle(handle)
    if member.status != "pending":
        raise Invalid(f"@{member.handle} is not waiting for approval.")
    member.status = "active"
    await member.save(update_fields=["status"])
    return member


async def set_role(ctx: Ctx, handle: str, role: str) -> Member:
    policy.require(ctx.actor, Action.SET_ROLE)
    if role not in ROLES:
        raise Invalid(fields={"role": "Choose member, facilitator or admin."})
    member = await member_by_handle(handle)
    if policy.is_admin_account(member) and role != "admin":
        await _keep_an_admin(member)
    # Separation of powers: no committee member is made an admin.
    policy.reports.check_role_change(role, await CommitteeSeat.exists(member_id=member.id))
    async with unit_of_work(ctx.services.publish) as tx:
        member.role = role
        await member.save(update_fields=["role"], using_db=tx.conn)
        await _access_changed(tx, member.id, "role")
    return member


async def _keep_an_admin(leaving: Member) -> None:
    others = await Member.filter(role="admin", status="active").exclude(id=leaving.id).count()
    if others == 0:
        raise Forbidden("The forum must keep at least one active admin.")


async def create_invite(
    ctx: Ctx | None, role: str = "member", note: str = "", settings: Settings | None = None
) -> str:
    """A sign-up link token, valid for two weeks (`forum.services.invites`). `ctx` None means
    the CLI (the operator)."""
    return await invites.create_one(ctx, role, note, settings)


async def suspend(ctx: Ctx, handle: str, reason: str, days: int | None) -> Member:
    """Suspend a member site-wide, for `days` or indefinitely: their sessions, API tokens and
    sockets end at once, and the act goes to the moderation log with its reason."""
    from forum.services import moderation_log

    policy.require(ctx.actor, Action.SUSPEND)
    member = await member_by_handle(handle)
    policy.require(ctx.actor, Action.SUSPEND, member)
    reason = reason.strip()
    if not reason:
        raise Invalid(fields={"reason": "Give a reason: the member and the log will show it."})
    if days is not None and not 1 <= days <= 3650:
        raise Invalid(fields={"days": "Between 1 and 3650 days, or leave empty for no end."})
    if member.status == "suspended":
        raise Invalid(f"@{member.handle} is already suspended.")
    if policy.is_admin_account(member):
        await _keep_an_admin(member)
    async with unit_of_work(ctx.services.publish) as tx:
        conn = tx.conn
        member.status = "suspended"
        member.suspension_reason = reason[: limits.MAX_REASON]
        member.suspended_until = now() + timedelta(days=days) if days else None
        await member.save(
            update_fields=["status", "suspension_reason", "suspended_until"], using_db=conn
        )
        # A token is a sign-in too: it ends with the sessions, and reinstatement does not
        # bring it back (the suspension may be for a taken-over account).
        await Session.filter(member_id=member.id).using_db(conn).delete()
        await tokens.revoke_all(member.id, conn)
        until = f" for {days} day{'s' if days != 1 else ''}" if days else " indefinitely"
        await moderation_log.record(
            conn, ctx, "suspend", reason, subject=member, label=f"@{member.handle}{until}"
        )
        await moderation_log.record_in_caucuses(conn, ctx, "suspend", reason, member)
        await _access_changed(tx, member.id, "suspended")
    return member


async def unsuspend(ctx: Ctx, handle: str, reason: str) -> Member:
    from forum.services import moderation, moderation_log

    policy.require(ctx.actor, Action.SUSPEND)
    member = await member_by_handle(handle)
    policy.require(ctx.actor, Action.SUSPEND, member)
    reason = reason.strip()
    if not reason:
        raise Invalid(fields={"reason": "Give a reason: the log will show it."})
    if member.status != "suspended":
        raise Invalid(f"@{member.handle} is not suspended.")
    async with unit_of_work(ctx.services.publish) as tx:
        conn = tx.conn
        member.status = "active"
        member.suspended_until = None
        await member.save(update_fields=["status", "suspended_until"], using_db=conn)
        await moderation_log.record(
            conn, ctx, "unsuspend", reason, subject=member, label=f"@{member.handle}"
        )
        await moderation_log.record_in_caucuses(conn, ctx, "unsuspend", reason, member)
        await moderation.close_suspension_appeals(tx, ctx, member.id, reason)
        await _access_changed(tx, member.id, "reinstated")
    return member
