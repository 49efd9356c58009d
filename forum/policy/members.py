"""Members and the site: profiles, accounts, and what admins and facilitators do to members."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from tortoise.expressions import Q

from forum.policy.actors import Actor, deny, is_admin, is_site_moderator, seated

if TYPE_CHECKING:
    from forum.models import Member


# Active members see each other's public profile (never their caucuses); a member still waiting
# for approval is seen by admins only.
def can_see_profile(actor: Actor, member: Member | None = None) -> bool:
    if not actor.is_member:
        return False
    return member is None or member.status != "pending" or is_admin(actor)


def check_see_profile(actor: Actor, member: Member | None = None) -> None:
    if not can_see_profile(actor, member):
        deny(actor, True)


# Active members browse the directory of active members (names, handles, pronouns: never a
# caucus or a role's powers).
def can_see_directory(actor: Actor, _target: Any = None) -> bool:
    return actor.is_member


def check_see_directory(actor: Actor) -> None:
    if not can_see_directory(actor):
        deny(actor, True)


def directory_members() -> Q:
    """The members the directory lists: active ones (pending and suspended are not shown)."""
    return Q(status="active")


# A member's caucuses are shown to a viewer only where the viewer holds an active seat too. A
# caucus's member list is read by its members alone, so nobody outside it (admins and
# facilitators included) learns from a profile that someone sits in it, even a listed one.
def shared_seats(actor: Actor) -> Q | None:
    """A filter over caucus memberships (seats of the profile's member), or None when the
    viewer sits nowhere and so may be shown none."""
    mine = seated(actor)
    return Q(caucus_id__in=mine, status="active") if mine else None


# Anyone signed in uses their own account (its page, notifications, password), even while
# pending or suspended.
def can_use_account(actor: Actor, _target: Any = None) -> bool:
    return actor.signed_in


def check_use_account(actor: Actor) -> None:
    if not can_use_account(actor):
        deny(actor, True)


# Active members take part: they post, found caucuses, read the moderation log. Pending and
# suspended members do not.
def can_take_part(actor: Actor, _target: Any = None) -> bool:
    return actor.is_member


def check_active_member(actor: Actor) -> None:
    if not can_take_part(actor):
        deny(actor, True)


# Admins manage members, roles, invites, open channels and published statements.
def can_administer(actor: Actor, _target: Any = None) -> bool:
    return is_admin(actor)


def check_administer(actor: Actor) -> None:
    if not can_administer(actor):
        deny(actor, True)


# Admins invite people: they make invite links (one, several at once, or mailed to a list of
# addresses), see every invite with what became of it and the link of each unused one, and
# revoke any unused invite, whoever made it: an invite is the forum's door, not one admin's.
def can_invite(actor: Actor, _target: Any = None) -> bool:
    return is_admin(actor)


def check_invite(actor: Actor) -> None:
    if not can_invite(actor):
        deny(actor, True)


# Whoever holds a usable invite link (anyone: the link is their authority) learns who made it
# and when, so a real invitation can be told from a forged one. A used, revoked or expired link
# says only what became of it, never who made it or who used it.
def can_see_invite_maker(_actor: Actor, invite_state: str) -> bool:
    return invite_state == "usable"


# Admins and facilitators suspend and reinstate members, never themselves; only admins may act
# on an admin (the last-admin rule is checked in the service, which can count).
def can_suspend(actor: Actor, member: Member | None = None) -> bool:
    if not is_site_moderator(actor):
        return False
    if member is None:
        return True
    if member.id == actor.member_id:
        return False
    return member.role != "admin" or is_admin(actor)


def check_suspend(actor: Actor, member: Member | None = None) -> None:
    if not can_suspend(actor, member):
        deny(actor, True)


# The forum keeps at least one active admin: whether a member holds the admin role.
def is_admin_account(member: Member) -> bool:
    return member.role == "admin"


# A token lends its holder's site role (facilitator or admin) only with the `admin` scope, and
# only members who hold such a role are offered that scope. Without it the token answers every
# rule as a plain member would; caucus seats are the member's own and stay.
def can_lend_site_role(actor: Actor, _target: Any = None) -> bool:
    return is_site_moderator(actor)


def token_actor(actor: Actor, scopes: frozenset[str]) -> Actor:
    if "admin" in scopes:
        return actor
    return dataclasses.replace(actor, role="member")
