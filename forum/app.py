"""create_app(settings): the only wiring of routes, middleware, lifespan and error handlers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from tortoise.contrib.starlette import RegisterTortoise

from forum import renderer, seams
from forum.db import tortoise_config
from forum.mail.listener import MailListener
from forum.mail.notifier import Notifier
from forum.mail.outbox import make_deliverer, waiting
from forum.metrics import Metrics, add_pool_gauges
from forum.realtime.broker import make_broker
from forum.realtime.events import Publish, prune
from forum.realtime.hub import Hub, SocketLimits
from forum.security import Hasher, Throttle
from forum.services import decisions
from forum.services.context import Services
from forum.settings import Settings, mail_in_address
from forum.web import errors
from forum.web.middleware import BodyTooLarge, ForumMiddleware
from forum.web.routes import routes
from forum.web.telemetry import RequestTelemetry
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
    # Replies by email, received in this process (FORUM_MAIL_IN): posted here, so they reach
    # this process's sockets even with the in-process broker.
    mail_listener = (
        MailListener(services, *mail_in_address(settings.mail_in), lmtp=settings.mail_in_lmtp)
        if settings.mail_in
        else None
    )
    metrics = app_metrics(hub, broker)
    notifier = Notifier(settings, deliverer.poke)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            seams.check()
            _reports_key(settings)
            await hub.start()
            await broker.start(hub.dispatch, hub.resync)
            # Everything loaded so far lives as long as the process: keep it out of the
            # collector's full passes, which otherwise pause thousands of open sockets.
            gc.collect()  # so only what is alive now is frozen, not garbage
            gc.freeze()
            pruning = asyncio.create_task(_prune_forever(settings.event_retention_days))
            deliverer.start()
            deciding = asyncio.create_task(_decide_forever(services.publish))
            notifier.start()
            renderer.acquire()
            if mail_listener is not None:
                await mail_listener.start()
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
                if mail_listener is not None:
                    await mail_listener.stop()
                pruning.cancel()
                deciding.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pruning
                await notifier.stop()
                await deliverer.stop()
                with contextlib.suppress(asyncio.CancelledError):
                    await deciding
                await broker.stop()
                await hub.stop()
                await services.throttle.close()
                # The last app of the process stops the post renderer's worker processes.
                await asyncio.to_thread(renderer.release)

    handlers = dict(errors.HANDLERS)
    handlers[BodyTooLarge] = errors.too_large
    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(RequestTelemetry, metrics=metrics),
            Middleware(ForumMiddleware, services=services),
        ],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.hub = hub
    app.state.broker = broker
    app.state.deliverer = deliverer
    app.state.mail_listener = mail_listener
    app.state.metrics = metrics
    app.state.notifier = notifier
    return app


def app_metrics(hub: Hub, broker: object) -> Metrics:
    """The process's metrics, with the readings of its running parts. More plug in with
    `app.state.metrics.add_gauge(...)` (see forum.metrics)."""
    metrics = Metrics()

    # Both outbox gauges come from one query a scrape.
    outbox: dict[str, Any] = {}

    async def outbox_state() -> tuple[int, int]:
        moment = time.monotonic()
        if not outbox or moment - outbox["at"] > 1.0:
            outbox["state"] = await waiting()
            outbox["at"] = moment
        state: tuple[int, int] = outbox["state"]
        return state

    async def outbox_waiting() -> float:
        return float((await outbox_state())[0])

    async def outbox_oldest() -> float:
        return float((await outbox_state())[1])

    metrics.add_async_gauge(
        "forum_outbox_backlog",
        "Emails written and not yet sent (queued or sending)",
        outbox_waiting,
    )
    metrics.add_async_gauge(
        "forum_outbox_oldest_seconds", "Age of the oldest email not yet sent", outbox_oldest
    )
    metrics.add_gauge("forum_open_sockets", "Websockets open in this process", lambda: hub.count)
    metrics.add_counter(
        "forum_events_dispatched",
        "Live events this process took from the broker",
        lambda: hub.dispatched,
    )
    metrics.add_counter(
        "forum_frames_delivered",
        "Live frames this process pushed to websockets",
        lambda: hub.delivered,
    )
    metrics.add_counter(
        "forum_broker_reconnects",
        "Times the broker subscription was made again after it was lost",
        lambda: getattr(broker, "reconnects", 0),
    )
    add_pool_gauges(metrics)
    return metrics


def _reports_key(settings: Settings) -> None:
    """Make the SQLite reports key file when it is missing; warn when reports are off."""
    from forum.services import reports_crypto

    reports_crypto.ensure_key_file(settings)
    if not reports_crypto.configured(settings):
        logging.getLogger("forum").warning(
            "confidential reports are not configured: set FORUM_REPORTS_KEY (urlsafe base64 "
            "of 32 random bytes); until then filing a report answers that reports are off"
        )


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


async def _decide_forever(publish: Publish, every: float = 60.0) -> None:
    """Close decisions at their time and remind non-voters a day before, once a minute. Every
    process does it: each close and each reminder is claimed by an UPDATE guarded by status, so
    two processes never close or remind twice. (A reader of a decision past its time closes it
    at once, so nobody waits for this minute.)"""
    log = logging.getLogger("forum.decisions")
    while True:
        await asyncio.sleep(every)
        try:
            await decisions.run_due(publish)
        except Exception:  # retried next minute; it must not stop the app
            log.exception("closing or reminding decisions failed")
