"""Fan-out of live events to this process's websockets, gated by the policy at every delivery.

One broker subscription per process feeds `Hub.dispatch`. Each event's HTML is rendered once
per process, and its frame is built once for every socket. A frame goes out at once, in the
fan-out loop itself, while its socket is idle; only while a send is in flight (the socket's
transport is paused because its reader is slow) do frames wait in that socket's bounded
backlog, drained by a task that exists only then. A socket too slow to drain is closed (its
client reconnects and catches up from the Event table). Sequence numbers are tracked per socket
and topic: duplicates are dropped and gaps are filled from the table before delivery, so
neither a lost broker message nor a reconnect loses anything. One timer pings every socket of
the process every HEARTBEAT seconds, a slice of the sockets at each tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode
from websockets.protocol import OPEN as WS_OPEN

from forum import policy
from forum.models import Channel, Event, Post, Thread
from forum.policy import Actor
from forum.realtime.events import parse_topic

log = logging.getLogger("forum.realtime")

QUEUE_LIMIT = 256
REPLAY_LIMIT = 500
MAX_TOPICS = 50
HEARTBEAT = 25.0  # seconds between two pings on one socket
BEAT_SLOTS = 25  # the sockets are pinged in this many slices, one per HEARTBEAT / BEAT_SLOTS

Message = dict[str, Any]
Render = Callable[[Post], str]
# The socket's ASGI `send`: takes {"type": "websocket.send", "text": ...} messages.
Send = Callable[[Message], Coroutine[Any, Any, None]]
Close = Callable[[int, str], Coroutine[Any, Any, None]]
LoadActor = Callable[["Client"], Awaitable[Actor | None]]

POST_KINDS = frozenset(
    {"post.created", "post.edited", "post.deleted", "post.hidden", "post.restored"}
)


class Out:
    """One outgoing text frame, built once however many sockets it goes to: the ASGI message,
    and (on first use) its bytes on the wire."""

    __slots__ = ("_wire", "message")

    def __init__(self, text: str) -> None:
        self.message: Message = {"type": "websocket.send", "text": text}
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        if self._wire is None:
            # As the server's websockets protocol frames it: FIN, text, unmasked.
            data = self.message["text"].encode()
            self._wire = WsFrame(Opcode.TEXT, data).serialize(mask=False)
        return self._wire


PING = Out(json.dumps({"op": "ping"}))


class Frames:
    """An event's frames. Most events have one frame for every socket; a post event has one
    per kind of viewer, each carrying that viewer's controls (`can`) from the policy's view
    model, so the page's script shows the right links without deciding any rule itself. The
    policy names what a kind of viewer is (`policy.posts.viewer_kind`), so a thousand sockets of
    ordinary members share one frame."""

    __slots__ = ("base", "by_kind", "common", "post")

    def __init__(self, base: dict[str, Any], post: Post | None = None) -> None:
        self.base = base
        self.post = post
        self.common = Out(json.dumps(base)) if post is None else None
        self.by_kind: dict[tuple[Any, ...], Out] = {}

    def for_actor(self, actor: Actor) -> Out:
        if self.common is not None:
            return self.common
        post = self.post
        kind = policy.posts.viewer_kind(actor, post)
        out = self.by_kind.get(kind)
        if out is None:
            controls = policy.post_view(actor, post).controls()  # type: ignore[arg-type]
            out = self.by_kind[kind] = Out(json.dumps({**self.base, "can": controls}))
        return out


class Client:
    """One websocket: who it is, what it follows (topic -> last seq delivered), and the frames
    waiting behind a send that could not finish at once."""

    __slots__ = (
        "_close",
        "actor",
        "backlog",
        "beat",
        "closed",
        "direct",
        "drain",
        "send",
        "seqs",
        "session_id",
    )

    def __init__(
        self, actor: Actor, send: Send, close: Close, session_id: int | None = None
    ) -> None:
        self.actor = actor
        self.send = send
        self._close = close
        self.session_id = session_id
        self.seqs: dict[str, int] = {}
        # None while idle: frames are sent at once. A deque while a send is in flight.
        self.backlog: deque[Out] | None = None
        self.drain: asyncio.Task[None] | None = None
        self.beat = -1  # the heartbeat slice this socket is in while the hub has it
        self.closed = False
        self.direct = _direct(send)

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self._close(code, reason)

    def offer(self, frame: str) -> bool:
        """Send a frame; False when the socket is too slow to keep up."""
        return self.push(Out(frame))

    def push(self, out: Out) -> bool:
        if self.closed:
            return True
        backlog = self.backlog
        if backlog is not None:
            if len(backlog) >= QUEUE_LIMIT:
                return False
            backlog.append(out)
            return True
        proto = self.direct
        if proto is not None and _writable(proto):
            proto.transport.write(out.wire)
            return True
        # Step the send coroutine here, outside any task: a socket whose transport takes the
        # bytes finishes in this one step, with no task, queue or wakeup per frame.
        coro = self.send(out.message)
        try:
            waiting = coro.send(None)
        except StopIteration:
            return True
        except Exception as exc:  # the socket is gone; its receive loop cleans up
            log.debug("send failed: %r", exc)
            self.closed = True
            return True
        # The transport is paused: finish this send in a task and queue what follows behind it.
        self.backlog = deque()
        self.drain = asyncio.get_running_loop().create_task(self._drain(_Resume(coro, waiting)))
        return True

    async def _drain(self, first: _Resume) -> None:
        try:
            await first
            while self.backlog:
                await self.send(self.backlog.popleft().message)
        except Exception as exc:
            log.debug("send failed: %r", exc)
            self.closed = True
        finally:
            self.backlog = None
            self.drain = None


class _Resume:
    """Await the rest of a coroutine that was started outside a task and then had to wait for
    `waiting` (what it yielded): the task awaiting this drives it from there on."""

    __slots__ = ("coro", "waiting")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
        self.coro = coro
        self.waiting = waiting

    def __await__(self) -> Generator[Any, None, None]:
        coro, waiting = self.coro, self.waiting
        self.waiting = None
        while True:
            try:
                yield waiting
            except BaseException as exc:  # cancellation reaches the coroutine's own await
                try:
                    waiting = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    waiting = coro.send(None)
                except StopIteration:
                    return


# ---- uvicorn's websockets-sansio socket, written to directly ------------------------------
#
# Fan-out's cost per socket is mostly the ASGI send: a coroutine, an Event wait, the websockets
# protocol building and serialising a Frame of the same text for every socket. When `send` is
# uvicorn's WebSocketsSansIOProtocol.send, a frame is written as the same bytes straight to its
# transport, but only in the state where that send would do exactly this (open, writable, no
# extension such as permessage-deflate); in any other state, and with any other server, the
# ASGI send is used.

_DIRECT_ATTRS = (
    "transport",
    "writable",
    "disconnected",
    "close_sent",
    "handshake_complete",
    "initial_response",
    "conn",
)
_CONN_ATTRS = ("state", "extensions", "debug", "expect_continuation_frame")


def _direct(send: Send) -> Any:
    """uvicorn's protocol object behind `send`, or None for any other server (or a uvicorn
    whose protocol no longer has the state `_writable` reads: re-check this on upgrades)."""
    proto: Any = getattr(send, "__self__", None)
    if type(proto).__name__ != "WebSocketsSansIOProtocol" or send.__name__ != "send":
        return None
    if not all(hasattr(proto, name) for name in _DIRECT_ATTRS):
        return None
    conn = proto.conn
    if not all(hasattr(conn, name) for name in _CONN_ATTRS):
        return None
    return proto


def _writable(proto: Any) -> bool:
    conn = proto.conn
    return bool(
        proto.writable.is_set()
        and not proto.disconnected
        and not proto.close_sent
        and proto.handshake_complete
        and proto.initial_response is None
        and conn.state is WS_OPEN
        and not conn.extensions
        and not conn.debug
        and not conn.expect_continuation_frame
    )


class Hub:
    def __init__(self, render_post: Render, load_actor: LoadActor) -> None:
        self.render_post = render_post
        self.load_actor = load_actor
        self.by_topic: dict[str, set[Client]] = {}
        self.by_member: dict[int, set[Client]] = {}
        # topic -> (kind, target): the Thread or Channel (or member id) the policy is asked
        # about, shared by every socket of the topic and refreshed by each subscribe.
        self.targets: dict[str, tuple[str, Any]] = {}
        self.beats: list[set[Client]] = [set() for _ in range(BEAT_SLOTS)]
        self.beat = 0
        self.count = 0
        self.timer: asyncio.TimerHandle | None = None

    # ---- sockets -------------------------------------------------------------------------

    def add(self, client: Client) -> None:
        self.count += 1
        # The slice just pinged: this socket's first ping comes a whole HEARTBEAT later.
        client.beat = self.beat
        self.beats[self.beat].add(client)
        if client.actor.member_id is not None:
            self.by_member.setdefault(client.actor.member_id, set()).add(client)
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(
                HEARTBEAT / BEAT_SLOTS, self._heartbeat
            )

    def remove(self, client: Client) -> None:
        client.closed = True
        if client.beat >= 0:
            self.beats[client.beat].discard(client)
            client.beat = -1
            self.count -= 1
        for topic in list(client.seqs):
            self._drop(client, topic)
        if client.actor.member_id is not None:
            peers = self.by_member.get(client.actor.member_id)
            if peers is not None:
                peers.discard(client)
                if not peers:
                    del self.by_member[client.actor.member_id]
        if not self.count and self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _heartbeat(self) -> None:
        self.beat = (self.beat + 1) % BEAT_SLOTS
        for client in list(self.beats[self.beat]):
            client.push(PING)
        self.timer = asyncio.get_running_loop().call_later(HEARTBEAT / BEAT_SLOTS, self._heartbeat)

    def _drop(self, client: Client, topic: str) -> None:
        client.seqs.pop(topic, None)
        peers = self.by_topic.get(topic)
        if peers is not None:
            peers.discard(client)
            if not peers:
                del self.by_topic[topic]
                self.targets.pop(topic, None)

    async def subscribe(
        self, client: Client, topic: str, after: int | None
    ) -> dict[str, Any] | None:
        """Follow a topic from `after`: send {"op": "subscribed"}, then the missed events, then
        live ones. Returns the error or reset answer instead; missing and unreadable topics
        answer alike."""
        parsed = parse_topic(topic)
        target = await _load_target(parsed) if parsed else None
        if (
            parsed is None
            or target is None
            or not policy.topic_readable(client.actor, parsed[0], target)
        ):
            return {
                "op": "error",
                "code": "not_found",
                "topic": topic,
                "message": "There is no such topic, or you cannot follow it.",
            }
        if topic not in client.seqs and len(client.seqs) >= MAX_TOPICS:
            return {
                "op": "error",
                "code": "too_many_topics",
                "topic": topic,
                "message": f"A socket follows at most {MAX_TOPICS} topics.",
            }
        if parsed[0] == "member":
            current = await _member_seq(parsed[1])
        else:
            current = int(target.event_seq)
        if after is None:
            after = current
        # A client ahead of the server, or further behind than the table still holds, reloads.
        if after < 0 or after > current or current - after > REPLAY_LIMIT:
            return {"op": "reset", "topic": topic}
        if after < current:
            oldest = (
                await Event.filter(topic=topic)
                .order_by("seq")
                .limit(1)
                .values_list("seq", flat=True)
            )
            if not oldest or int(oldest[0]) > after + 1:  # type: ignore[call-overload]
                return {"op": "reset", "topic": topic}
        if client.closed:
            return None
        client.seqs[topic] = after
        self.by_topic.setdefault(topic, set()).add(client)
        self.targets[topic] = parsed[0], target
        client.offer(json.dumps({"op": "subscribed", "topic": topic, "seq": after}))
        await self._fill(client, topic, current)
        return None

    def unsubscribe(self, client: Client, topic: str) -> None:
        self._drop(client, topic)

    # ---- delivery ------------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """A broker message: an event (topic, seq, kind, data) or an access change."""
        if message.get("op") == "access":
            await self.access_changed(int(message.get("member_id", 0)))
            return
        topic = message.get("topic")
        if not isinstance(topic, str) or topic not in self.by_topic:
            return
        seq = int(message.get("seq", 0))
        out: Frames | None = None
        behind: list[Client] = []
        for client in list(self.by_topic.get(topic, ())):
            last = client.seqs.get(topic)
            if last is None or seq <= last:
                continue
            if seq > last + 1:
                behind.append(client)
                continue
            if out is None:
                out = await self._frame(message)
            self._deliver(client, topic, seq, out)
        # Sockets with a gap catch up from the table (up to and including seq), after the
        # sockets that are in step got the event.
        for client in behind:
            await self._fill(client, topic, seq)

    def _deliver(self, client: Client, topic: str, seq: int, frames: Frames) -> None:
        # Strictly in order: a frame that is not the next one was delivered already or will be
        # by the fill that is covering its gap.
        entry = self.targets.get(topic)
        if entry is None or seq != client.seqs.get(topic, -1) + 1:
            return
        kind, target = entry
        # The policy is asked again at every delivery, not only at subscribe.
        if not policy.topic_readable(client.actor, kind, target):
            self._drop(client, topic)
            client.offer(json.dumps({"op": "revoked", "topic": topic}))
            return
        client.seqs[topic] = seq
        if not client.push(frames.for_actor(client.actor)):
            log.info("closing a socket too slow to keep up")
            self.remove(client)
            asyncio.get_running_loop().create_task(client.close(1013, "too slow"))

    async def _fill(self, client: Client, topic: str, upto: int) -> None:
        """Deliver this client's missing events of a topic from the table, in order."""
        last = client.seqs.get(topic)
        if last is None or upto <= last:
            return
        events = (
            await Event.filter(topic=topic, seq__gt=last, seq__lte=upto)
            .order_by("seq")
            .limit(REPLAY_LIMIT)
        )
        if events and events[0].seq != last + 1:
            client.offer(json.dumps({"op": "reset", "topic": topic}))
            self._drop(client, topic)
            return
        for event in events:
            message = {
                "topic": event.topic,
                "seq": event.seq,
                "kind": event.kind,
                "data": event.payload,
            }
            self._deliver(client, topic, event.seq, await self._frame(message))

    async def resync(self) -> None:
        """After a broker (re)connection: bring every followed topic up to date from the table."""
        for topic, clients in list(self.by_topic.items()):
            newest = (
                await Event.filter(topic=topic)
                .order_by("-seq")
                .limit(1)
                .values_list("seq", flat=True)
            )
            if not newest:
                continue
            for client in list(clients):
                await self._fill(client, topic, int(newest[0]))  # type: ignore[call-overload]

    async def _frame(self, message: dict[str, Any]) -> Frames:
        """The frames for an event, its HTML rendered once for every socket of this process."""
        cached = message.get("_frame")
        if isinstance(cached, Frames):
            return cached
        out: dict[str, Any] = {
            "topic": message["topic"],
            "seq": message["seq"],
            "kind": message["kind"],
            "data": message.get("data") or {},
        }
        post = None
        if message["kind"] in POST_KINDS:
            post_id = out["data"].get("post_id")
            post = await Post.filter(id=post_id).select_related("thread__channel", "author").first()
            if post is not None:
                out["html"] = self.render_post(post)
        frames = Frames(out, post)
        message["_frame"] = frames
        return frames

    # ---- access changes ------------------------------------------------------------------

    async def access_changed(self, member_id: int) -> None:
        """A member's access changed (caucus seats, role, suspension, logout): reload who each
        of their sockets is, close those whose session ended, and narrow the rest."""
        for client in list(self.by_member.get(member_id, ())):
            actor = await self.load_actor(client)
            if client.closed:
                continue
            if actor is None:
                self.remove(client)
                await client.close(4001, "session ended")
                continue
            client.actor = actor
            for topic in list(client.seqs):
                parsed = parse_topic(topic)
                fresh = await _load_target(parsed)
                if topic not in client.seqs or parsed is None:
                    continue
                if fresh is None or not policy.topic_readable(actor, parsed[0], fresh):
                    self._drop(client, topic)
                    client.offer(json.dumps({"op": "revoked", "topic": topic}))
                else:
                    self.targets[topic] = parsed[0], fresh


async def _load_target(parsed: tuple[str, int] | None) -> Any:
    if parsed is None:
        return None
    kind, ident = parsed
    if not 0 < ident < 2**31:
        return None
    if kind == "thread":
        return await Thread.filter(id=ident).select_related("channel").first()
    if kind == "channel":
        return await Channel.get_or_none(id=ident)
    return ident  # member topics: the member id itself


async def _member_seq(member_id: int) -> int:
    from forum.models import Member

    rows = await Member.filter(id=member_id).values_list("event_seq", flat=True)
    return int(rows[0]) if rows else 0  # type: ignore[call-overload]
