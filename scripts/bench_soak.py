"""The soak for scripts/bench: many simulated members at once, each with a session, a websocket
following one thread, reading that thread's page and posting to it once a minute.

The parent side (used by bench.py's `soak` measure):

    prepare(dataset, shape)          members, their sessions (written straight to the database,
                                     so no argon2 sign-in per member) and the threads
    drive(dataset, server, ...)      runs the load in `shape.procs` separate processes, then
                                     checks every socket's sequence numbers against the Event
                                     table and returns the figures and the verdict

The load process (`python scripts/bench_soak.py SPEC_FILE`, a JSON file) opens one socket per
member, subscribes it to its thread, prints {"opened", "failed"} as a JSON line, then answers
commands read from stdin, one JSON line each:

    go T0                 ->  runs the schedule from time.monotonic() == T0 (the same clock in
                              every process on Linux) for spec["duration"] seconds, waits for
                              the answers still out, and prints the figures as one JSON line
    verify TARGETS WAIT   ->  TARGETS is {topic: event_seq}; waits up to WAIT seconds for every
                              socket to reach its topic's seq, then prints what each socket
                              missed, got twice or got out of order
    quit                  ->  closes every socket and exits

Open loop: every page read and every post has a fixed due time; latency counts from it, so a
slow server shows as latency rather than as fewer requests. Bounded: every request has a
timeout, reconnects are counted and capped, and the process exits after spec["lifetime"]
seconds whatever happens. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import struct
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_data import CpuMeter, _bulk_thread
from bench_load import percentile, postgres_pids, read_response
from bench_ws import WsClient, handshake

HOST = "127.0.0.1"
SCRIPT = str(Path(__file__).resolve())
POST_PERIOD = 60.0  # seconds between two posts of one member
READ_PERIOD = 30.0  # seconds between two page reads of one member
REQUEST_TIMEOUT = 30.0
IDLE_REOPEN = 3.0  # uvicorn closes keep-alive connections idle for 5 s: reopen before that
MAX_RECONNECTS = 3  # per member socket
PAGE_GOAL_MS = 250.0


@dataclass(frozen=True)
class Shape:
    members: int
    threads: int
    duration: float  # seconds of load
    procs: int  # load processes
    pool: int  # HTTP keep-alive connections per load process


SHORT = Shape(members=200, threads=20, duration=20.0, procs=1, pool=32)
FULL = Shape(members=2000, threads=20, duration=120.0, procs=2, pool=64)


# ---- parent: data ----------------------------------------------------------------------------


async def prepare(dataset: Any, shape: Shape) -> list[dict[str, Any]]:
    """Members spread over `shape.threads` new threads, each with a live session whose cookie
    we hold: created with tortoise directly, as `forum create-member` and a sign-in would."""
    from tortoise import Tortoise

    from forum.db import tortoise_config
    from forum.models import Channel, Member, Session
    from forum.security import new_token, token_digest

    run = uuid.uuid4().hex[:6]
    await Tortoise.init(config=tortoise_config(dataset.database_url))
    try:
        template = await Member.get(handle_key="bench")
        writer = await Member.get(handle_key="writer")
        channel = await Channel.get(slug="bench")
        threads = [
            await _bulk_thread(channel.id, writer.id, 20, f"soak {run} thread {t}")
            for t in range(shape.threads)
        ]
        handles = [f"soak{run}m{i:04d}" for i in range(shape.members)]
        await Member.bulk_create(
            [
                Member(
                    handle=h,
                    handle_key=h,
                    display_name=f"Soak {i}",
                    password_hash=template.password_hash,
                    role="member",
                    status="active",
                )
                for i, h in enumerate(handles)
            ],
            batch_size=500,
        )
        ids = dict(
            await Member.filter(handle_key__in=handles).values_list("handle_key", "id")  # type: ignore[arg-type]
        )
        moment = datetime.now(UTC)
        members = []
        sessions = []
        for i, h in enumerate(handles):
            token, csrf = new_token(), new_token()
            sessions.append(
                Session(
                    token_hash=token_digest(token),
                    member_id=ids[h],
                    csrf_token=csrf,
                    created_at=moment,
                    last_seen_at=moment,
                    user_agent="forum-bench soak",
                )
            )
            members.append(
                {
                    "id": ids[h],
                    "cookie": f"forum_session={token}",
                    "csrf": csrf,
                    "thread": threads[i % len(threads)],
                }
            )
        await Session.bulk_create(sessions, batch_size=500)
    finally:
        await Tortoise.close_connections()
    return members


async def load_events(dataset: Any, threads: list[int]) -> tuple[dict[int, int], list[tuple]]:
    """thread.event_seq of each thread, and (topic, seq, kind, payload) of their events."""
    topics = [f"thread:{t}" for t in threads]
    if dataset.kind == "sqlite":

        def read() -> tuple[dict[int, int], list[tuple]]:
            path = dataset.database_url.split("://", 1)[1]
            with sqlite3.connect(path, timeout=30) as db:
                marks = ",".join("?" * len(threads))
                seqs = dict(
                    db.execute(f"SELECT id, event_seq FROM thread WHERE id IN ({marks})", threads)
                )
                rows = db.execute(
                    f"SELECT topic, seq, kind, payload FROM event WHERE topic IN ({marks})",
                    topics,
                ).fetchall()
            return seqs, rows

        return await asyncio.to_thread(read)
    import asyncpg

    conn = await asyncpg.connect(dataset.database_url.replace("postgres://", "postgresql://", 1))
    try:
        seq_rows = await conn.fetch(
            "SELECT id, event_seq FROM thread WHERE id = ANY($1::int[])", threads
        )
        rows = await conn.fetch(
            "SELECT topic, seq, kind, payload::text FROM event WHERE topic = ANY($1::text[])",
            topics,
        )
    finally:
        await conn.close()
    return {r[0]: r[1] for r in seq_rows}, [tuple(r) for r in rows]


# ---- parent: driving the load processes ------------------------------------------------------


class LoadProcess:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, workdir: Path) -> None:
        # The spec (every member's cookie) is too long for one argument: it goes in a file.
        path = workdir / f"soak-spec-{uuid.uuid4().hex[:8]}.json"
        await asyncio.to_thread(path.write_text, json.dumps(self.spec))
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            SCRIPT,
            str(path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 26,
        )

    async def line(self, limit: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), limit)
        if not raw:
            raise RuntimeError(f"soak load process exited ({await self.proc.wait()})")
        answer: dict[str, Any] = json.loads(raw)
        return answer

    async def send(self, command: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()

    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            await self.send("quit")
            await asyncio.wait_for(self.proc.wait(), 20)
        except (Exception, asyncio.CancelledError):
            self.proc.kill()
            await self.proc.wait()


def _ticks(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            total += int(parts[11]) + int(parts[12])
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


def _busy() -> tuple[int, int]:
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


async def drive(
    dataset: Any,
    server: Any,
    members: list[dict[str, Any]],
    shape: Shape,
    workdir: Path,
    note: Callable[[str], None],
) -> dict[str, Any]:
    started = time.monotonic()
    run = uuid.uuid4().hex[:6]
    procs = [
        LoadProcess(
            {
                "port": server.port,
                "origin": server.url,
                "members": members[k :: shape.procs],
                "duration": shape.duration,
                "pool": shape.pool,
                "parallel": 32,
                "run": f"{run}{k}",
                "seed": k,
                "lifetime": shape.duration + 420,
            }
        )
        for k in range(shape.procs)
    ]
    log_before = len(server.log_text())
    try:
        for p in procs:
            await p.start(workdir)
        readies = [await p.line(240) for p in procs]
        opened = sum(r["opened"] for r in readies)
        note(f"soak: {opened} sockets open in {time.monotonic() - started:.0f}s; load starts")
        meter = CpuMeter(server.pids())
        pg = postgres_pids() if dataset.kind != "sqlite" else []
        client_pids = [p.pid() for p in procs]
        t0 = time.monotonic() + 1.0
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        meter.start()
        pg0, cl0, busy0 = _ticks(pg), _ticks(client_pids), _busy()
        for p in procs:
            await p.send(f"go {t0}")
        dones = [await p.line(shape.duration + 120) for p in procs]
        server_cpu = meter.stop()
        pg1, cl1, busy1 = _ticks(pg), _ticks(client_pids), _busy()
        elapsed = time.monotonic() - t0
        threads = sorted({m["thread"] for m in members})
        seqs, rows = await load_events(dataset, threads)
        targets = {f"thread:{t}": int(seqs[t]) for t in threads}
        for p in procs:
            await p.send(f"verify {json.dumps(targets)} 15")
        checks = [await p.line(60) for p in procs]
    finally:
        for p in procs:
            await p.stop()
    log = server.log_text()[log_before:]
    return verdict(
        shape,
        readies,
        dones,
        checks,
        seqs,
        rows,
        {
            "elapsed": elapsed,
            "server_cpu": server_cpu,
            "server_waited": meter.waited,
            "pg_cpu": pg1 - pg0,
            "client_cpu": cl1 - cl0,
            "machine_busy": (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
            "took": time.monotonic() - started,
            "kind": dataset.kind,
            # Exceptions that escaped the app (uvicorn logs each once) or a task or callback.
            "log_errors": sum(
                log.count(s)
                for s in (
                    "Exception in ASGI application",
                    "Task exception was never retrieved",
                    "Exception in callback",
                )
            ),
            "log_first": log[max(0, log.find("Traceback")) :][:3000] if "Traceback" in log else "",
        },
    )


def verdict(
    shape: Shape,
    readies: list[dict[str, Any]],
    dones: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    seqs: dict[int, int],
    rows: list[tuple],
    run: dict[str, Any],
) -> dict[str, Any]:
    pages = [x for d in dones for x in d["page_latencies"]]
    posts = [x for d in dones for x in d["post_latencies"]]
    # The event table: contiguous seqs 1..event_seq per thread, one post.created per acked post.
    by_topic: dict[str, list[int]] = {}
    event_posts: set[int] = set()
    for topic, seq, kind, payload in rows:
        by_topic.setdefault(topic, []).append(int(seq))
        if kind == "post.created":
            data = json.loads(payload) if isinstance(payload, str) else payload
            event_posts.add(int(data.get("post_id", 0)))
    table_gaps = 0
    for thread, top in seqs.items():
        have = sorted(by_topic.get(f"thread:{thread}", []))
        table_gaps += int(have != list(range(1, int(top) + 1)))
    acked: dict[int, float] = {}
    for d in dones:
        acked.update({int(k): v for k, v in d["acked"].items()})
    lost = [p for p in acked if p not in event_posts]
    # Delivery: from a post's due time to its frame on the last subscriber (every process).
    last_seen: dict[int, float] = {}
    for d in dones + checks:
        for k, v in d.get("received", {}).items():
            last_seen[int(k)] = max(v, last_seen.get(int(k), 0.0))
    delivery = [last_seen[p] - due for p, due in acked.items() if p in last_seen]

    def total(key: str, parts: list[dict[str, Any]]) -> int:
        return sum(int(p.get(key, 0)) for p in parts)

    http_errors = total("http_errors", dones)
    # Failed opens are in the load processes' ws_errors already.
    ws_errors = total("ws_errors", dones) + total("ws_errors", checks)
    errors = http_errors + ws_errors + run["log_errors"]
    missing = total("missing", checks)
    disorder = total("out_of_order", checks) + total("duplicates", checks) + total("extra", checks)
    sockets = total("opened", readies)
    page_p50, page_p99 = percentile(pages, 50) * 1000, percentile(pages, 99) * 1000
    post_p50, post_p99 = percentile(posts, 50) * 1000, percentile(posts, 99) * 1000
    goals = {
        "errors": errors == 0,
        "page_p99": bool(pages) and page_p99 < PAGE_GOAL_MS,
        "delivered": missing == 0 and disorder == 0 and not lost and table_gaps == 0,
    }
    value = f"{errors} err, p99 {page_p99:.0f} ms, {missing} missing"
    el = max(run["elapsed"], 1e-6)
    examples = [e for d in dones + checks for e in d.get("examples", [])][:5]
    how = (
        f"{shape.members} members ({sockets} sockets, {shape.threads} threads, {run['kind']}) "
        f"for {shape.duration:.0f}s, load from {shape.procs} separate process(es): each member "
        f"follows its thread on /ws, GETs its page every {READ_PERIOD:.0f}s and posts there "
        f"once every {POST_PERIOD:.0f}s (client key), open loop with latency from the scheduled "
        f"time; sessions made in the database. {len(pages)} pages p50 {page_p50:.0f} / p99 "
        f"{page_p99:.0f} ms (goal < {PAGE_GOAL_MS:.0f}); {len(posts)} posts p50 "
        f"{post_p50:.0f} / p99 {post_p99:.0f} ms; delivered to the last subscriber p50 "
        f"{percentile(delivery, 50) * 1000:.0f} / p99 {percentile(delivery, 99) * 1000:.0f} ms "
        f"({total('frames', dones)} frames). "
        f"Errors {errors} (http {http_errors}, ws {ws_errors}, server exceptions "
        f"{run['log_errors']}); "
        f"events missing {missing}, duplicate/out of order/extra {disorder}, acked posts "
        f"without an event {len(lost)}, event-table gaps {table_gaps}. Cores used: app "
        f"{run['server_cpu'] / el:.2f} (runnable but waiting {run['server_waited'] / el:.0%}), "
        f"load generator {run['client_cpu'] / el:.2f}, postgres {run['pg_cpu'] / el:.2f}; "
        f"machine busy {run['machine_busy']:.0%}; took {run['took']:.0f}s. Goals: "
        + ", ".join(f"{k} {'pass' if ok else 'FAIL'}" for k, ok in goals.items())
        + (f". First errors: {examples}" if examples else "")
    )
    return {
        "ok": all(goals.values()),
        "value": value,
        "how": how,
        "data": {
            "members": shape.members,
            "sockets": sockets,
            "posts": len(posts),
            "acked": len(acked),
            "pages": len(pages),
            "frames": total("frames", dones),
            "page_p50_ms": page_p50,
            "page_p99_ms": page_p99,
            "post_p50_ms": post_p50,
            "post_p99_ms": post_p99,
            "delivery_p99_ms": percentile(delivery, 99) * 1000,
            "errors": errors,
            "http_errors": http_errors,
            "ws_errors": ws_errors,
            "missing": missing,
            "disorder": disorder,
            "lost": len(lost),
            "table_gaps": table_gaps,
            "goals": goals,
            "duration": run["elapsed"],
            "statuses": [d["statuses"] for d in dones],
            "examples": examples,
            **run,
        },
    }


# ---- load process ----------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.page_latencies: list[float] = []
        self.post_latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.http_errors = 0
        self.ws_errors = 0
        self.examples: list[str] = []
        self.acked: dict[int, float] = {}  # post id -> due time
        self.received: dict[int, float] = {}  # post id -> last receipt on any socket here

    def error(self, kind: str, text: str) -> None:
        if kind == "http":
            self.http_errors += 1
        else:
            self.ws_errors += 1
        if len(self.examples) < 10:
            self.examples.append(f"{kind}: {text}"[:200])


class Member:
    __slots__ = ("cookie", "csrf", "id", "lost", "seqs", "sock", "start", "thread", "topic")

    def __init__(self, row: dict[str, Any]) -> None:
        self.id: int = row["id"]
        self.cookie: str = row["cookie"]
        self.csrf: str = row["csrf"]
        self.thread: int = row["thread"]
        self.topic = f"thread:{self.thread}"
        self.start: int | None = None  # the seq the first subscription started after
        self.seqs: list[int] = []
        self.sock: SoakSocket | None = None
        self.lost = asyncio.Event()


class SoakSocket(WsClient):
    """bench_ws's lean client, keeping every sequence number of its member's topic."""

    def __init__(self, request: bytes, member: Member, stats: Stats, tally: Any) -> None:
        super().__init__(tally, request)
        self.member = member
        self.stats = stats
        self.subscribed = asyncio.get_running_loop().create_future()
        self.close_code = 0

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.member.sock is self:
            self.member.lost.set()

    def _frame(self, opcode: int, payload: bytes) -> None:
        if opcode == 0x9:
            self.send(payload, 0xA)
            return
        if opcode == 0x8:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            if self.transport is not None:
                self.transport.close()
            return
        if opcode not in (0x1, 0x0):
            return
        self.tally.frames += 1
        try:
            frame = json.loads(payload)
        except ValueError:
            self.stats.error("ws", f"bad frame {payload[:80]!r}")
            return
        op = frame.get("op")
        fut = self.subscribed
        if op is not None:
            if op == "ping":
                self.send(b'{"op": "pong"}')
            elif op == "subscribed":
                if fut is not None and not fut.done():
                    fut.set_result(frame)
            elif op in ("error", "reset", "revoked"):
                text = json.dumps(frame)[:160]
                if fut is not None and not fut.done():
                    fut.set_exception(ConnectionError(text))
                else:
                    self.stats.error("ws", text)
            return
        if frame.get("topic") != self.member.topic:
            self.stats.error("ws", f"frame of another topic {frame.get('topic')}")
            return
        self.member.seqs.append(int(frame.get("seq", -1)))
        if frame.get("kind") == "post.created":
            post_id = int((frame.get("data") or {}).get("post_id", 0))
            self.stats.received[post_id] = time.monotonic()


class Tally:  # what bench_ws.WsClient counts
    def __init__(self) -> None:
        self.open = 0
        self.closed = 0
        self.frames = 0


class Load:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.port: int = spec["port"]
        self.origin: str = spec["origin"]
        self.members = [Member(row) for row in spec["members"]]
        self.stats = Stats()
        self.tally = Tally()
        self.stopping = False
        self.pool: asyncio.LifoQueue[Conn] = asyncio.LifoQueue()
        for _ in range(spec["pool"]):
            self.pool.put_nowait(Conn())

    # ---- sockets ------------------------------------------------------------------------------

    async def connect(self, m: Member, after: int | None) -> SoakSocket:
        loop = asyncio.get_running_loop()
        request = handshake(self.port, m.cookie, self.origin)
        _, sock = await asyncio.wait_for(
            loop.create_connection(
                lambda: SoakSocket(request, m, self.stats, self.tally), HOST, self.port
            ),
            30,
        )
        m.sock = sock
        m.lost.clear()
        await asyncio.wait_for(sock.handshake, 30)
        sock.send(json.dumps({"op": "subscribe", "topic": m.topic, "after": after}).encode())
        answer = await asyncio.wait_for(sock.subscribed, 30)
        if m.start is None:
            m.start = int(answer["seq"])
        return sock

    async def follow(self, m: Member, gate: asyncio.Semaphore, first: asyncio.Future[bool]) -> None:
        """One member's socket: opened once, reopened from its last seq if it is lost."""
        for attempt in range(MAX_RECONNECTS + 1):
            if self.stopping:
                break
            try:
                if attempt == 0:
                    async with gate:
                        await self.connect(m, None)
                else:
                    await self.connect(m, m.seqs[-1] if m.seqs else m.start)
            except Exception as exc:
                self.stats.error("ws", f"open: {type(exc).__name__}: {exc}")
                if not first.done():
                    first.set_result(False)
                    return
                await asyncio.sleep(0.5)
                continue
            if not first.done():
                first.set_result(True)
            await m.lost.wait()
            if self.stopping:
                break
            code = m.sock.close_code if m.sock is not None else 0
            self.stats.error("ws", f"socket closed (code {code}); reconnecting")
            await asyncio.sleep(0.5)

    # ---- HTTP ---------------------------------------------------------------------------------

    async def request(self, data: bytes) -> tuple[int, bytes, bytes]:
        conn = await self.pool.get()
        try:
            return await conn.request(self.port, data)
        finally:
            self.pool.put_nowait(conn)

    async def read(self, m: Member, due: float) -> None:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        req = (
            f"GET /t/{m.thread} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            f"User-Agent: forum-bench\r\nCookie: {m.cookie}\r\n\r\n"
        ).encode()
        try:
            status, _, body = await self.request(req)
        except Exception as exc:
            self.stats.error("http", f"GET: {type(exc).__name__}: {exc}")
            return
        self.stats.page_latencies.append(time.monotonic() - due)
        self.count(f"GET {status}")
        if status != 200 or b'action="/logout"' not in body:
            self.stats.error(
                "http", f"GET /t/{m.thread}: {status}, signed in: {b'/logout' in body}"
            )

    async def post(self, m: Member, k: int, due: float) -> None:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        run = self.spec["run"]
        form = urlencode(
            {
                "body": f"Soak {run} member {m.id} post {k}: a reply written while others read.",
                "key": f"soak-{run}-{m.id}-{k}",
                "csrf": m.csrf,
            }
        ).encode()
        req = (
            f"POST /t/{m.thread}/posts HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            f"User-Agent: forum-bench\r\nCookie: {m.cookie}\r\nOrigin: {self.origin}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(form)}\r\n\r\n"
        ).encode() + form
        try:
            status, head, body = await self.request(req)
        except Exception as exc:
            self.stats.error("http", f"POST: {type(exc).__name__}: {exc}")
            return
        self.stats.post_latencies.append(time.monotonic() - due)
        self.count(f"POST {status}")
        at = head.find(b"\r\nlocation: /p/")
        if status != 303 or at < 0:
            self.stats.error("http", f"POST /t/{m.thread}/posts: {status} {body[:120]!r}")
            return
        end = head.find(b"\r\n", at + 2)
        self.stats.acked[int(head[at + 15 : end if end > 0 else None])] = due

    def count(self, key: str) -> None:
        self.stats.statuses[key] = self.stats.statuses.get(key, 0) + 1

    async def schedule(self, t0: float) -> None:
        """Every member's reads and posts at fixed times from t0, each started when due."""
        rng = random.Random(self.spec["seed"])
        duration = self.spec["duration"]
        jobs: list[tuple[float, int, Member, int]] = []
        for m in self.members:
            first_read = rng.uniform(0, READ_PERIOD)
            n_reads = int(max(0.0, duration - first_read) // READ_PERIOD) + 1
            jobs += [(t0 + first_read + j * READ_PERIOD, 0, m, j) for j in range(n_reads)]
            first_post = rng.uniform(0, POST_PERIOD)
            if first_post < duration:
                n_posts = int((duration - first_post) // POST_PERIOD) + 1
                jobs += [(t0 + first_post + j * POST_PERIOD, 1, m, j) for j in range(n_posts)]
        jobs.sort(key=lambda job: job[0])
        tasks: list[asyncio.Task[None]] = []
        for due, kind, m, j in jobs:
            if due >= t0 + duration:
                continue
            await asyncio.sleep(max(0.0, due - 0.05 - time.monotonic()))
            tasks.append(asyncio.create_task(self.post(m, j, due) if kind else self.read(m, due)))
        _, pending = await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT + 30) if tasks else ((), ())
        for t in pending:
            t.cancel()
            self.stats.error("http", "request still out at the end")

    # ---- verification -------------------------------------------------------------------------

    async def verify(self, targets: dict[str, int], wait: float) -> dict[str, Any]:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if all(
                (m.seqs[-1] if m.seqs else m.start or 0) >= targets[m.topic]
                for m in self.members
                if m.start is not None
            ):
                break
            await asyncio.sleep(0.2)
        missing = duplicates = out_of_order = extra = 0
        examples: list[str] = []
        for m in self.members:
            if m.start is None:
                continue
            expected = set(range(m.start + 1, targets[m.topic] + 1))
            got = set(m.seqs)
            lacking = expected - got
            missing += len(lacking)
            duplicates += len(m.seqs) - len(got)
            extra += len(got - expected)
            out_of_order += sum(1 for a, b in zip(m.seqs, m.seqs[1:], strict=False) if b != a + 1)
            if (lacking or len(m.seqs) != len(got)) and len(examples) < 5:
                examples.append(
                    f"member {m.id} {m.topic} from {m.start}: lacks {sorted(lacking)[:5]}, "
                    f"got {m.seqs[:3]}..{m.seqs[-3:]}"
                )
        return {
            "missing": missing,
            "duplicates": duplicates,
            "out_of_order": out_of_order,
            "extra": extra,
            "ws_errors": self.stats.ws_errors,
            "received": self.stats.received,
            "examples": examples,
        }


class Conn:
    """One keep-alive HTTP/1.1 connection of the pool."""

    def __init__(self) -> None:
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def request(self, port: int, data: bytes) -> tuple[int, bytes, bytes]:
        if (
            self.writer is None
            or self.reader is None
            or self.writer.is_closing()
            or self.reader.at_eof()
            or time.monotonic() - self.used > IDLE_REOPEN
        ):
            self.close()
            self.reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection(HOST, port, limit=1 << 22), REQUEST_TIMEOUT
            )
        assert self.reader is not None and self.writer is not None
        try:
            self.writer.write(data)
            status, head, body = await asyncio.wait_for(read_response(self.reader), REQUEST_TIMEOUT)
        except BaseException:
            self.close()
            raise
        self.used = time.monotonic()
        if b"\r\nconnection: close" in head:
            self.close()
        return status, head, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _main(spec: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    load = Load(spec)
    gate = asyncio.Semaphore(spec.get("parallel", 32))
    firsts = [loop.create_future() for _ in load.members]
    followers = [
        asyncio.create_task(load.follow(m, gate, f))
        for m, f in zip(load.members, firsts, strict=True)
    ]
    results = await asyncio.gather(*firsts)
    opened = sum(1 for r in results if r)
    print(
        json.dumps(
            {
                "opened": opened,
                "failed": len(results) - opened,
                "examples": load.stats.examples[:3],
            }
        ),
        flush=True,
    )
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    for _ in range(100):
        line = (await reader.readline()).decode().split(" ", 1)
        command = line[0].strip()
        if not command or command == "quit":
            break
        if command == "go":
            cpu0 = time.process_time()
            await load.schedule(float(line[1]))
            s = load.stats
            answer: dict[str, Any] = {
                "page_latencies": s.page_latencies,
                "post_latencies": s.post_latencies,
                "statuses": s.statuses,
                "http_errors": s.http_errors,
                "ws_errors": s.ws_errors,
                "acked": s.acked,
                "received": s.received,
                "examples": s.examples,
                "client_cpu": time.process_time() - cpu0,
                "frames": load.tally.frames,
            }
            s.ws_errors = 0  # counted again (from here on) by verify
        elif command == "verify":
            targets_text, wait = line[1].rsplit(" ", 1)
            answer = await load.verify(json.loads(targets_text), float(wait))
        else:
            answer = {"error": f"unknown command {command}"}
        print(json.dumps(answer), flush=True)
    load.stopping = True
    for m in load.members:
        if m.sock is not None:
            m.sock.close()
        m.lost.set()
    await asyncio.wait(followers, timeout=5)
    for c in list(load.pool._queue):  # type: ignore[attr-defined]
        c.close()


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run

    async def bounded() -> None:
        await asyncio.wait_for(_main(spec), spec["lifetime"])

    runner(bounded())


if __name__ == "__main__":
    main()
