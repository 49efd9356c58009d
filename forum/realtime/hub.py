"""Fan-out of live events to this process's websockets, gated by the policy at every delivery.

One broker subscription per process feeds `Hub.dispatch`. Each event's HTML is rendered once
per process. Each socket has a bounded queue drained by its own sender task; a socket too slow
to drain is closed (its client reconnects and catches up from the Event table). Sequence
numbers are tracked per socket and topic: duplicates are dropped and gaps are filled from the
table before delivery, so neither a lost broker message nor a reconnect loses anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from forum import policy
from forum.models import Channel, Event, Post, Thread
from forum.policy import Actor
from forum.realtime.events import parse_topic

log = logging.getLogger("forum.realtime")

QUEUE_LIMIT = 256
REPLAY_LIMIT = 500
MAX_TOPICS = 50

Render = Callable[[Post], str]
Send = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Coroutine[Any, Any, None]]
LoadActor = Callable[["Client"], Awaitable[Actor | None]]

POST_KINDS = frozenset(
    {"post.created", "post.edited", "post.deleted", "post.hidden", "post.restored"}
)


@dataclass(eq=False)
class Client:
    """One websocket: who it is, what it follows, and its outgoing queue."""

    actor: Actor
    send: Send
    close: Close
    session_id: int | None = None
    # topic -> (kind, target) where target is the Thread/Channel object or the member id
    topics: dict[str, tuple[str, Any]] = field(default_factory=dict)
    last_seq: dict[str, int] = field(default_factory=dict)
    queue: asyncio.Queue[str | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_LIMIT)
    )
    closed: bool = False

    def offer(self, frame: str) -> bool:
        """Queue a frame; False when the socket is too slow to keep up."""
        if self.closed:
            return True
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    async def run_sender(self) -> None:
        # A serial send loop per socket: measured faster than gathering sends over thousands.
        while True:
            frame = await self.queue.get()
            if frame is None:
                return
            await self.send(frame)


class Hub:
    def __init__(self, render_post: Render, load_actor: LoadActor) -> None:
        self.render_post = render_post
        self.load_actor = load_actor
        self.by_topic: dict[str, set[Client]] = {}
        self.by_member: dict[int, set[Client]] = {}
        self.clients: set[Client] = set()

    # ---- sockets -------------------------------------------------------------------------

    def add(self, client: Client) -> None:
        self.clients.add(client)
        if client.actor.member_id is not None:
            self.by_member.setdefault(client.actor.member_id, set()).add(client)

    def remove(self, client: Client) -> None:
        client.closed = True
        self.clients.discard(client)
        for topic in list(client.topics):
            self._drop(client, topic)
        if client.actor.member_id is not None:
            peers = self.by_member.get(client.actor.member_id)
            if peers is not None:
                peers.discard(client)
                if not peers:
                    del self.by_member[client.actor.member_id]
        with contextlib.suppress(asyncio.QueueFull):
            client.queue.put_nowait(None)

    def _drop(self, client: Client, topic: str) -> None:
        client.topics.pop(topic, None)
        client.last_seq.pop(topic, None)
        peers = self.by_topic.get(topic)
        if peers is not None:
            peers.discard(client)
            if not peers:
                del self.by_topic[topic]

    async def subscribe(
        self, client: Client, topic: str, after: int | None
    ) -> dict[str, Any] | None:
        """Follow a topic from `after`: queue {"op": "subscribed"}, then the missed events, then
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
        if topic not in client.topics and len(client.topics) >= MAX_TOPICS:
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
        client.topics[topic] = parsed[0], target
        client.last_seq[topic] = after
        self.by_topic.setdefault(topic, set()).add(client)
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
        frame: str | None = None
        for client in list(self.by_topic.get(topic, ())):
            last = client.last_seq.get(topic, 0)
            if seq <= last:
                continue
            if seq > last + 1:
                await self._fill(client, topic, seq)  # fills up to and including seq
                continue
            if frame is None:
                frame = await self._frame(message)
            self._deliver(client, topic, seq, frame)

    def _deliver(self, client: Client, topic: str, seq: int, frame: str) -> None:
        kind, target = client.topics.get(topic, (None, None))
        # Strictly in order: a frame that is not the next one was delivered already or will be
        # by the fill that is covering its gap.
        if kind is None or seq != client.last_seq.get(topic, 0) + 1:
            return
        # The policy is asked again at every delivery, not only at subscribe.
        if not policy.topic_readable(client.actor, kind, target):
            self._drop(client, topic)
            client.offer(json.dumps({"op": "revoked", "topic": topic}))
            return
        client.last_seq[topic] = seq
        if not client.offer(frame):
            log.info("closing a socket too slow to keep up")
            self.remove(client)
            asyncio.get_running_loop().create_task(client.close(1013, "too slow"))

    async def _fill(self, client: Client, topic: str, upto: int) -> None:
        """Deliver this client's missing events of a topic from the table, in order."""
        last = client.last_seq.get(topic, 0)
        if upto <= last:
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
            frame = await self._frame(message)
            self._deliver(client, topic, event.seq, frame)

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

    async def _frame(self, message: dict[str, Any]) -> str:
        """The frame for an event, its HTML rendered once for every socket of this process."""
        cached = message.get("_frame")
        if isinstance(cached, str):
            return cached
        out: dict[str, Any] = {
            "topic": message["topic"],
            "seq": message["seq"],
            "kind": message["kind"],
            "data": message.get("data") or {},
        }
        if message["kind"] in POST_KINDS:
            post_id = out["data"].get("post_id")
            post = await Post.filter(id=post_id).select_related("thread__channel", "author").first()
            if post is not None:
                out["html"] = self.render_post(post)
        frame = json.dumps(out)
        message["_frame"] = frame
        return frame

    # ---- access changes ------------------------------------------------------------------

    async def access_changed(self, member_id: int) -> None:
        """A member's access changed (caucus seats, role, suspension, logout): reload who each
        of their sockets is, close those whose session ended, and narrow the rest."""
        for client in list(self.by_member.get(member_id, ())):
            actor = await self.load_actor(client)
            if actor is None:
                self.remove(client)
                await client.close(4001, "session ended")
                continue
            client.actor = actor
            for topic, (kind, _old) in list(client.topics.items()):
                fresh = await _load_target(parse_topic(topic))
                if fresh is None or not policy.topic_readable(actor, kind, fresh):
                    self._drop(client, topic)
                    client.offer(json.dumps({"op": "revoked", "topic": topic}))
                else:
                    client.topics[topic] = kind, fresh


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
