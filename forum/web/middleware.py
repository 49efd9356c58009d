"""One pure-ASGI middleware for every request and socket: security headers, body limits,
cross-site refusal, and loading who is asking (session cookie or API token) exactly once."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forum.security import new_token
from forum.services import accounts
from forum.services.context import Ctx, Services

SESSION_COOKIE = "forum_session"
# Scope key: the server's own `send` of a websocket, for the hub's frames (see forum.web.ws).
SOCKET_SEND = "forum.socket_send"
ANON_CSRF_COOKIE = "forum_csrf"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class BodyTooLarge(Exception):
    pass


def anonymous_ctx(request: Request) -> Ctx:
    services: Services = request.app.state.services
    return Ctx(services=services, address=_address(request.scope))


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _cookies(headers: Headers) -> dict[str, str]:
    raw = headers.get("cookie")
    if not raw:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed cookie header is treated as no cookies
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


def same_origin(headers: Headers, base_url: str, scope: Scope) -> bool:
    """True unless the browser tells us the request came from another site."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is None:  # not a browser, or a browser that vouched via Sec-Fetch-Site above
        return True
    host = headers.get("host", "")
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    return origin in (base_url, f"{scheme}://{host}")


class ForumMiddleware:
    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # No security headers on sockets: they belong to HTTP responses, and a socket's
            # messages are never `http.response.start`, so `send` is passed on unwrapped.
            ctx = await self._socket_ctx(scope, send)
            if ctx is not None:
                scope.setdefault("state", {})["ctx"] = ctx
                scope[SOCKET_SEND] = send
                del ctx  # this frame lasts as long as the socket: keep nothing of its own
                await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        is_http = scope["type"] == "http"
        set_anon_cookie: str | None = None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = list(SECURITY_HEADERS)
                if set_anon_cookie:
                    extra.append((b"set-cookie", _anon_cookie(set_anon_cookie, self.services)))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        if is_http and scope["path"].startswith("/static/"):
            await self.app(scope, receive, send_with_headers)
            return

        request = Request(scope) if is_http else HTTPConnection(scope)
        ctx = Ctx(services=self.services, address=_address(scope))
        scope.setdefault("state", {})["ctx"] = ctx

        if is_http:
            limit = self.services.settings.max_body_bytes
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > limit):
                await self._refuse(request, 413, send_with_headers)
                return
            if scope["method"] in UNSAFE and not same_origin(
                headers, self.services.settings.base_url, scope
            ):
                await self._refuse(request, 403, send_with_headers, "Cross-site request refused.")
                return
            receive = _limited(receive, limit)

        cookies = _cookies(headers)
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and scope["path"].startswith("/api/"):
            member = await accounts.api_token_member(auth[7:].strip())
            if member is None:
                await self._refuse(request, 401, send_with_headers, "That API token is not valid.")
                return
            ctx.member = member
            ctx.via_token = True
            ctx.actor = await accounts.load_actor(member)
        else:
            session = await accounts.session_for(self.services, cookies.get(SESSION_COOKIE))
            if session is not None:
                ctx.session = session
                ctx.member = session.member
                ctx.actor = await accounts.load_actor(ctx.member)
            elif is_http:
                ctx.anon_csrf = cookies.get(ANON_CSRF_COOKIE, "")[:64]
                if not ctx.anon_csrf:
                    set_anon_cookie = new_token()
                    ctx.anon_csrf = set_anon_cookie
        try:
            await self.app(scope, receive, send_with_headers)
        except BodyTooLarge:
            await self._refuse(request, 413, send_with_headers)

    async def _socket_ctx(self, scope: Scope, send: Send) -> Ctx | None:
        """Who is asking on a websocket (session cookie, or an API token under /api/); None
        when a token is refused (the socket is closed with 1008 before it is accepted)."""
        headers = Headers(scope=scope)
        ctx = Ctx(services=self.services, address=_address(scope))
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and scope["path"].startswith("/api/"):
            member = await accounts.api_token_member(auth[7:].strip())
            if member is None:
                await send({"type": "websocket.close", "code": 1008})
                return None
            ctx.member = member
            ctx.via_token = True
            ctx.actor = await accounts.load_actor(member)
        else:
            cookies = _cookies(headers)
            session = await accounts.session_for(self.services, cookies.get(SESSION_COOKIE))
            if session is not None:
                ctx.session = session
                ctx.member = session.member
                ctx.actor = await accounts.load_actor(ctx.member)
        return ctx

    async def _refuse(
        self, request: HTTPConnection, status: int, send: Send, message: str | None = None
    ) -> None:
        from forum.web.errors import error_response

        if request.scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        assert isinstance(request, Request)
        response = error_response(request, status, message)
        await response(request.scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _limited(receive: Receive, limit: int) -> Receive:
    """Count streamed body bytes too: a chunked upload without Content-Length is still capped."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge()
        return message

    return wrapped


def _anon_cookie(value: str, services: Services) -> bytes:
    secure = "; Secure" if services.settings.secure_cookies else ""
    return f"{ANON_CSRF_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}".encode()


def session_cookie(token: str, services: Services) -> dict[str, Any]:
    return {
        "key": SESSION_COOKIE,
        "value": token,
        "httponly": True,
        "samesite": "lax",
        "secure": services.settings.secure_cookies,
        "path": "/",
        "max_age": services.settings.session_absolute_seconds,
    }
