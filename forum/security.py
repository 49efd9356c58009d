"""Password hashing, random tokens, CSRF tokens and throttles. The only module importing passlib.

Hashing is deliberately slow, so it runs in worker threads, at most `hash_threads` at once:
a flood of logins queues for the limiter instead of starving the event loop or the memory.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from typing import Any

import anyio
from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from passlib.context import CryptContext
from redis.exceptions import RedisError

from forum.errors import RateLimited

log = logging.getLogger("forum.security")

# argon2id only. Raising these parameters later makes `needs_update` true for old hashes,
# and a successful login rehashes them.
PASSWORDS = CryptContext(
    schemes=["argon2"],
    argon2__type="ID",
    argon2__memory_cost=19 * 1024,
    argon2__time_cost=2,
    argon2__parallelism=1,
)

# Verifying against this when a handle is unknown makes the answer take as long as for a real one.
_DUMMY_HASH = PASSWORDS.hash("not a real password, only spent time")


class Hasher:
    """Hashes and verifies passwords off the event loop, with bounded concurrency."""

    def __init__(self, threads: int, context: CryptContext = PASSWORDS) -> None:
        self.context = context
        self.limiter = anyio.CapacityLimiter(threads)

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.context.hash, password, limiter=self.limiter)

    async def verify(self, password: str, stored: str | None) -> tuple[bool, str | None]:
        """Check a password; returns (ok, new_hash) where new_hash is set when the stored hash
        uses old parameters. An unknown member (stored None) costs the same as a real check."""
        if stored is None:
            await anyio.to_thread.run_sync(
                self.context.verify, password, _DUMMY_HASH, limiter=self.limiter
            )
            return False, None

        def check() -> tuple[bool, str | None]:
            try:
                return self.context.verify_and_update(password, stored)
            except ValueError:  # a malformed stored hash never matches
                return False, None

        return await anyio.to_thread.run_sync(check, limiter=self.limiter)


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a session, invite or API token: its sha256."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def tokens_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


class Throttle:
    """Moving-window throttles (`limits.aio`), in Redis shared by every process, or in memory.

    When Redis cannot be reached, the throttles count in this process instead (a limit per
    process is weaker than a shared one, but never none) and Redis is asked again after
    RETRY_SECONDS. The outage is logged once, and its end once."""

    # A store that failed is left alone this long, so requests do not each wait on it.
    RETRY_SECONDS = 5.0
    # Kept short: a throttle check that waits on an unreachable Redis delays a sign-in.
    REDIS_TIMEOUT_SECONDS = 1.0

    def __init__(self, redis_url: str | None = None) -> None:
        self.memory = MemoryStorage()
        self.local = MovingWindowRateLimiter(self.memory)
        self.storage: Storage = self.memory
        self.shared: MovingWindowRateLimiter | None = None
        if redis_url:
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            self.storage = RedisStorage(
                uri,
                implementation="redispy",
                socket_connect_timeout=self.REDIS_TIMEOUT_SECONDS,
                socket_timeout=self.REDIS_TIMEOUT_SECONDS,
            )
            self.shared = MovingWindowRateLimiter(self.storage)
        self.limiter = self.shared or self.local
        self._retry_at = 0.0
        self.degraded = False

    async def _ask(self, method: str, *args: Any) -> Any:
        """Call `method` of the shared limiter, or of the in-process one when the shared store
        is down (or was down less than RETRY_SECONDS ago)."""
        if self.shared is not None and time.monotonic() >= self._retry_at:
            try:
                result = await getattr(self.shared, method)(*args)
            except (OSError, RedisError, StorageError) as exc:
                self._retry_at = time.monotonic() + self.RETRY_SECONDS
                if not self.degraded:
                    self.degraded = True
                    log.warning(
                        "throttle store unavailable; counting in this process until it returns: %s",
                        exc,
                    )
            else:
                if self.degraded:
                    self.degraded = False
                    log.warning("throttle store reachable again; counting there")
                return result
        return await getattr(self.local, method)(*args)

    async def hit(self, rate: str, *key: str, message: str | None = None) -> None:
        """Count one attempt against `rate` (e.g. "5/minute") for `key`; raise RateLimited with
        the seconds until a slot frees when the window is full."""
        item = parse(rate)
        if await self._ask("hit", item, *key):
            return
        stats = await self._ask("get_window_stats", item, *key)
        raise RateLimited(int(stats.reset_time - time.time()) + 1, message)

    async def peek(self, rate: str, *key: str) -> None:
        """Raise RateLimited if the window is already full, without counting an attempt."""
        item = parse(rate)
        if await self._ask("test", item, *key):
            return
        stats = await self._ask("get_window_stats", item, *key)
        raise RateLimited(int(stats.reset_time - time.time()) + 1)

    async def clear(self, rate: str, *key: str) -> None:
        await self._ask("clear", parse(rate), *key)

    async def reset(self) -> None:
        await self.memory.reset()
        if self.shared is not None:
            try:
                await self.storage.reset()
            except (OSError, RedisError, StorageError) as exc:
                log.warning("throttle store unavailable for reset: %s", exc)

    async def close(self) -> None:
        """Release the storage's connections (Redis) at shutdown."""
        bridge = getattr(self.storage, "bridge", None)
        client = getattr(bridge, "storage", None) or getattr(self.storage, "storage", None)
        closer = getattr(self.storage, "close", None) or getattr(client, "aclose", None)
        if closer is not None:
            result = closer()
            if hasattr(result, "__await__"):
                await result
