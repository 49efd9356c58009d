"""The JSON API under /api/v1: the same services as the pages, answering JSON."""

from __future__ import annotations

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    return []
