"""Fan-out of live events to this process's websockets, gated by the policy at every delivery.

One broker subscription per process feeds `Hub.dispatch`. Each event's HTML is rendered once
per process, and its frame is built once per kind of viewer (the policy's per-post view model
says which controls each kind gets, sent as data), not once per socket. A frame goes out at
once, in the fan-out loop itself, while its socket is idle; only while a send is in flight
(the socket's transport is paused because its reader is slow) do frames wait in that socket's
bounded backlog, drained by a task that exists only then. A socket too slow to drain is closed (its
client reconnects and catches up from the Event table). Sequence numbers are tracked per socket
and topic: duplicates are dropped and gaps are filled from the table before delivery, so
neither a lost broker message nor a reconnect loses anything. One timer pings every socket of
the process every HEARTBEAT seconds, a slice of the sockets at each tick.

Access is narrowed from the Event table, never from a message of its own: a change of who may
read what (caucus seats, role, suspension, a session's end, a thread's move) is an event written
in the transaction of the change. The hub applies each such event when the broker brings it,
again after every broker reconnection, and on a periodic pass that reads the table (so it does
even while the broker is down). The same pass closes sockets whose session has ended or expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any

from forum import policy, seams
from forum.models import Channel, Event, Member, Post, Thread
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
# Of these session ids, the ones still live (not ended, expired or suspended).
LiveSessions = Callable[[list[int]], Awaitable[set[int]]]

POST_KINDS = frozenset(
    {"post.created", "post.edited", "post.deleted", "post.hidden", "post.restored"}
)
# Events on a member's own topic that change what that member may read: their sockets reload
# who they are. (`caucus.membership`: a seat gained, lost or changed; `access.changed`: role,
# suspension, reinstatement, a session's end.)
ACCESS_KINDS = frozenset({"caucus.membership", "access.changed"})
# Events on a thread or channel topic that change who may read it: every socket following it
# (or, for a channel, any of its threads) is asked again.
# (`case.access`: who handles a confidential case changed: a recusal, a move to the alternate.)
READERS_KINDS = frozenset({"thread.move", "channel.access", "case.access"})
# PostgreSQL hands out event ids before commit, so a later id can commit first: each pass
# re-reads the ids of this many seconds before its last read.
OVERLAP_SECONDS = 60.0


@dataclass(frozen=True)
class SocketLimits:
    """Bounds on one process's sockets (from Settings)."""

    per_member: int = 20
    per_address: int = 50
    # Replays are counted in events: a burst, then a steady rate per second.
    replay_burst: int = 2000
    replay_rate: float = 200.0
    # The periodic pass: access events from the table, and every socket's session.
    recheck_seconds: float = 5.0


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
            self._wire = seams.text_frame(self.message["text"])
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
        "address",
        "backlog",
        "beat",
        "closed",
        "direct",
        "drain",
        "replay_stamp",
        "replay_tokens",
        "send",
        "seqs",
        "session_id",
    )

    def __init__(
        self,
        actor: Actor,
        send: Send,
        close: Close,
        session_id: int | None = None,
        address: str = "",
    ) -> None:
        self.actor = actor
        self.send = send
        self._close = close
        self.session_id = session_id
        self.address = address
        self.replay_tokens = -1.0  # the bucket starts full (set on first use)
        self.replay_stamp = 0.0
        self.seqs: dict[str, int] = {}
        # None while idle: frames are sent at once. A deque while a send is in flight.
        self.backlog: deque[Out] | None = None
        self.drain: asyncio.Task[None] | None = None
        self.beat = -1  # the heartbeat slice this socket is in while the hub has it
        self.closed = False
        self.direct = seams.direct_writer(send)

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self._close(code, reason)

    def take_replay(self, cost: int, limits: SocketLimits) -> bool:
        """Spend `cost` events of this socket's replay bucket; False (nothing spent) when it
        holds too few, so one socket cannot loop replays of the table."""
        now = time.monotonic()
        if self.replay_tokens < 0:
            self.replay_tokens = float(limits.replay_burst)
        else:
            elapsed = now - self.replay_stamp
            self.replay_tokens = min(
                float(limits.replay_burst), self.replay_tokens + elapsed * limits.replay_rate
            )
        self.replay_stamp = now
        if cost > self.replay_tokens:
            return False
        self.replay_tokens -= cost
        return True

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
        if proto is not None and seams.write_now(proto, out):
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


class Hub:
    def __init__(
        self,
        render_post: Render,
        load_actor: LoadActor,
        *,
        live_sessions: LiveSessions | None = None,
        limits: SocketLimits | None = None,
    ) -> None:
        self.render_post = render_post
        self.load_actor = load_actor
        self.live_sessions = live_sessions
        self.limits = limits or SocketLimits()
        self.by_topic: dict[str, set[Client]] = {}
        self.by_member: dict[int, set[Client]] = {}
        self.by_address: dict[str, int] = {}
        # Access events applied in the overlap window (id -> when), so each applies once here.
        self.applied: dict[int, float] = {}
        # (when, the newest event id then): where each pass starts re-reading the table.
        self.marks: deque[tuple[float, int]] = deque()
        # topic -> how often its readers changed (a thread moved): a subscribe that loaded the
        # target before a change must load it again.
        self.generations: dict[str, int] = {}
        self.rechecking: asyncio.Task[None] | None = None
        # topic -> (kind, target): the Thread or Channel (or member id) the policy is asked
        # about, shared by every socket of the topic and refreshed by each subscribe.
        self.targets: dict[str, tuple[str, Any]] = {}
        self.beats: list[set[Client]] = [set() for _ in range(BEAT_SLOTS)]
        self.beat = 0
        self.count = 0
        # For /metrics: broker events handled, and frames pushed to sockets (plain counters).
        self.dispatched = 0
        self.delivered = 0
        self.timer: asyncio.TimerHandle | None = None

    # ---- sockets -------------------------------------------------------------------------

    def refusal(self, actor: Actor, address: str) -> str | None:
        """Why a new socket may not join this process (too many of this member's or this
        address's sockets already), or None."""
        mine = self.by_member.get(actor.member_id, ()) if actor.member_id is not None else ()
        if len(mine) >= self.limits.per_member:
            return "too many sockets for this member"
        if address and self.by_address.get(address, 0) >= self.limits.per_address:
            return "too many sockets from this address"
        return None

    def add(self, client: Client) -> None:
        self.count += 1
        if client.address:
            self.by_address[client.address] = self.by_address.get(client.address, 0) + 1
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
            if client.address:
                left = self.by_address.get(client.address, 0) - 1
                if left > 0:
                    self.by_address[client.address] = left
                else:
                    self.by_address.pop(client.address, None)
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
        generation = self.generations.get(topic, 0)
        target = await _load_target(parsed) if parsed else None
        if (
            parsed is None
            or target is None
            or not policy.topic_readable(client.actor, parsed[0], target)
        ):
            return _not_found(topic)
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
        if after < current and not client.take_replay(current - after, self.limits):
            return {
                "op": "error",
                "code": "replay_limited",
                "topic": topic,
                "message": "Too many replays on this socket: subscribe again in a moment.",
            }
        # Who may read the topic changed while this subscribe was loading it: ask again.
        while self.generations.get(topic, 0) != generation:
            generation = self.generations.get(topic, 0)
            target = await _load_target(parsed)
            if target is None or not policy.topic_readable(client.actor, parsed[0], target):
                return _not_found(topic)
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
        """A broker message: an event (id, topic, seq, kind, data). Access events narrow the
        sockets first; then the event goes to the topic's followers."""
        topic = message.get("topic")
        if not isinstance(topic, str):
            return
        self.dispatched += 1
        kind = message.get("kind")
        if kind in ACCESS_KINDS or kind in READERS_KINDS:
            event_id = message.get("id")
            if isinstance(event_id, int) and event_id not in self.applied:
                self.applied[event_id] = time.monotonic()
                await self._apply(topic, str(kind))
        if topic not in self.by_topic:
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
        self.delivered += 1
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
        """After a broker (re)connection: apply the access events the broker may have lost,
        then bring every followed topic up to date from the table."""
        await self.catch_up()
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

    # ---- access changes, from the Event table ---------------------------------------------

    async def start(self) -> None:
        """Begin the periodic pass (one timer for the whole process). Events committed before
        now need no applying: every socket loads its actor after it joins the hub."""
        await self._mark()
        if self.rechecking is None:
            self.rechecking = asyncio.get_running_loop().create_task(self._recheck_forever())

    async def stop(self) -> None:
        task, self.rechecking = self.rechecking, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _mark(self) -> int:
        newest = await Event.all().order_by("-id").limit(1).values_list("id", flat=True)
        top = int(newest[0]) if newest else 0  # type: ignore[call-overload]
        self.marks.append((time.monotonic(), top))
        return top

    async def catch_up(self) -> None:
        """Apply the access events of the table this process has not applied yet: those after
        the newest id read a while ago (ids can commit out of order, so the window overlaps
        earlier reads; an event already applied is skipped, and applying twice is harmless)."""
        now = time.monotonic()
        while len(self.marks) > 1 and self.marks[1][0] <= now - OVERLAP_SECONDS:
            self.marks.popleft()
        floor = self.marks[0][1] if self.marks else 0
        await self._mark()
        events = (
            await Event.filter(id__gt=floor, kind__in=sorted(ACCESS_KINDS | READERS_KINDS))
            .order_by("id")
            .values_list("id", "topic", "kind")
        )
        for event_id, topic, kind in events:
            if event_id in self.applied:
                continue
            self.applied[event_id] = now
            await self._apply(topic, kind)
        for event_id in [i for i, seen in self.applied.items() if seen < now - 2 * OVERLAP_SECONDS]:
            del self.applied[event_id]

    async def _apply(self, topic: str, kind: str) -> None:
        parsed = parse_topic(topic)
        if parsed is None:
            return
        if kind in ACCESS_KINDS and parsed[0] == "member":
            if parsed[1] in self.by_member:
                await self.access_changed(parsed[1])
        elif kind in READERS_KINDS:
            await self.readers_changed(parsed)

    async def _recheck_forever(self) -> None:
        while True:
            await asyncio.sleep(self.limits.recheck_seconds)
            try:
                await self.catch_up()
                await self.check_sessions()
            except Exception:  # the next pass tries again; the loop must not die
                log.exception("the periodic socket pass failed")

    async def check_sessions(self) -> None:
        """Close every socket whose session ended, expired (idle or absolute limit) or whose
        member was suspended."""
        if self.live_sessions is None:
            return
        by_session: dict[int, list[Client]] = {}
        for clients in list(self.by_member.values()):
            for client in clients:
                if client.session_id is not None:
                    by_session.setdefault(client.session_id, []).append(client)
        ids = sorted(by_session)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            live = await self.live_sessions(chunk)
            for session_id in chunk:
                if session_id not in live:
                    for client in by_session[session_id]:
                        await self._end(client)

    async def _end(self, client: Client, suspended: bool = False) -> None:
        """Close a socket whose session ended: 4003 when its member was suspended (the page
        sends them to sign in, where they are told why), 4001 otherwise."""
        if client.closed:
            return
        self.remove(client)
        if suspended:
            await client.close(4003, "suspended")
        else:
            await client.close(4001, "session ended")

    async def readers_changed(self, parsed: tuple[str, int]) -> None:
        """A thread moved (or a channel's readers changed): ask the policy again for every
        socket following it, and for a channel, following any of its threads."""
        kind, ident = parsed
        topics = [f"{kind}:{ident}"]
        if kind == "channel":
            topics += [
                topic
                for topic, (target_kind, target) in list(self.targets.items())
                if target_kind == "thread" and target.channel_id == ident
            ]
        for topic in topics:
            self.generations[topic] = self.generations.get(topic, 0) + 1
            if topic in self.by_topic:
                await self._recheck_topic(topic)

    async def _recheck_topic(self, topic: str) -> None:
        parsed = parse_topic(topic)
        fresh = await _load_target(parsed)
        clients = self.by_topic.get(topic)
        if parsed is None or not clients:
            return
        if fresh is not None:
            self.targets[topic] = parsed[0], fresh
        for client in list(clients):
            if fresh is None or not policy.topic_readable(client.actor, parsed[0], fresh):
                self._drop(client, topic)
                client.offer(json.dumps({"op": "revoked", "topic": topic}))

    async def access_changed(self, member_id: int) -> None:
        """A member's access changed (caucus seats, role, suspension, logout): reload who each
        of their sockets is, close those whose session ended, and narrow the rest."""
        for client in list(self.by_member.get(member_id, ())):
            actor = await self.load_actor(client)
            if client.closed:
                continue
            if actor is None:
                suspended = await Member.filter(id=member_id, status="suspended").exists()
                await self._end(client, suspended)
                continue
            await self.set_actor(client, actor)

    async def set_actor(self, client: Client, actor: Actor) -> None:
        """Who a socket is now: each topic it follows is asked again (and dropped with a
        `revoked` frame when it may no longer read it)."""
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


def _not_found(topic: str) -> dict[str, Any]:
    """The answer for a topic that is missing or that the socket may not follow: the same for
    both, so it tells nothing of what exists."""
    return {
        "op": "error",
        "code": "not_found",
        "topic": topic,
        "message": "There is no such topic, or you cannot follow it.",
    }


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
    if kind == "case":
        from forum.services import reports

        return await reports.live_target(ident)
    return ident  # member topics: the member id itself


async def _member_seq(member_id: int) -> int:
    from forum.models import Member

    rows = await Member.filter(id=member_id).values_list("event_seq", flat=True)
    return int(rows[0]) if rows else 0  # type: ignore[call-overload]
