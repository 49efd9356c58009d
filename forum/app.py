"""create_app(settings): the only wiring of routes, middleware, lifespan and error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from tortoise.contrib.starlette import RegisterTortoise

from forum.db import tortoise_config
from forum.security import Hasher, Throttle
from forum.services.context import Services
from forum.settings import Settings
from forum.web import errors
from forum.web.middleware import BodyTooLarge, ForumMiddleware
from forum.web.routes import routes


def create_app(settings: Settings) -> Starlette:
    services = Services(
        settings=settings,
        hasher=Hasher(settings.hash_threads),
        throttle=Throttle(settings.redis_url),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            yield

    handlers = dict(errors.HANDLERS)
    handlers[BodyTooLarge] = errors.too_large
    app = Starlette(
        routes=routes(),
        middleware=[Middleware(ForumMiddleware, services=services)],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.services = services
    return app
