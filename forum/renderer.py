"""The post renderer: markdown rendered in worker processes, off the event loop, time-limited.

Rendering is pure Python. On the event loop one slow post stalls every request of the process;
in a thread it still holds the GIL in long stretches, and a thread cannot be stopped. So posts
render in a small pool of worker processes (pebble's ProcessPool): a task that passes its time
limit is ended by killing its worker, and the pool starts a fresh one.

One pool per process, shared by every app in it (tests make many), started on first use and
stopped when the last app using it shuts down, or at exit. Workers fork from multiprocessing's
fork server, which imports `forum.rendering` once: forking the app process itself, which runs
threads, could copy a held lock into the child, and spawning re-imports everything per worker.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import multiprocessing
import threading
from collections.abc import Collection, Mapping
from concurrent.futures.process import BrokenProcessPool

from pebble import ProcessExpired, ProcessPool

from forum.rendering import RenderedPost, render_post

__all__ = ["RenderFailed", "acquire", "release", "render", "shutdown"]


class RenderFailed(Exception):
    """The text did not render within the time limit (or its worker died trying)."""


_lock = threading.Lock()
_pool: ProcessPool | None = None
_users = 0


def _start(workers: int) -> ProcessPool:
    """The running pool, started if need be. Starting waits for the fork server's imports and
    the workers' forks: call it from a thread, not from the event loop."""
    global _pool
    with _lock:
        if _pool is None or not _pool.active:
            context = multiprocessing.get_context("forkserver")
            # Only has an effect before the fork server first starts (once per process).
            context.set_forkserver_preload(["forum.rendering"])
            pool = ProcessPool(max_workers=max(1, workers), context=context)
            if not pool.active:  # asking starts it
                raise RenderFailed("the render pool did not start")
            _pool = pool
        return _pool


async def _running(workers: int) -> ProcessPool:
    pool = _pool
    if pool is not None and pool.active:
        return pool
    return await asyncio.to_thread(_start, workers)


def shutdown() -> None:
    """Stop the pool now (its workers are killed); the next render starts a new one."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.stop()
        pool.join()


atexit.register(shutdown)


def acquire() -> None:
    """An app starts using the pool (from its lifespan)."""
    global _users
    with _lock:
        _users += 1


def release() -> None:
    """An app stops using the pool; the last one out stops it."""
    global _users
    with _lock:
        _users = max(0, _users - 1)
        last = _users == 0
    if last:
        shutdown()


async def render(
    source: str,
    *,
    mentionable: Collection[str] | None = None,
    previous: str | None = None,
    groups: Mapping[str, str] | None = None,
    limit: float,
    workers: int = 2,
) -> RenderedPost:
    """`forum.rendering.render_post` in a worker; RenderFailed after `limit` seconds of work.

    Waiting behind other posts counts too, up to as long again: the whole call ends within
    twice the limit (and a task given up while queued never runs)."""
    args = (
        source,
        frozenset(mentionable) if mentionable is not None else None,
        previous,
        dict(groups) if groups else None,
    )
    try:
        future = (await _running(workers)).schedule(render_post, args=args, timeout=limit)
    except RuntimeError:  # the pool broke (its manager died): start a new one
        await asyncio.to_thread(shutdown)
        future = (await _running(workers)).schedule(render_post, args=args, timeout=limit)
    try:
        # Cancelling the asyncio future cancels pebble's, which kills the worker if it runs.
        return await asyncio.wait_for(asyncio.wrap_future(future), 2 * limit)
    except (TimeoutError, ProcessExpired, BrokenProcessPool) as exc:
        raise RenderFailed(str(exc)) from None


async def warm(workers: int, limit: float) -> None:
    """Start the pool and have each worker render once, so a server's first posts do not wait
    for the workers' start (a few hundred milliseconds). Best effort: a failure here only means
    the first real post starts them."""
    with contextlib.suppress(RenderFailed, RuntimeError, OSError):
        await asyncio.gather(
            *(render("*warm*", limit=limit * 4, workers=workers) for _ in range(max(1, workers)))
        )
