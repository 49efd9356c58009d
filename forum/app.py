"""create_app(settings): the only wiring of routes, middleware, lifespan and error handlers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from tortoise.contrib.starlette import RegisterTortoise

from forum import renderer, seams
from forum.db import tortoise_config
from forum.mail.outbox import make_deliverer
from forum.realtime.broker import make_broker
from forum.realtime.events import prune
from forum.realtime.hub import Hub, SocketLimits
from forum.security import Hasher, Throttle
from forum.services.context import Services
from forum.settings import Settings
from forum.web import errors
from forum.web.middleware import BodyTooLarge, ForumMiddleware
from forum.web.routes import routes
from forum.web.templating import render_live_post
from forum.web.ws import actor_loader_for, live_sessions_for


def create_app(settings: Settings, warm_renderer: bool = False) -> Starlette:
    """The app. `warm_renderer` (servers, not tests): start the render workers at start-up
    rather than on the first post."""
    services = Services(
        settings=settings,
        hasher=Hasher(settings.hash_threads),
        throttle=Throttle(settings.redis_url),
    )

    broker = make_broker(settings.redis_url)
    hub = Hub(
        render_post=render_live_post,
        load_actor=actor_loader_for(settings),
        live_sessions=live_sessions_for(settings),
        limits=SocketLimits(
            per_member=settings.ws_per_member,
            per_address=settings.ws_per_address,
            replay_burst=settings.ws_replay_burst,
            replay_rate=settings.ws_replay_rate,
            recheck_seconds=settings.ws_recheck_seconds,
        ),
    )
    services.publish = broker.publish
    deliverer = make_deliverer(settings)
    services.wake_mail = deliverer.poke

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            seams.check()
            await hub.start()
            await broker.start(hub.dispatch, hub.resync)
            # Everything loaded so far lives as long as the process: keep it out of the
            # collector's full passes, which otherwise pause thousands of open sockets.
            gc.collect()  # so only what is alive now is frozen, not garbage
            gc.freeze()
            pruning = asyncio.create_task(_prune_forever(settings.event_retention_days))
            deliverer.start()
            renderer.acquire()
            warming = (
                asyncio.create_task(
                    renderer.warm(settings.render_workers, settings.render_timeout_seconds)
                )
                if warm_renderer
                else None
            )
            try:
                yield
            finally:
                if warming is not None:
                    warming.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await warming
                pruning.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pruning
                await deliverer.stop()
                await broker.stop()
                await hub.stop()
                await services.throttle.close()
                # The last app of the process stops the post renderer's worker processes.
                await asyncio.to_thread(renderer.release)

    handlers = dict(errors.HANDLERS)
    handlers[BodyTooLarge] = errors.too_large
    app = Starlette(
        routes=routes(),
        middleware=[Middleware(ForumMiddleware, services=services)],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.hub = hub
    app.state.broker = broker
    app.state.deliverer = deliverer
    return app


async def _prune_forever(days: int, every: float = 3600.0) -> None:
    """Trim the event table once an hour (every process does it; deleting twice is harmless)."""
    log = logging.getLogger("forum.realtime")
    while True:
        # Wait first: a start-up moment is busy enough, and short-lived processes (tests, CLI)
        # should not leave a query in flight when they stop.
        await asyncio.sleep(every)
        try:
            gone = await prune(days)
            if gone:
                log.info("pruned %d live events older than %d days", gone, days)
        except Exception:  # a failed prune is retried next hour; it must not stop the app
            log.exception("pruning live events failed")
