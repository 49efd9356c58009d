"""One pure-ASGI middleware for every request and socket: security headers, body limits,
cross-site refusal, and loading who is asking (session cookie or API token) exactly once."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request, cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forum.security import new_token
from forum.services import accounts, tokens
from forum.services.context import Ctx, Services
from forum.settings import Settings

# Under https the cookies carry the `__Host-` prefix: the browser then accepts them only from
# this host, Secure, with Path=/ and no Domain, so a sibling subdomain cannot plant one.
SESSION_COOKIE = "forum_session"
ANON_CSRF_COOKIE = "forum_csrf"
HOST_PREFIX = "__Host-"
# Scope key: the server's own `send` of a websocket, for the hub's frames (see forum.web.ws).
SOCKET_SEND = "forum.socket_send"
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


# Under https, browsers are told to use nothing else for this host for two years. (Not for
# subdomains: the organisation may run other sites there; a proxy can add includeSubDomains.)
HSTS = (b"strict-transport-security", b"max-age=63072000")


class BodyTooLarge(Exception):
    pass


def anonymous_ctx(request: Request) -> Ctx:
    services: Services = request.app.state.services
    return Ctx(services=services, address=_address(request.scope))


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def session_cookie_name(settings: Settings) -> str:
    return HOST_PREFIX + SESSION_COOKIE if settings.secure_cookies else SESSION_COOKIE


def csrf_cookie_name(settings: Settings) -> str:
    return HOST_PREFIX + ANON_CSRF_COOKIE if settings.secure_cookies else ANON_CSRF_COOKIE


def _cookies(headers: Headers) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The request's cookies, read as browsers send them (Starlette's lenient parser: a cookie
    some other app set, such as `x=a b` or `prefs={"a":1}`, costs nothing but itself), and every
    value of each name that came more than once.

    A name sent twice is ambiguous: browsers send a cookie set for a parent domain or a longer
    path beside ours, in an order the server cannot trust, so "the last one wins" would let a
    sibling subdomain choose whose session a visitor uses (cookie tossing). Callers treat an
    ambiguous cookie as absent."""
    raw = "; ".join(headers.getlist("cookie"))
    if not raw:
        return {}, {}
    values: dict[str, list[str]] = {}
    for chunk in raw.split(";"):
        if "=" in chunk:
            name, value = chunk.split("=", 1)
            values.setdefault(name.strip(), []).append(value.strip())
    repeated = {name: found for name, found in values.items() if len(found) > 1}
    return cookie_parser(raw), repeated


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
        self.headers = SECURITY_HEADERS + ([HSTS] if services.settings.secure_cookies else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # No security headers on sockets: they belong to HTTP responses, and a socket's
            # messages are never `http.response.start`, so `send` is passed on unwrapped.
            socket_ctx = await self._socket_ctx(scope, send)
            if socket_ctx is not None:
                scope.setdefault("state", {})["ctx"] = socket_ctx
                # The server's own send: an outer middleware (telemetry) may have kept it here
                # before wrapping the one passed on.
                scope.setdefault(SOCKET_SEND, send)
                del socket_ctx  # this frame lasts as long as the socket: keep nothing of its own
                await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        is_http = scope["type"] == "http"
        settings = self.services.settings
        session_name = session_cookie_name(settings)
        csrf_name = csrf_cookie_name(settings)
        # Cookies this middleware adds, written by Starlette's set_cookie (made when needed).
        cookie_jar: Response | None = None
        private = scope["path"].startswith("/api/")
        session_prefix = (session_name + "=").encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = list(message.get("headers", [])) + self.headers
                if cookie_jar is not None:
                    out += [(k, v) for k, v in cookie_jar.raw_headers if k == b"set-cookie"]
                # A signed-in page, an API answer, or an answer that starts a session is for
                # this visitor only: no browser or proxy may keep a copy.
                if (
                    private
                    or ctx.member is not None
                    or any(k == b"set-cookie" and v.startswith(session_prefix) for k, v in out)
                ):
                    out = [(k, v) for k, v in out if k != b"cache-control"]
                    out.append((b"cache-control", b"no-store"))
                message["headers"] = out
            await send(message)

        ctx = Ctx(services=self.services, address=_address(scope))
        if is_http and scope["path"].startswith("/static/"):
            await self.app(scope, receive, send_with_headers)
            return

        request = Request(scope) if is_http else HTTPConnection(scope)
        scope.setdefault("state", {})["ctx"] = ctx

        if is_http:
            limit = self.services.settings.max_body_bytes
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > limit):
                await self._refuse(request, 413, send_with_headers)
                return
            if (
                scope["method"] in UNSAFE
                and not _one_click_unsubscribe(scope)
                and not same_origin(headers, self.services.settings.base_url, scope)
            ):
                await self._refuse(request, 403, send_with_headers, "Cross-site request refused.")
                return
            receive = _limited(receive, limit)

        cookies, repeated = _cookies(headers)
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and scope["path"].startswith("/api/"):
            refusal = await self._token_ctx(ctx, auth[7:].strip(), scope.get("method", "GET"))
            if refusal is not None:
                status, message = refusal
                await self._refuse(request, status, send_with_headers, message)
                return
        else:
            if session_name in repeated:
                # Two session cookies (see _cookies): neither is trusted. Both sessions end and
                # ours is expired: expiring ours alone would leave the planted one to sign the
                # visitor in as whoever planted it.
                await accounts.end_sessions_by_token(repeated[session_name])
                cookie_jar = cookie_jar or Response()
                cookie_jar.delete_cookie(**_cookie_place(session_name, settings))
                cookies.pop(session_name, None)
            found = await accounts.signed_in(self.services, cookies.get(session_name))
            if found is not None:
                ctx.session, ctx.actor = found
                ctx.member = ctx.session.member
                if is_http and scope["method"] == "GET" and not scope["path"].startswith("/api/"):
                    # Pages show reviewers how many items wait for them (one count query).
                    from forum.services import moderation

                    ctx.review_open = await moderation.open_count(ctx.actor)
            elif is_http:
                ctx.anon_csrf = "" if csrf_name in repeated else cookies.get(csrf_name, "")[:64]
                if not ctx.anon_csrf:
                    ctx.anon_csrf = new_token()
                    cookie_jar = cookie_jar or Response()
                    cookie_jar.set_cookie(
                        value=ctx.anon_csrf, httponly=True, **_cookie_place(csrf_name, settings)
                    )
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
            if await self._token_ctx(ctx, auth[7:].strip(), "GET") is not None:
                await send({"type": "websocket.close", "code": 1008})
                return None
        else:
            cookies, repeated = _cookies(headers)
            name = session_cookie_name(self.services.settings)
            token = None if name in repeated else cookies.get(name)
            found = await accounts.signed_in(self.services, token)
            if found is not None:
                ctx.session, ctx.actor = found
                ctx.member = ctx.session.member
        return ctx

    async def _token_ctx(self, ctx: Ctx, bearer: str, method: str) -> tuple[int, str] | None:
        """Load who a bearer token speaks for into `ctx`, within the token's scopes; or the
        status and message to refuse it with. Every token scope is enforced here:

        - without `write`, only safe methods (GET, HEAD, OPTIONS);
        - without `admin`, the member's site role is capped to member (policy.members.token_actor),
          so every policy rule answers as for a plain member."""
        row = await tokens.token_for(bearer)
        if row is None:
            return 401, "That API token is not valid (unknown, expired or revoked)."
        scopes = tokens.scopes_of(row)
        if method in UNSAFE and "write" not in scopes:
            return 403, "This token may only read: use one with the write scope to change things."
        ctx.member = row.member
        ctx.via_token = True
        ctx.token_scopes = scopes
        ctx.token_expires_at = row.expires_at
        ctx.token_id = row.id
        ctx.actor = await accounts.load_actor(row.member, token_scopes=scopes)
        return None

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


def _one_click_unsubscribe(scope: Scope) -> bool:
    """RFC 8058 one-click unsubscribe is a POST from the member's mail provider, another site:
    it carries no cookie and no CSRF token, and its signed URL is its only authority (see
    forum.web.views.mail). This one route is exempt from the cross-site refusal; the view
    never reads a form through `read_form`, which is where every other POST proves its CSRF
    token."""
    path: str = scope["path"]
    return scope["method"] == "POST" and path.startswith("/unsubscribe/") and path.count("/") == 2


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


def _cookie_place(name: str, settings: Settings) -> dict[str, Any]:
    """Where a forum cookie lives: this host only (no Domain), Path=/, Lax, Secure under https.
    Setting and expiring a cookie must name the same place, or the browser keeps the old one."""
    return {"key": name, "path": "/", "samesite": "lax", "secure": settings.secure_cookies}


def session_cookie(token: str, services: Services) -> dict[str, Any]:
    """Arguments for Starlette's `Response.set_cookie` that start a session."""
    settings = services.settings
    return {
        **_cookie_place(session_cookie_name(settings), settings),
        "value": token,
        "httponly": True,
        "max_age": settings.session_absolute_seconds,
    }


def end_session_cookie(response: Response, services: Services) -> None:
    """Expire the session cookie on `response` (sign-out)."""
    settings = services.settings
    response.delete_cookie(**_cookie_place(session_cookie_name(settings), settings))
