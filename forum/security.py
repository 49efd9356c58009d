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
    """Moving-window throttles (`limits.aio`), in memory or in Redis shared by every process."""

    def __init__(self, redis_url: str | None = None) -> None:
        self.storage: Storage
        if redis_url:
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            self.storage = RedisStorage(uri, implementation="redispy")
        else:
            self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def hit(self, rate: str, *key: str, message: str | None = None) -> None:
        """Count one attempt against `rate` (e.g. "5/minute") for `key`; raise RateLimited with
        the seconds until a slot frees when the window is full. If the shared store (Redis) is
        down, the throttle lets the request through rather than failing it."""
        item = parse(rate)
        try:
            if await self.limiter.hit(item, *key):
                return
        except (OSError, RedisError, StorageError) as exc:
            log.warning("throttle store unavailable, allowing: %s", exc)
            return
        stats = await self.limiter.get_window_stats(item, *key)
        raise RateLimited(int(stats.reset_time - time.time()) + 1, message)

    async def peek(self, rate: str, *key: str) -> None:
        """Raise RateLimited if the window is already full, without counting an attempt."""
        item = parse(rate)
        try:
            if await self.limiter.test(item, *key):
                return
        except (OSError, RedisError, StorageError) as exc:
            log.warning("throttle store unavailable, allowing: %s", exc)
            return
        stats = await self.limiter.get_window_stats(item, *key)
        raise RateLimited(int(stats.reset_time - time.time()) + 1)

    async def clear(self, rate: str, *key: str) -> None:
        await self.limiter.clear(parse(rate), *key)

    async def reset(self) -> None:
        await self.storage.reset()

    async def close(self) -> None:
        """Release the storage's connections (Redis) at shutdown."""
        closer = getattr(self.storage, "close", None) or getattr(
            getattr(self.storage, "storage", None), "aclose", None
        )
        if closer is not None:
            result = closer()
            if hasattr(result, "__await__"):
                await result
