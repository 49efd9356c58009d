"""The HTTP server `forum serve` runs: uvicorn, its options, and the deadlines it lacks.

uvicorn (0.55) times out only the idle wait between two requests (`timeout_keep_alive`, armed
once a response is sent and cancelled by any byte received). A connection that sends nothing,
half a request line, headers a byte a minute, or a body that never ends stays open for ever,
and each one counts against `limit_concurrency`: a few hundred of them turn everyone away. No
option covers this and ASGI middleware cannot (it runs once the headers are in), so the HTTP
protocol here is uvicorn's httptools protocol with one timer more:

- the headers of a request must be complete within `header_timeout` of the connection opening,
  of the previous response, or of the request's first byte (whichever armed the timer);
- its body must be complete within `body_timeout` after its headers;
- its request line and headers may take at most MAX_HEADER_BYTES (httptools itself sets no
  limit: one endless header line would grow in memory until the deadline).

The timer hooks parser callbacks that are uvicorn internals, which is why the subclass lives
in this one module; tests drive it through a real `forum serve`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from forum.logs import log_config
from forum.settings import Settings

log = logging.getLogger("forum.server")

MAX_HEADER_BYTES = 64 * 1024


class ForumConfig(uvicorn.Config):
    """uvicorn's Config with the two deadlines (a Config travels to every worker process)."""

    def __init__(self, *args: Any, header_timeout: float, body_timeout: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout


class DeadlineProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that closes a connection whose request arrives too slowly."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._header_timeout = float(getattr(config, "header_timeout", 10.0))
        self._body_timeout = float(getattr(config, "body_timeout", 30.0))
        self._deadline: asyncio.TimerHandle | None = None
        # Bytes received since the current request's headers began; None once they are in.
        self._header_bytes: int | None = 0

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            log.debug("closing a connection whose request did not arrive in time: %s", self.client)
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        counting = self._header_bytes is not None
        super().data_received(data)
        # Only chunks that end before the headers do are counted: a body sent along with the
        # last header bytes is the body's business (max_body_bytes).
        if counting and self._header_bytes is not None:
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                self.send_400_response("Request headers too large.")

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # A request begins; the timer armed by the previous response (if any) keeps running.
        if self._deadline is None:
            self._arm(self._header_timeout)

    def on_headers_complete(self) -> None:
        self._header_bytes = None
        self._arm(self._body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._header_bytes = 0  # the next request's headers start here
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Any bytes cancel uvicorn's keep-alive timer ("\r\n" each second would do): the next
        # request's headers must still come within the header deadline.
        if not self.transport.is_closing() and self._deadline is None and not self.pipeline:
            self._arm(self._header_timeout)

    def handle_websocket_upgrade(self) -> None:
        # A websocket lives as long as it likes; its own pings and limits apply from here.
        self._disarm()
        super().handle_websocket_upgrade()


def trusted_proxies(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy options: X-Forwarded-For/-Proto believed only from the listed proxies."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": settings.trusted_proxies}


def serve(settings: Settings, host: str, port: int, workers: int, verbose: bool) -> None:
    """Run the app under uvicorn until stopped (what `uvicorn.run` does, with our Config)."""
    config = ForumConfig(
        "forum.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level="info" if verbose else "warning",
        # One structured line per request comes from forum.web.telemetry instead.
        log_config=log_config(settings, verbose),
        access_log=False,
        http=DeadlineProtocol,
        ws="websockets-sansio",
        # Compression costs 2-4x memory per socket for small frames; our frames are small.
        ws_per_message_deflate=False,
        ws_max_size=64 * 1024,
        # Counts every open connection, websockets included: past it, new requests get 503.
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=5,
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
        **trusted_proxies(settings),
    )
    server = uvicorn.Server(config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if config.workers == 1 and not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE
