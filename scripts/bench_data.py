"""Data, services and servers for scripts/bench: a temporary database (SQLite file or PostgreSQL
database) filled through the `forum` CLI plus bulk-inserted posts, a private redis-server, app
processes on 127.0.0.1, CPU readings from /proc, and signing in over HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-1"
PG_ADMIN = os.environ.get("FORUM_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
CSRF_RE = re.compile(r'name="csrf" value="([^"]*)"')
BODY = (
    "Post {i}. We should decide how the branch meetings rotate their chairs, and who keeps "
    "the minutes when the usual note-taker is away. I think a simple rota posted a month "
    "ahead works better than asking for volunteers on the night, and it spreads the work."
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


# ---- CPU time from /proc -------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry))
    return out


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (uvicorn --workers spawns worker processes)."""
    pids, todo = [], [pid]
    for _ in range(1000):
        if not todo:
            break
        p = todo.pop()
        pids.append(p)
        todo.extend(_children(p))
    return pids


def cpu_ticks_seconds(pid: int) -> float:
    """utime+stime of the whole process (all threads, including exited ones), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields_ = f.read().rsplit(")", 1)[1].split()
    return (int(fields_[11]) + int(fields_[12])) / CLK_TCK


def cpu_sched_seconds(pid: int) -> tuple[float, frozenset[int]]:
    """On-CPU time of the process's live threads from schedstat (ns precision), and their ids.
    aiosqlite runs each connection's queries in its own thread, so every thread counts."""
    total = 0
    tids = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
            tids.append(int(tid))
        except OSError:
            continue
    return total / 1e9, frozenset(tids)


def runqueue_wait(pid: int) -> float:
    """Seconds the process's main thread (the event loop) waited, runnable, for a CPU."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class CpuMeter:
    """CPU seconds a set of processes spent between start() and stop(): schedstat when the
    same threads lived throughout, else utime+stime ticks."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids

    waited = 0.0  # seconds the main threads spent runnable but waiting for a CPU

    def start(self) -> None:
        self.sched0 = [cpu_sched_seconds(p) for p in self.pids]
        self.ticks0 = [cpu_ticks_seconds(p) for p in self.pids]
        self.wait0 = sum(runqueue_wait(p) for p in self.pids)

    def stop(self) -> float:
        sched1 = [cpu_sched_seconds(p) for p in self.pids]
        ticks1 = [cpu_ticks_seconds(p) for p in self.pids]
        self.waited = sum(runqueue_wait(p) for p in self.pids) - self.wait0
        total = 0.0
        for (s0, tids0), (s1, tids1), k0, k1 in zip(
            self.sched0, sched1, self.ticks0, ticks1, strict=True
        ):
            total += s1 - s0 if tids0 == tids1 else k1 - k0
        return total


# ---- services ------------------------------------------------------------------------------


class RedisProcess:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not on PATH")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, 15, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


async def create_pg_database() -> str:
    import asyncpg

    name = f"forum_bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN.replace("postgres://", "postgresql://", 1), timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"


async def drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN.replace("postgres://", "postgresql://", 1), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


# ---- data ----------------------------------------------------------------------------------


@dataclass
class Dataset:
    database_url: str
    redis_url: str | None
    kind: str  # "sqlite" or "postgres+redis"
    threads: dict[str, int] = field(default_factory=dict)
    readers: list[str] = field(default_factory=list)
    posters: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "FORUM_DATABASE_URL": self.database_url,
            "FORUM_SECRET_KEY": "bench-secret",
            "FORUM_SIGNUP": "invite",
            # Every bench socket comes from 127.0.0.1 and a handful of members: no caps.
            "FORUM_WS_PER_MEMBER": "1000000",
            "FORUM_WS_PER_ADDRESS": "1000000",
        }
        env.pop("FORUM_REDIS_URL", None)
        if self.redis_url:
            env["FORUM_REDIS_URL"] = self.redis_url
        return env


def cli(dataset: Dataset, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "forum", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dataset.env(),
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"forum {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


async def _bulk_thread(channel_id: int, author_id: int, n: int, title: str) -> int:
    """A thread of n posts: roots each followed by up to 9 replies, with real parents and
    materialised paths (as tests/test_threads.py bulk_thread, plus parent ids and counters)."""
    from forum.models import Post, Thread
    from forum.models.ids import distinct_ids
    from forum.services.posting import path_segment

    thread = await Thread.create(channel_id=channel_id, title=title, author_id=author_id)
    n_roots = (n + 9) // 10
    # bulk_create cannot retry a taken random id, so the ids are drawn clear of the rows there.
    ids = distinct_ids(n, await Post.all().values_list("id", flat=True))
    # Post i (in writing order) has number i + 1 in the thread.
    roots = [
        Post(
            id=ids[r * 10],
            thread_id=thread.id,
            path=path_segment(r),
            depth=0,
            seq=r * 10 + 1,
            author_id=author_id,
            body=BODY.format(i=r * 10),
            html="<p>" + BODY.format(i=r * 10) + "</p>",
        )
        for r in range(n_roots)
    ]
    await Post.bulk_create(roots, batch_size=500)
    replies = []
    counts: dict[int, int] = {}
    for i in range(n):
        r, k = divmod(i, 10)
        if k == 0:
            continue
        root = roots[r]
        counts[root.id] = counts.get(root.id, 0) + 1
        replies.append(
            Post(
                id=ids[i],
                thread_id=thread.id,
                parent_id=root.id,
                path=root.path + path_segment(k - 1),
                depth=1,
                seq=i + 1,
                author_id=author_id,
                body=BODY.format(i=i),
                html="<p>" + BODY.format(i=i) + "</p>",
            )
        )
    await Post.bulk_create(replies, batch_size=500)
    for root_id, count in counts.items():
        await Post.filter(id=root_id).update(child_count=count)
    await Thread.filter(id=thread.id).update(
        post_count=n, root_children=n_roots, last_post_id=ids[n - 1], last_post_seq=n
    )
    return int(thread.id)


async def _populate(dataset: Dataset, n_readers: int, n_posters: int) -> None:
    from tortoise import Tortoise

    from forum.db import tortoise_config
    from forum.models import Channel, Member

    await Tortoise.init(config=tortoise_config(dataset.database_url))
    try:
        bench = await Member.get(handle_key="bench")
        dataset.readers = [f"reader{i:03d}" for i in range(n_readers)]
        dataset.posters = [f"poster{i:03d}" for i in range(n_posters)]
        await Member.bulk_create(
            [
                Member(
                    handle=h,
                    handle_key=h,
                    display_name=h.title(),
                    password_hash=bench.password_hash,
                    role="member",
                    status="active",
                )
                for h in ["benchq", "writer", *dataset.readers, *dataset.posters]
            ],
            batch_size=500,
        )
        writer = await Member.get(handle_key="writer")
        channel = await Channel.get(slug="bench")
        for name, n in (("t50", 50), ("t10k", 10_000), ("busy", 50), ("ws", 10)):
            dataset.threads[name] = await _bulk_thread(
                channel.id, writer.id, n, f"{name}: {n} posts"
            )
    finally:
        await Tortoise.close_connections()


async def build_dataset(
    workdir: Path, postgres: bool, redis_url: str | None, n_readers: int = 64, n_posters: int = 80
) -> Dataset:
    """Migrate with the CLI, create a member and a channel with the CLI, bulk-insert the rest."""
    if postgres:
        dataset = Dataset(await create_pg_database(), redis_url, "postgres+redis")
    else:
        dataset = Dataset(f"sqlite://{workdir / 'forum.sqlite3'}", None, "sqlite")
    await asyncio.to_thread(cli, dataset, "migrate")
    await asyncio.to_thread(
        cli,
        dataset,
        "create-member",
        "bench",
        "--role",
        "member",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    await asyncio.to_thread(cli, dataset, "create-channel", "Bench", "--slug", "bench")
    await _populate(dataset, n_readers, n_posters)
    return dataset


# ---- app processes ------------------------------------------------------------------------


class Server:
    """A server process on 127.0.0.1: `forum serve` or the bare app."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], port: int, log: Path
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def pids(self) -> list[int]:
        return process_tree(self.pid)

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
            )
        wait_for_port(self.port, 60, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


def forum_server(dataset: Dataset, workdir: Path, workers: int = 1) -> Server:
    port = free_port()
    env = {**dataset.env(), "FORUM_BASE_URL": f"http://127.0.0.1:{port}"}
    argv = [sys.executable, "-m", "forum", "serve", "--port", str(port), "--workers", str(workers)]
    return Server(f"forum x{workers}", argv, env, port, workdir / f"forum-{port}.log")


def plain_server(workdir: Path) -> Server:
    port = free_port()
    argv = [sys.executable, str(ROOT / "scripts" / "bench_plain.py"), str(port)]
    return Server("bare starlette", argv, dict(os.environ), port, workdir / f"plain-{port}.log")


# ---- signing in ---------------------------------------------------------------------------


@dataclass
class Login:
    handle: str
    cookie: str  # the Cookie header value
    session: str
    csrf: str


async def sign_in(base_url: str, handle: str, password: str = PASSWORD) -> Login:
    """GET /login for the csrf field and cookie, POST /login, then the session's csrf token."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60, headers={"Origin": base_url}) as c:
        page = await c.get("/login")
        match = CSRF_RE.search(page.text)
        if match is None:
            raise RuntimeError("no csrf field on /login")
        done = await c.post(
            "/login", data={"handle": handle, "password": password, "csrf": match.group(1)}
        )
        if done.status_code != 303 or "forum_session" not in c.cookies:
            raise RuntimeError(f"sign-in as {handle} failed: {done.status_code}")
        session = c.cookies["forum_session"]
        account = await c.get("/account")
        match = CSRF_RE.search(account.text)
        if match is None:
            raise RuntimeError("no csrf field on /account")
        return Login(handle, f"forum_session={session}", session, match.group(1))


async def sign_in_many(base_url: str, handles: list[str], parallel: int = 4) -> list[Login]:
    gate = asyncio.Semaphore(parallel)

    async def one(handle: str) -> Login:
        async with gate:
            return await sign_in(base_url, handle)

    return list(await asyncio.gather(*(one(h) for h in handles)))
