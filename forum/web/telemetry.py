"""What operators see of requests: one log line each, Prometheus metrics, and the probes.

`RequestTelemetry` wraps the whole app (outside ForumMiddleware, so refusals are counted too).
For each request it logs one line on `forum.request` with a request id, the method, the route
*template* (`/c/{slug}`, never the path: slugs and handles name caucuses and people), the
status, the duration and the member's id, and counts it in the process's metrics. The request
id comes from the proxy (`X-Request-ID`, as nginx's `$request_id`) when it looks like one, else
it is made here, and is sent back in the response.

`/metrics` answers only `Authorization: Bearer FORUM_METRICS_TOKEN` (404 otherwise, and always
while the token is unset); `/healthz` says the process is alive; `/readyz` that it can serve.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forum.logs import REQUEST_LOGGER
from forum.metrics import Metrics
from forum.readiness import readiness
from forum.web.access import access
from forum.web.middleware import SOCKET_SEND

log = logging.getLogger(REQUEST_LOGGER)
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
UNMATCHED = "(unmatched)"


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/t/{thread_id}`), or "(unmatched)"."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    # A mounted app's routes are relative to the mount: the mount's own prefix is in root_path
    # (our mounts, /api/v1 and /static, have no parameters, so it holds no value of anyone's).
    root = str(scope.get("root_path", ""))[len(scope.get("forum.root_path", "")) :]
    if isinstance(route, Mount):
        return f"{root}/{{path}}"
    return root + path


class RequestTelemetry:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope["forum.root_path"] = scope.get("root_path", "")
        given = _header(scope, b"x-request-id")
        request_id = given if given and REQUEST_ID.fullmatch(given) else secrets.token_hex(8)
        scope["forum.request_id"] = request_id
        if kind == "websocket":
            # The hub writes a socket's frames through the server's own send (forum.seams
            # writes them straight to the transport when it is uvicorn's): it must not get the
            # wrapper below, which only needs to see the accept or the refusal.
            scope.setdefault(SOCKET_SEND, send)
        status = 0
        id_header = (b"x-request-id", request_id.encode())

        async def observed_send(message: Message) -> None:
            nonlocal status
            kind_ = message["type"]
            if kind_ == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), id_header]
            elif kind_ == "websocket.accept":
                status = 101
            elif kind_ == "websocket.close" and not status:
                status = 403  # closed before it was accepted: refused
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except BaseException:
            status = status or 500
            raise
        else:
            status = status or 499  # the client went away before an answer (nginx's code)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            method = scope.get("method", "WS") if kind == "http" else "WS"
            self.metrics.observe(route, method, status, seconds)
            if log.isEnabledFor(logging.INFO):
                ctx = scope.get("state", {}).get("ctx")
                member = getattr(ctx, "member", None)
                fields: dict[str, Any] = {
                    "event": "request",
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "member": getattr(member, "id", None),
                }
                if getattr(ctx, "via_token", False):
                    fields["via"] = "token"
                # makeRecord + handle is log.info without its search of the stack for the
                # caller's file and line, which nobody reads here and which costs more than
                # the rest of the line.
                log.handle(
                    log.makeRecord(
                        REQUEST_LOGGER,
                        logging.INFO,
                        "",
                        0,
                        "request",
                        (),
                        None,
                        extra={"fields": fields},
                    )
                )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


# ---- endpoints ---------------------------------------------------------------------------


@access("anyone")
async def metrics(request: Request) -> Response:
    """Prometheus text format, for a scraper holding the metrics token; a 404 to anyone else
    (the same answer as a path that does not exist)."""
    token = request.app.state.services.settings.metrics_token
    given = request.headers.get("authorization", "")
    expected = f"Bearer {token}"
    if not token or not secrets.compare_digest(given.encode(), expected.encode()):
        from forum.web.errors import error_response

        return error_response(request, 404)
    metrics: Metrics = request.app.state.metrics
    await metrics.refresh()
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


@access("anyone")
async def ready(request: Request) -> Response:
    """200 when the database answers, every migration is applied and Redis (when configured)
    answers; 503 otherwise. Each part's state in a small JSON object."""
    parts = await readiness(request.app.state.services.settings.redis_url)
    ok = all(state in ("ok", "not configured") for state in parts.values())
    return Response(
        json.dumps({"ready": ok, **parts}),
        status_code=200 if ok else 503,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )
