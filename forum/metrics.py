"""Prometheus metrics of one app process: request counts and latencies by route template, and
gauges read from the running parts (open sockets, events fanned out, broker reconnects,
database pool) only when a scraper asks.

Each process has its own registry (a test may run several apps in one process, so nothing is
global). Hot paths count with plain integers on their own objects; the collector turns them into
metric families at scrape time, so a delivery to 5,000 sockets pays nothing for being measured.
Extra readings plug in with `Metrics.add_gauge(name, help, read)`.

No label ever holds a path, a slug, a handle or any text: routes are templates (`/c/{slug}`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("forum.metrics")

# Seconds; a thread page takes about a millisecond, a post with rendering tens of them.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

Reading = Callable[[], float | None]
AsyncReading = Callable[[], Awaitable[float | None]]


class _Readings(Collector):
    """Gauges and counters whose values are read from callbacks when scraped."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str, Reading]] = []

    def collect(self) -> Iterator[Metric]:
        for kind, name, help_text, read in self.items:
            try:
                value = read()
            except Exception:  # a broken reading must not take the others down with it
                log.exception("metric %s could not be read", name)
                continue
            if value is None:
                continue
            family = (
                CounterMetricFamily(name, help_text)
                if kind == "counter"
                else GaugeMetricFamily(name, help_text)
            )
            family.add_metric([], float(value))
            yield family


class Metrics:
    """One process's metrics. `observe` is called once per request by the request middleware."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "forum_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "forum_request_duration_seconds",
            "Time from a request's arrival to the end of its response, by route template",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.readings = _Readings()
        self.registry.register(self.readings)
        # (route, method, status) -> the labelled child, and route -> its histogram: looking a
        # child up through `labels()` takes a lock and builds a key every time.
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._latencies: dict[str, Any] = {}
        # Readings that need the database (a count of rows): awaited by `refresh` just before
        # each scrape, their last values reported.
        self._async: list[tuple[str, AsyncReading]] = []
        self._values: dict[str, float | None] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        counter = self._counts.get(key)
        if counter is None:
            counter = self._counts[key] = self.requests.labels(route, method, str(status))
        counter.inc()
        histogram = self._latencies.get(route)
        if histogram is None:
            histogram = self._latencies[route] = self.latency.labels(route)
        histogram.observe(seconds)

    def add_gauge(self, name: str, help_text: str, read: Reading) -> None:
        """A value read when scraped (None: not reported this time). For example, at merge:
        `metrics.add_gauge("forum_outbox_backlog", "Emails waiting to be sent", backlog)`."""
        self.readings.items.append(("gauge", name, help_text, read))

    def add_async_gauge(self, name: str, help_text: str, read: AsyncReading) -> None:
        """A value that takes a query to know, e.g. at merge: `metrics.add_async_gauge(
        "forum_outbox_backlog", "Emails waiting to be sent", count_unsent)`. Read at each
        scrape (2 s at most; a reading that fails or is late is left out of that scrape)."""
        self._async.append((name, read))
        self._values[name] = None
        self.add_gauge(name, help_text, lambda: self._values.get(name))

    async def refresh(self) -> None:
        for name, read in self._async:
            try:
                self._values[name] = await asyncio.wait_for(read(), 2)
            except Exception:
                log.exception("metric %s could not be read", name)
                self._values[name] = None

    def add_counter(self, name: str, help_text: str, read: Reading) -> None:
        """A count that only grows, read when scraped (exposed as `<name>_total`)."""
        self.readings.items.append(("counter", name, help_text, read))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def database_pool() -> dict[str, float] | None:
    """The default connection's pool (PostgreSQL: asyncpg's pool size and idle connections;
    SQLite: one connection); None when no database is open."""
    from tortoise import connections

    try:
        conn: Any = connections.get("default")
    except Exception:
        return None
    pool = getattr(conn, "_pool", None)
    if pool is not None and hasattr(pool, "get_size"):
        size = float(pool.get_size())
        idle = float(pool.get_idle_size())
        return {"size": size, "in_use": size - idle, "max": float(pool.get_max_size())}
    return {"size": 1.0, "in_use": 0.0, "max": 1.0}


def _pool_reading(key: str) -> Reading:
    def read() -> float | None:
        pool = database_pool()
        return None if pool is None else pool[key]

    return read


def add_pool_gauges(metrics: Metrics) -> None:
    metrics.add_gauge("forum_db_pool_size", "Database connections open", _pool_reading("size"))
    metrics.add_gauge(
        "forum_db_pool_in_use", "Database connections lent out", _pool_reading("in_use")
    )
    metrics.add_gauge(
        "forum_db_pool_max", "Database connections the pool may open", _pool_reading("max")
    )
