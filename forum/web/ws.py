"""GET /ws: live updates. Authenticated by the session cookie; the Origin must be this site.

Client frames: {"op": "subscribe", "topic": "thread:42", "after": 17}, {"op": "unsubscribe",
"topic": ...}, {"op": "ping"}. Bad frames get an error frame; floods and oversized frames close
the socket. Nothing a client sends can reach another topic: the hub asks the policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import replace
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from forum.models import Session
from forum.policy import Actor
from forum.realtime.hub import Client, Hub, LiveSessions, LoadActor
from forum.services import accounts
from forum.services.context import Ctx
from forum.settings import Settings
from forum.web.access import access
from forum.web.middleware import SOCKET_SEND

MAX_FRAME = 4096
# Token bucket: a burst of 40 frames, refilled at 20 a second.
BURST, RATE = 40.0, 20.0


def _allowed_origin(ws: WebSocket, base_url: str) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:
        return False
    host = ws.headers.get("host", "")
    scheme = "https" if ws.url.scheme == "wss" else "http"
    return origin in (base_url, f"{scheme}://{host}")


def _error(code: str, message: str, topic: str | None = None) -> str:
    body: dict[str, Any] = {"op": "error", "code": code, "message": message}
    if topic is not None:
        body["topic"] = topic
    return json.dumps(body)


def live_sessions_for(settings: Settings) -> LiveSessions:
    """The hub's check of its sockets' sessions: which of these ids are still live (not ended,
    not past their idle or absolute limit, their member not suspended), as `accounts.signed_in`
    decides for a request."""

    async def live(ids: list[int]) -> set[int]:
        moment = accounts.now()
        rows = (
            await Session.filter(id__in=ids)
            .exclude(member__status="suspended")
            .values_list("id", "created_at", "last_seen_at")
        )
        return {
            int(session_id)
            for session_id, created_at, last_seen_at in rows
            if not accounts.session_expired(settings, created_at, last_seen_at, moment)
        }

    return live


def actor_loader_for(settings: Settings) -> LoadActor:
    async def load_actor_for(client: Client) -> Actor | None:
        """Who a socket is now: None once its session has ended (logout, suspension, expiry)."""
        if client.session_id is None:
            return Actor.anonymous()
        session = await Session.filter(id=client.session_id).select_related("member").first()
        if (
            session is None
            or session.member.status == "suspended"
            or accounts.session_expired(
                settings, session.created_at, session.last_seen_at, accounts.now()
            )
        ):
            return None
        return await accounts.load_actor(session.member)

    return load_actor_for


@access("anyone")
async def live(ws: WebSocket) -> None:
    hub: Hub = ws.app.state.hub
    client = await _open(ws, hub)
    if client is None:
        return
    tokens, stamp = BURST, time.monotonic()
    try:
        while not client.closed:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            now = time.monotonic()
            tokens = min(BURST, tokens + (now - stamp) * RATE)
            stamp = now
            if tokens < 1:
                client.offer(_error("flood", "Too many frames; reconnect more gently."))
                await asyncio.sleep(0.05)
                await client.close(1008, "flood")
                break
            tokens -= 1
            if len(text) > MAX_FRAME:
                client.offer(_error("too_large", f"Frames are at most {MAX_FRAME} bytes."))
                await asyncio.sleep(0.05)
                await client.close(1009, "frame too large")
                break
            await _handle(hub, client, text)
    except WebSocketDisconnect:
        pass
    finally:
        hub.remove(client)
        drain = client.drain  # frames still queued behind a slow send get a second to go out
        if drain is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(drain, timeout=1)


async def _open(ws: WebSocket, hub: Hub) -> Client | None:
    """Check the Origin, accept, and register the socket with the hub (unless this member or
    address has too many already). Only the actor and the session id outlive this call: the
    request's session and member objects are not kept."""
    ctx: Ctx = ws.state.ctx
    if not _allowed_origin(ws, ctx.settings.base_url):
        await ws.close(code=1008)
        return None
    await ws.accept()
    refused = hub.refusal(ctx.actor, ctx.address)
    if refused is not None:
        await ws.close(code=4029, reason=refused)
        return None
    client = Client(
        actor=ctx.actor,
        # The server's own send when the middleware handed it over: frames skip Starlette's
        # per-message wrappers (the socket is accepted, so they have nothing left to check).
        send=ws.scope.get(SOCKET_SEND) or ws.send,
        close=ws.close,
        session_id=ctx.session.id if ctx.session else None,
        address=ctx.address,
    )
    # The socket outlives the request that opened it: keep its actor, not its Session and
    # Member objects.
    ws.state.ctx = replace(ctx, session=None, member=None)
    hub.add(client)
    # Who the socket is, read again now that the hub has it: an access change committed since
    # the request loaded its actor was applied before this socket was there to narrow.
    actor = await hub.load_actor(client)
    if actor is None:
        hub.remove(client)
        await client.close(4001, "session ended")
        return None
    await hub.set_actor(client, actor)
    return client


async def _handle(hub: Hub, client: Client, text: str) -> None:
    try:
        frame = json.loads(text)
    except ValueError:
        client.offer(_error("bad_json", "Frames are JSON objects."))
        return
    if not isinstance(frame, dict):
        client.offer(_error("bad_json", "Frames are JSON objects."))
        return
    op = frame.get("op")
    topic = frame.get("topic")
    if op == "ping":
        client.offer(json.dumps({"op": "pong"}))
    elif op in ("subscribe", "unsubscribe"):
        if not isinstance(topic, str) or len(topic) > 64:
            client.offer(_error("bad_topic", "A topic is a string like thread:42."))
            return
        if op == "unsubscribe":
            hub.unsubscribe(client, topic)
            client.offer(json.dumps({"op": "unsubscribed", "topic": topic}))
            return
        after = frame.get("after")
        if after is not None and (isinstance(after, bool) or not isinstance(after, int)):
            client.offer(_error("bad_after", "`after` is a whole number or null.", topic))
            return
        answer = await hub.subscribe(client, topic, after)
        if answer is not None:
            client.offer(json.dumps(answer))
    elif op == "pong":
        return
    else:
        client.offer(_error("unknown_op", "Known ops: subscribe, unsubscribe, ping."))
