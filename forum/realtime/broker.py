"""Event broker: carries small "something changed" messages between app processes.

The Event table is the source of truth; a broker message only says "topic X reached seq N, go
look". So the broker is allowed to lose messages, as long as it tells the hub whenever it
(re)connects (``on_resync``) so the hub can refill from the table. Each app process holds one
subscription and fans out to its own websockets.

Two implementations: :class:`MemoryBroker` for a single process (tests, dev, no Redis) and
:class:`RedisBroker`, which uses Redis pub/sub with a reconnect loop we own ourselves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

__all__ = [
    "Broker",
    "Handler",
    "MemoryBroker",
    "Message",
    "RedisBroker",
    "ResyncHandler",
    "make_broker",
]

logger = logging.getLogger(__name__)

Message = dict[str, Any]
Handler = Callable[[Message], Awaitable[None]]
ResyncHandler = Callable[[], Awaitable[None]]

DEFAULT_CHANNEL = "forum:events"


class Broker(Protocol):
    """What the hub and the request handlers rely on."""

    async def start(self, on_message: Handler, on_resync: ResyncHandler) -> None:
        """Begin delivering messages; ``on_resync`` runs after every (re)connection."""
        ...

    async def publish(self, message: Message) -> None:
        """Send ``message`` to every process; logs and returns if the broker is down."""
        ...

    async def stop(self) -> None:
        """Stop delivering and release connections. Safe to call more than once."""
        ...

    @property
    def connected(self) -> bool:
        """Whether the subscription is currently live."""
        ...


def _encode(message: Message) -> str:
    # Serialising up front (outside any error handling) makes a non-JSON payload fail loudly at
    # the call site in every implementation, instead of only in production with Redis.
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def _label(message: Message) -> str:
    """What a log line may say of an event: its topic, sequence and kind, never its payload."""
    return f"{message.get('topic')}#{message.get('seq')} {message.get('kind')}"


def _decode(data: str | bytes) -> Message | None:
    try:
        message = json.loads(data)
    except ValueError:
        logger.warning("broker: dropping an undecodable message of %d bytes", len(data))
        return None
    if not isinstance(message, dict):
        logger.warning("broker: dropping a message that is not an object")
        return None
    return message


async def _call_handler(on_message: Handler, message: Message) -> None:
    # A bug in one handler must not stop delivery of every later message.
    try:
        await on_message(message)
    except Exception:
        logger.exception("broker: message handler failed for %s", _label(message))


async def _call_resync(on_resync: ResyncHandler) -> None:
    try:
        await on_resync()
    except Exception:
        logger.exception("broker: resync handler failed")


async def _cancel_and_wait(task: asyncio.Task[None]) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        # Swallow only the cancellation we caused; if our caller is itself being cancelled,
        # let that propagate.
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


class MemoryBroker:
    """In-process broker: publish enqueues, one consumer task delivers in order.

    The queue decouples publishers from handlers, so a slow websocket fan-out never delays the
    request that published, while a single consumer keeps delivery order equal to publish order.
    """

    def __init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.reconnects = 0  # never: there is nothing to lose

    @property
    def connected(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self, on_message: Handler, on_resync: ResyncHandler) -> None:
        if self._task is not None:
            raise RuntimeError("broker already started")
        # Same contract as Redis: one resync before anything is delivered.
        await _call_resync(on_resync)
        self._task = asyncio.create_task(self._consume(on_message), name="memory-broker")

    async def publish(self, message: Message) -> None:
        # Round-trip through JSON like Redis does, so handlers get a private copy and tests catch
        # payloads that would not survive the real broker.
        self._queue.put_nowait(_encode(message))

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await _cancel_and_wait(task)

    async def _consume(self, on_message: Handler) -> None:
        while True:
            data = await self._queue.get()
            message = _decode(data)
            if message is not None:
                await _call_handler(on_message, message)


class RedisBroker:
    """Redis pub/sub broker with its own reconnect loop.

    The subscriber client is built with redis-py's retries disabled: a transparent reconnect
    inside redis-py would silently re-subscribe and we would never learn that messages were
    lost in between. Instead every failure surfaces here, we tear the connection down, back off,
    subscribe afresh and then call ``on_resync``.
    """

    def __init__(
        self,
        url: str,
        channel: str = DEFAULT_CHANNEL,
        *,
        ping_interval: float = 1.0,
        dead_after: float = 3.0,
        connect_timeout: float = 2.0,
        publish_timeout: float = 1.0,
        backoff_initial: float = 0.05,
        backoff_max: float = 2.0,
    ) -> None:
        self._url = url
        self._channel = channel
        self._ping_interval = ping_interval
        self._dead_after = dead_after
        self._connect_timeout = connect_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        # Publishing sits on the request path right after a commit, so it must fail fast during
        # an outage. One immediate retry covers the common case of a pooled connection that died
        # with a restarted server (the retry reconnects). Retrying on timeout can duplicate a
        # message; that is harmless since consumers key on (topic, seq).
        self._publisher = Redis.from_url(
            url,
            socket_timeout=publish_timeout,
            socket_connect_timeout=publish_timeout,
            retry=Retry(NoBackoff(), 1),
        )
        self._task: asyncio.Task[None] | None = None
        self._connected = False
        self._closed = False
        self.reconnects = 0  # subscriptions made again after a loss (for /metrics)

    @property
    def channel(self) -> str:
        return self._channel

    @property
    def connected(self) -> bool:
        return self._connected

    async def start(self, on_message: Handler, on_resync: ResyncHandler) -> None:
        if self._task is not None or self._closed:
            raise RuntimeError("broker already started or stopped")
        # Not waiting for the first subscription here: an app must boot even while Redis is
        # down, and the first on_resync covers anything published before we subscribed.
        self._task = asyncio.create_task(
            self._run(on_message, on_resync), name=f"redis-broker:{self._channel}"
        )

    async def publish(self, message: Message) -> None:
        data = _encode(message)
        if self._closed:
            # Topic and sequence only: the payload may hold a caucus's text, never logged.
            logger.warning("broker: publish after stop dropped: %s", _label(message))
            return
        try:
            await self._publisher.publish(self._channel, data)
        except (RedisError, OSError) as exc:
            # The event is already committed to the Event table; subscribers refill from it.
            logger.warning(
                "broker: publish to %s failed (%s): %s", self._channel, exc, _label(message)
            )
        except Exception:
            # Anything else is unexpected, but raising would turn a committed write into an
            # error response, so log loudly and carry on.
            logger.exception("broker: publish to %s failed unexpectedly", self._channel)

    async def stop(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            await _cancel_and_wait(task)
        self._connected = False
        await self._publisher.aclose()

    async def _run(self, on_message: Handler, on_resync: ResyncHandler) -> None:
        delay = self._backoff_initial
        ever_connected = False
        failures = 0  # consecutive, so an outage logs one warning rather than one per retry
        while True:
            client: Redis = Redis.from_url(
                self._url,
                socket_timeout=self._connect_timeout,
                socket_connect_timeout=self._connect_timeout,
                socket_keepalive=True,
                retry=Retry(NoBackoff(), 0),
            )
            pubsub = client.pubsub()
            try:
                await self._subscribe(pubsub)
                self._connected = True
                delay, failures = self._backoff_initial, 0
                if ever_connected:
                    self.reconnects += 1
                    logger.info("broker: reconnected to %s", self._channel)
                ever_connected = True
                # Only now, with the subscription confirmed by the server, can a refill from the
                # table be complete: anything committed later will also reach us live.
                await _call_resync(on_resync)
                await self._pump(pubsub, on_message)
            except (RedisError, OSError) as exc:
                # builtins TimeoutError/ConnectionError are OSErrors; redis' own are RedisErrors.
                failures += 1
                level = logging.WARNING if failures == 1 else logging.DEBUG
                logger.log(level, "broker: subscription to %s lost: %s", self._channel, exc)
            except Exception:
                # Never let the loop die: a process without a subscription silently stops
                # getting live updates.
                logger.exception("broker: subscription loop error on %s", self._channel)
            finally:
                self._connected = False
                closing = asyncio.ensure_future(self._close(pubsub, client))
                try:
                    await asyncio.shield(closing)
                except asyncio.CancelledError:
                    # stop() may land while we are closing; finish first, or the sockets leak.
                    await closing
                    raise
            # Full-ish jitter so a fleet of processes does not reconnect in lockstep.
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self._backoff_max)

    async def _subscribe(self, pubsub: PubSub) -> None:
        await pubsub.subscribe(self._channel)
        # SUBSCRIBE is fire-and-forget on the wire; wait for the server's confirmation so the
        # resync that follows cannot race a publish the server has not routed to us yet.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._connect_timeout
        while (remaining := deadline - loop.time()) > 0:
            reply = await pubsub.get_message(timeout=remaining)
            if reply is not None and reply["type"] == "subscribe":
                return
        raise TimeoutError(f"no SUBSCRIBE confirmation for {self._channel}")

    async def _pump(self, pubsub: PubSub, on_message: Handler) -> None:
        # Liveness is checked by hand rather than with redis-py's health_check_interval: that
        # only sends PINGs and never notices a reply that does not come, so a half-open TCP
        # connection (server gone without a RST) would look like a quiet channel forever.
        loop = asyncio.get_running_loop()
        last_heard = loop.time()
        ping_sent_at: float | None = None
        while True:
            reply = await pubsub.get_message(timeout=self._ping_interval)
            now = loop.time()
            if reply is not None:
                last_heard, ping_sent_at = now, None
                if reply["type"] == "message":
                    message = _decode(reply["data"])
                    if message is not None:
                        await _call_handler(on_message, message)
                continue
            if ping_sent_at is not None:
                if now - ping_sent_at > self._dead_after:
                    raise TimeoutError(f"no PING reply in {self._dead_after:g}s")
            elif now - last_heard >= self._ping_interval:
                await pubsub.ping()
                ping_sent_at = now

    @staticmethod
    async def _close(pubsub: PubSub, client: Redis) -> None:
        # Closing must not raise (we are usually here because the connection is already broken)
        # and must finish, or the sockets leak as "unclosed Connection" ResourceWarnings.
        try:
            await pubsub.aclose()
        except Exception:
            logger.debug("broker: error closing pubsub", exc_info=True)
        try:
            await client.aclose()
        except Exception:
            logger.debug("broker: error closing client", exc_info=True)


def make_broker(redis_url: str | None, channel: str = DEFAULT_CHANNEL) -> Broker:
    """A :class:`RedisBroker` when a URL is configured, else an in-process broker."""
    if redis_url:
        return RedisBroker(redis_url, channel)
    return MemoryBroker()
