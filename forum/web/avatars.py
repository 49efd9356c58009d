"""Avatars drawn from a member's initials and a colour: no uploads, nothing to moderate.

The colour comes from the member's handle (the same on every page and every process), from a
palette whose every entry carries white text at a contrast of at least 4.5:1 (static CSS
classes `av-0` .. `av-9`, as the Content-Security-Policy allows no inline styles). The avatar is
`aria-hidden`: the name is always written beside it.
"""

from __future__ import annotations

import zlib

from markupsafe import Markup, escape

PALETTE = 10


def initials(display_name: str, handle: str) -> str:
    """Up to two letters: the first of the name's first and last words, else of the handle."""
    words = [w for w in display_name.split() if w[:1].isalnum()]
    if len(words) >= 2:
        return (words[0][0] + words[-1][0]).upper()
    if words:
        return words[0][0].upper()
    return (handle[:1] or "?").upper()


def colour(handle: str) -> int:
    return zlib.crc32(handle.lower().encode()) % PALETTE


def avatar(handle: str, display_name: str, size: str = "") -> Markup:
    cls = f"avatar av-{colour(handle)}" + (f" avatar-{size}" if size else "")
    letters = escape(initials(display_name, handle))
    return Markup(f'<span class="{cls}" aria-hidden="true">{letters}</span>')  # noqa: S704 - escaped
