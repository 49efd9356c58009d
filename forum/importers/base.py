"""Shared types and limits for the statement importers.

Kept apart from ``__init__`` so the format modules can import them without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_TITLE_CHARS = 300
MAX_BODY_CHARS = 200_000


@dataclass(frozen=True)
class StatementData:
    """One statement ready to be stored; the body is markdown source."""

    title: str
    body: str
    author: str | None
    source_url: str | None
    published_at: datetime | None
    external_id: str | None
    caption: str | None = None


class ImportProblem(Exception):
    """A source that cannot be imported; str() is a clear one-line message naming the problem."""


def limit_problem(title: str, body: str) -> str | None:
    """Say why a cleaned title/body pair breaks the size limits, or return None if it fits."""
    if not title:
        return "no title"
    if len(title) > MAX_TITLE_CHARS:
        return (
            f"the title is {len(title):,} characters long; a title can have at most "
            f"{MAX_TITLE_CHARS}"
        )
    if not body.strip():
        return "no content"
    if len(body) > MAX_BODY_CHARS:
        return (
            f"the text is {len(body):,} characters long; a statement can have at most "
            f"{MAX_BODY_CHARS:,}"
        )
    return None


def summarise_problems(problems: list[str], *, limit: int = 5) -> str:
    """Join per-item problems into one line, cutting long lists so the message stays readable."""
    shown = "; ".join(problems[:limit])
    if len(problems) > limit:
        shown += f"; and {len(problems) - limit} more"
    return shown
