"""The JSON API under /api/v1: the same services as the pages, answering JSON.

Each module lists its `ENDPOINTS` (route, models, summary: see `forum.web.api.base`); adding a
module to `MODULES` mounts its routes and documents them in /api/v1/openapi.json, generated from
the models.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from forum.web.access import access
from forum.web.api import (
    accounts,
    caucuses,
    channels,
    decisions,
    follows,
    inbox,
    invites,
    mail_prefs,
    moderation,
    openapi,
    people,
    reports,
    statements,
    threads,
    tokens,
)
from forum.web.api.base import Endpoint

MODULES: list[ModuleType] = [
    accounts,
    channels,
    threads,
    statements,
    inbox,
    caucuses,
    moderation,
    tokens,
    invites,
    decisions,
    mail_prefs,
    reports,
    people,
    follows,
]


def endpoints() -> list[Endpoint]:
    return [endpoint for module in MODULES for endpoint in module.ENDPOINTS]


@cache
def document() -> dict[str, Any]:
    return openapi.document(endpoints())


@access("anyone")
async def openapi_json(request: Request) -> Response:
    return JSONResponse(document())


def routes() -> list[BaseRoute]:
    # One route per method: Starlette answers 405 (JSON, via the error handlers) for a path
    # that exists with another method.
    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        *(Route(e.path, e.view(), methods=[e.method]) for e in endpoints()),
    ]
