"""The survival run for scripts/bench (the longer form of tests/test_survival.py).

Two `forum serve` processes on PostgreSQL share a private redis-server. Writers post steadily
with client keys, each post to the other process than the one before, and retry a key on the
other process until one acknowledges it (303 to /p/ID). Websocket followers, split over both
processes, follow one thread each and reconnect (to the other process first) with `after` = the
last seq they hold. On a schedule during the run: kill -9 one app process and start it again a
few seconds later, kill -9 the redis-server and start it again, and restart the other app process
gracefully (SIGTERM, then start). Then:

    every acknowledged post is stored exactly once (client keys) and under the acknowledged id,
    every acknowledged post has its post.created event and each thread's Event rows are
    1..thread.event_seq, and every follower holds every seq of its topic after its first
    subscribe point up to thread.event_seq, each once and in order.

Figures: posts acknowledged, retries, reconnects, and after each fault the time from the
service being back until every follower held every event stored by then (catch-up).

The clients run in the bench process (48 clients: 8 writers, 40 sockets); members and their
sessions are written straight to the database (bench_soak.prepare), so nobody signs in.
Bounded: every request and connect has a timeout, retries and reconnects are capped, and every
wait has a deadline. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from bench_data import PG_ADMIN, Dataset, RedisProcess, Server, free_port
from bench_load import percentile

WRITERS = 8
FOLLOWERS = 40
THREADS = 4
POST_PERIOD = 0.5  # seconds between two posts of one writer (8 writers: ~16 posts/s)
POST_RATE = "6000/minute"  # lifts the posting limits for these writers
REQUEST_TIMEOUT = 5.0
RETRY_PAUSE = 0.2
MAX_ATTEMPTS = 300  # per client key
ACK_GRACE = 30.0  # a key still unacknowledged at the end is retried this much longer
MAX_CONNECTS = 400  # per follower
SETTLE = 30.0  # at the end, followers get this long to reach thread.event_seq
APP_DOWN = 3.0  # seconds a killed app process stays down
REDIS_DOWN = 2.0


@dataclass(frozen=True)
class Shape:
    duration: float  # seconds of posting
    cycles: int  # fault cycles (kill -9 an app, restart redis, graceful restart of the other)


SHORT = Shape(duration=25.0, cycles=1)
FULL = Shape(duration=60.0, cycles=2)


async def unavailable() -> str | None:
    """Why the run cannot happen here, or None."""
    if shutil.which("redis-server") is None:
        return "redis-server is not on PATH"
    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed"
    try:
        conn = await asyncpg.connect(PG_ADMIN.replace("postgres://", "postgresql://", 1), timeout=5)
        await conn.close()
    except Exception as exc:
        return f"PostgreSQL unavailable at {PG_ADMIN}: {type(exc).__name__}: {exc}"
    return None


# ---- clients ---------------------------------------------------------------------------------


class Writer:
    def __init__(self, index: int, member: dict[str, Any], urls: list[str], run: str) -> None:
        self.index = index
        self.cookie: str = member["cookie"]
        self.csrf: str = member["csrf"]
        self.thread: int = member["thread"]
        self.urls = urls
        self.run = run
        self.acked: dict[str, int] = {}  # client key -> post id
        self.given_up: list[str] = []
        self.attempts = 0
        self.retries = 0
        self.statuses: dict[str, int] = {}
        self.examples: list[str] = []

    def count(self, what: str, detail: str = "") -> None:
        self.statuses[what] = self.statuses.get(what, 0) + 1
        if detail and len(self.examples) < 3:
            self.examples.append(f"{what}: {detail}"[:200])

    async def write(self, t0: float, end: float) -> None:
        limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, limits=limits) as client:
            due = t0 + self.index * POST_PERIOD / WRITERS
            for i in range(int((end - t0) / POST_PERIOD) + 2):
                if due >= end:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await self.post(client, i, end + ACK_GRACE)
                due = max(due + POST_PERIOD, time.monotonic())

    async def post(self, client: httpx.AsyncClient, i: int, give_up_at: float) -> None:
        key = f"sv-{self.run}-w{self.index}-{i}"
        form = {
            "body": f"Survival {key}: a steady reply while processes die and come back.",
            "key": key,
            "csrf": self.csrf,
        }
        for attempt in range(MAX_ATTEMPTS):
            if time.monotonic() > give_up_at:
                break
            url = self.urls[(self.index + i + attempt) % len(self.urls)]
            self.attempts += 1
            self.retries += attempt > 0
            try:
                r = await client.post(
                    f"{url}/t/{self.thread}/posts",
                    data=form,
                    headers={"Cookie": self.cookie, "Origin": url},
                )
            except httpx.HTTPError as exc:
                self.count(type(exc).__name__)
            else:
                location = r.headers.get("location", "")
                if r.status_code == 303 and location.startswith("/p/"):
                    self.acked[key] = int(location[3:].split("#")[0].split("?")[0])
                    self.count("303")
                    return
                self.count(str(r.status_code), f"{key} {location} {r.text[:120]!r}")
            await asyncio.sleep(RETRY_PAUSE)
        self.given_up.append(key)


class Follower:
    """A websocket client following one thread, as the browser script does: on a lost socket it
    reconnects (the other process first) and subscribes after the last seq it holds."""

    def __init__(self, member: dict[str, Any], urls: list[str], home: int) -> None:
        self.cookie: str = member["cookie"]
        self.topic = f"thread:{member['thread']}"
        self.urls = urls
        self.home = home
        self.start: int | None = None  # the seq the first subscription started after
        self.seqs: list[int] = []
        self.times: list[float] = []  # time.monotonic() each seq arrived
        self.connects = 0
        self.failed_connects = 0  # connects that did not open
        self.dropped = 0  # open sockets lost (closed or cut by the server)
        self.broken = ""  # a reset/error/revoked answer: the follower gave up
        self.stop = asyncio.Event()
        self.subscribed = asyncio.Event()

    async def follow(self, deadline: float) -> None:
        import websockets

        turn = 0
        for _ in range(MAX_CONNECTS):
            if self.stop.is_set() or self.broken or time.monotonic() > deadline:
                return
            url = self.urls[(self.home + turn) % len(self.urls)]
            turn += 1
            opened = False
            try:
                async with websockets.connect(
                    url.replace("http", "ws", 1) + "/ws",
                    origin=url,  # type: ignore[arg-type]
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=3,
                    close_timeout=1,
                ) as ws:
                    opened = True
                    self.connects += 1
                    after = self.seqs[-1] if self.seqs else self.start
                    await ws.send(
                        json.dumps({"op": "subscribe", "topic": self.topic, "after": after})
                    )
                    while not self.stop.is_set() and time.monotonic() < deadline:
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.5)
                        except TimeoutError:
                            continue
                        reply = self.frame(json.loads(raw))
                        if self.broken:
                            return
                        if reply is not None:
                            await ws.send(reply)
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException):
                if opened:
                    self.dropped += 1
                else:
                    self.failed_connects += 1
            await asyncio.sleep(RETRY_PAUSE)

    def frame(self, frame: dict[str, Any]) -> str | None:
        """Take one frame; returns the answer to send, if any."""
        op = frame.get("op")
        if op == "ping":
            return '{"op": "pong"}'
        elif op == "subscribed":
            if self.start is None:
                self.start = int(frame["seq"])
            self.subscribed.set()
        elif op in ("reset", "error", "revoked"):
            self.broken = json.dumps(frame)[:200]
        elif op is None and frame.get("topic") == self.topic and "seq" in frame:
            self.seqs.append(int(frame["seq"]))
            self.times.append(time.monotonic())
        return None

    def reached(self, target: int) -> float | None:
        """When this follower first held seq `target` (None: never)."""
        if self.start is not None and target <= self.start:
            return 0.0
        for seq, at in zip(self.seqs, self.times, strict=True):
            if seq >= target:
                return at
        return None

    def check(self, newest: int) -> dict[str, int]:
        start = self.start or 0
        expected = list(range(start + 1, newest + 1))
        got = set(self.seqs)
        return {
            "missing": len(set(expected) - got),
            "duplicates": len(self.seqs) - len(got),
            "out_of_order": sum(
                1 for a, b in zip(self.seqs, self.seqs[1:], strict=False) if b <= a
            ),
            "extra": len(got - set(expected)),
        }


# ---- the database ----------------------------------------------------------------------------


class Db:
    def __init__(self, url: str) -> None:
        self.url = url.replace("postgres://", "postgresql://", 1)
        self.conn: Any = None

    async def __aenter__(self) -> Db:
        import asyncpg

        self.conn = await asyncpg.connect(self.url, timeout=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.conn.close()

    async def seqs(self, threads: list[int]) -> dict[str, int]:
        rows = await self.conn.fetch(
            "SELECT id, event_seq FROM thread WHERE id = ANY($1::int[])", threads
        )
        return {f"thread:{r['id']}": int(r["event_seq"]) for r in rows}

    async def posts(self, run: str) -> dict[str, list[int]]:
        rows = await self.conn.fetch(
            "SELECT client_key, id FROM post WHERE client_key LIKE $1", f"sv-{run}-%"
        )
        out: dict[str, list[int]] = {}
        for r in rows:
            out.setdefault(r["client_key"], []).append(int(r["id"]))
        return out

    async def events(self, topics: list[str]) -> list[Any]:
        return list(
            await self.conn.fetch(
                "SELECT topic, seq, kind, payload::text AS payload FROM event "
                "WHERE topic = ANY($1::text[]) ORDER BY topic, seq",
                topics,
            )
        )


# ---- faults ----------------------------------------------------------------------------------


@dataclass
class Fault:
    what: str
    at: float  # time.monotonic() the fault began
    back: float = 0.0  # time.monotonic() the service listened again
    targets: dict[str, int] = field(default_factory=dict)  # event_seq per topic when back
    catch_up: float | None = None  # seconds from `back` until every follower held `targets`


async def start(service: Server | RedisProcess) -> None:
    await asyncio.to_thread(service.start)


async def kill(service: Server | RedisProcess) -> None:
    proc = service.proc
    if proc is not None and proc.poll() is None:
        proc.kill()
        await asyncio.to_thread(proc.wait, 10)


async def schedule(
    t0: float,
    shape: Shape,
    apps: list[Server],
    redis: RedisProcess,
    db: Db,
    threads: list[int],
    note: Callable[[str], None],
) -> list[Fault]:
    faults: list[Fault] = []
    span = shape.duration / shape.cycles

    async def at(moment: float) -> None:
        await asyncio.sleep(max(0.0, moment - time.monotonic()))

    async def back(fault: Fault) -> None:
        fault.back = time.monotonic()
        fault.targets = await db.seqs(threads)
        faults.append(fault)
        note(
            f"survival: {fault.what} at {fault.at - t0:.1f}s, back after "
            f"{fault.back - fault.at:.1f}s"
        )

    for c in range(shape.cycles):
        killed, graceful = apps[(1 + c) % 2], apps[c % 2]
        base = t0 + c * span
        await at(base + 0.15 * span)
        fault = Fault(f"kill -9 app{apps.index(killed)}", time.monotonic())
        await kill(killed)
        await asyncio.sleep(APP_DOWN)
        await start(killed)
        await back(fault)
        await at(base + 0.42 * span)
        fault = Fault("kill -9 redis", time.monotonic())
        await kill(redis)
        await asyncio.sleep(REDIS_DOWN)
        await start(redis)
        await back(fault)
        await at(base + 0.68 * span)
        fault = Fault(f"SIGTERM app{apps.index(graceful)}", time.monotonic())
        await asyncio.to_thread(graceful.stop)
        await start(graceful)
        await back(fault)
    return faults


# ---- the run ---------------------------------------------------------------------------------


def app_server(ds: Dataset, redis: RedisProcess, workdir: Path, n: int) -> Server:
    import sys

    port = free_port()
    env = {
        **ds.env(),
        "FORUM_REDIS_URL": redis.url,
        "FORUM_BASE_URL": f"http://127.0.0.1:{port}",
        # Writers here post faster than any person; the posting limits have tests of their own.
        "FORUM_POST_RATE": POST_RATE,
        "FORUM_NEW_MEMBER_POST_RATE": POST_RATE,
    }
    argv = [sys.executable, "-m", "forum", "serve", "--port", str(port)]
    return Server(f"forum survival app{n}", argv, env, port, workdir / f"survival-app{n}.log")


async def drive(
    ds: Dataset, workdir: Path, shape: Shape, note: Callable[[str], None]
) -> dict[str, Any]:
    import bench_soak

    started = time.monotonic()
    run = uuid.uuid4().hex[:6]
    members = await bench_soak.prepare(
        ds, bench_soak.Shape(WRITERS + FOLLOWERS, THREADS, shape.duration, 1, 1)
    )
    threads = sorted({m["thread"] for m in members})
    topics = [f"thread:{t}" for t in threads]
    (workdir / "survival-redis").mkdir(exist_ok=True)
    redis = RedisProcess(workdir / "survival-redis")
    apps = [app_server(ds, redis, workdir, n) for n in range(2)]
    urls = [a.url for a in apps]
    writers = [Writer(i, members[i], urls, run) for i in range(WRITERS)]
    followers = [
        Follower(m, urls, k % 2) for k, m in enumerate(members[WRITERS : WRITERS + FOLLOWERS])
    ]
    tasks: list[asyncio.Task[None]] = []
    try:
        await start(redis)
        for app in apps:
            await start(app)
        async with Db(ds.database_url) as db:
            lifetime = time.monotonic() + shape.duration + ACK_GRACE + SETTLE + 120
            tasks = [asyncio.create_task(f.follow(lifetime)) for f in followers]
            await asyncio.wait_for(asyncio.gather(*(f.subscribed.wait() for f in followers)), 30)
            note(
                f"survival: {len(followers)} followers subscribed; {WRITERS} writers for "
                f"{shape.duration:.0f}s"
            )
            t0 = time.monotonic() + 0.5
            end = t0 + shape.duration
            writing = [asyncio.create_task(w.write(t0, end)) for w in writers]
            faults = await schedule(t0, shape, apps, redis, db, threads, note)
            await asyncio.wait_for(asyncio.gather(*writing), shape.duration + ACK_GRACE + 60)
            wrote = time.monotonic()
            final = await db.seqs(threads)
            settle_deadline = time.monotonic() + SETTLE
            for _ in range(int(SETTLE / 0.2) + 1):
                behind = [
                    f for f in followers if not f.broken and f.reached(final[f.topic]) is None
                ]
                if not behind or time.monotonic() > settle_deadline:
                    break
                await asyncio.sleep(0.2)
            settled = time.monotonic() - wrote
            for f in followers:
                f.stop.set()
            await asyncio.wait(tasks, timeout=10)
            final = await db.seqs(threads)  # nothing posts any more: the same, or later
            stored = await db.posts(run)
            events = await db.events(topics)
    finally:
        for t in tasks:
            t.cancel()
        for app in apps:
            await asyncio.to_thread(app.stop)
        await asyncio.to_thread(redis.stop)
    logs = "".join(a.log_text() for a in apps)
    return verdict(
        shape,
        writers,
        followers,
        faults,
        final,
        stored,
        events,
        logs,
        {
            "took": time.monotonic() - started,
            "settled": settled,
            "t0": t0,
            "kind": ds.kind,
            "logs": [str(a.log) for a in apps],
        },
    )


def verdict(
    shape: Shape,
    writers: list[Writer],
    followers: list[Follower],
    faults: list[Fault],
    final: dict[str, int],
    stored: dict[str, list[int]],
    events: list[Any],
    logs: str,
    run: dict[str, Any],
) -> dict[str, Any]:
    acked: dict[str, int] = {}
    for w in writers:
        acked.update(w.acked)
    given_up = [k for w in writers for k in w.given_up]
    lost = [k for k in acked if k not in stored]
    doubled = [k for k, ids in stored.items() if len(ids) > 1]
    wrong_id = [k for k, pid in acked.items() if k in stored and pid not in stored[k]]
    # The Event table: 1..event_seq per thread, and a post.created for every acknowledged post.
    by_topic: dict[str, list[int]] = {}
    created: set[int] = set()
    for row in events:
        by_topic.setdefault(row["topic"], []).append(int(row["seq"]))
        if row["kind"] == "post.created":
            created.add(int(json.loads(row["payload"]).get("post_id", 0)))
    table_gaps = sum(
        int(by_topic.get(topic, []) != list(range(1, top + 1))) for topic, top in final.items()
    )
    no_event = [k for k, pid in acked.items() if pid not in created]
    # Followers: every seq after its first subscribe point up to event_seq, once, in order.
    checks = [f.check(final[f.topic]) for f in followers]

    def total(key: str) -> int:
        return sum(c[key] for c in checks)

    missing, disorder = (
        total("missing"),
        total("duplicates") + total("out_of_order") + total("extra"),
    )
    broken = [f.broken for f in followers if f.broken]
    never = [f for f in followers if f.start is None]
    for fault in faults:
        reach = [f.reached(fault.targets[f.topic]) for f in followers]
        if all(r is not None for r in reach):
            fault.catch_up = max(0.0, max(r for r in reach if r is not None) - fault.back)
    catch_ups = [f.catch_up for f in faults]
    worst = None if None in catch_ups else max((c for c in catch_ups if c is not None), default=0)
    reconnects = sum(max(0, f.connects - 1) for f in followers)
    retries = sum(w.retries for w in writers)
    statuses: dict[str, int] = {}
    for w in writers:
        for k, v in w.statuses.items():
            statuses[k] = statuses.get(k, 0) + v
    tracebacks = logs.count("Traceback")
    goals = {
        "stored_once": not lost and not doubled and not wrong_id,
        "all_acknowledged": not given_up,
        "events": table_gaps == 0 and not no_event,
        "followers": missing == 0 and disorder == 0 and not broken and not never,
    }
    lost_n = len(lost) + len(wrong_id)
    value = f"{len(acked)} acked: {lost_n} lost, {len(doubled)} doubled, {missing} missing"
    fault_text = "; ".join(
        f"{f.what} at {f.at - run['t0']:.0f}s (back after {f.back - f.at:.1f}s, catch-up "
        + (f"{f.catch_up:.2f}s)" if f.catch_up is not None else "never)")
        for f in faults
    )
    examples = [e for w in writers for e in w.examples][:3]
    how = (
        f"always PostgreSQL + a private redis-server ({run['kind']}), two `forum serve` "
        f"processes; {WRITERS} writers (one post every {POST_PERIOD:g}s each, client keys, "
        f"alternating processes, a key retried on the other process until acknowledged; "
        f"post rate {POST_RATE}) over {THREADS} threads for {shape.duration:.0f}s, "
        f"{len(followers)} websocket followers split over both processes reconnecting with "
        f"after = last seq; faults: {fault_text}. {len(acked)} posts acknowledged "
        f"({sum(w.attempts for w in writers)} attempts, {retries} retries, statuses "
        f"{dict(sorted(statuses.items()))}), {len(given_up)} never acknowledged; "
        f"stored keys {len(stored)}, lost {len(lost)}, doubled {len(doubled)}, wrong id "
        f"{len(wrong_id)}; acked without event {len(no_event)}, event-table gaps {table_gaps}; "
        f"followers: {sum(f.dropped for f in followers)} sockets lost, {reconnects} "
        f"reconnects ({sum(f.failed_connects for f in followers)} failed connects), "
        f"missing {missing}, duplicate/out of order/extra {disorder}, "
        f"reset/error {len(broken)}, never subscribed {len(never)}; max catch-up after a fault "
        + (f"{worst:.2f}s" if worst is not None else "never")
        + f"; all caught up {run['settled']:.1f}s after the last post; server tracebacks "
        f"{tracebacks}; took {run['took']:.0f}s. Goals: "
        + ", ".join(f"{k} {'pass' if ok else 'FAIL'}" for k, ok in goals.items())
        + (f". Examples: {examples}" if examples and not all(goals.values()) else "")
        + (f". Broken: {broken[:2]}" if broken else "")
    )
    return {
        "ok": all(goals.values()),
        "value": value,
        "how": how,
        "data": {
            "acked": len(acked),
            "attempts": sum(w.attempts for w in writers),
            "retries": retries,
            "statuses": statuses,
            "given_up": given_up[:20],
            "lost": lost[:20],
            "doubled": doubled[:20],
            "wrong_id": wrong_id[:20],
            "no_event": no_event[:20],
            "table_gaps": table_gaps,
            "missing": missing,
            "disorder": disorder,
            "broken": broken[:5],
            "reconnects": reconnects,
            "faults": [
                {
                    "what": f.what,
                    "down_s": f.back - f.at,
                    "catch_up_s": f.catch_up,
                    "targets": f.targets,
                }
                for f in faults
            ],
            "max_catch_up_s": worst,
            "final_seqs": final,
            "followers": [
                {"topic": f.topic, "start": f.start, "n": len(f.seqs), "connects": f.connects, **c}
                for f, c in zip(followers, checks, strict=True)
            ],
            "tracebacks": tracebacks,
            "first_traceback": logs[logs.find("Traceback") :][:3000] if tracebacks else "",
            "examples": examples,
            "catch_up_p50_s": percentile([c for c in catch_ups if c is not None], 50),
            "goals": goals,
            **run,
        },
    }
