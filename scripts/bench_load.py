"""Load for scripts/bench: a lean HTTP/1.1 keep-alive client (GET only), closed loop.

Used in-process by bench.py (CPU measures, where only the server's CPU counts) and as a
separate process (`python scripts/bench_load.py SPEC_JSON`) when the load generator must not
share a process with anything else. Every loop is bounded by a request count and a deadline.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of values; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def request_bytes(path: str, port: int, cookie: str | None, extra: dict[str, str] | None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}", "User-Agent: forum-bench"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    for key, value in (extra or {}).items():
        lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bytes]:
    """(status, lower-cased head, body) of one response; raises on a closed connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.find(b"\r\n", at + 2)
        body = await reader.readexactly(int(lower[at + 17 : end]))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        parts = []
        for _ in range(1_000_000):
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            parts.append(chunk[:-2])
        body = b"".join(parts)
    else:
        body = await reader.read()
    return status, lower, body


@dataclass
class LoadResult:
    requests: int = 0
    elapsed: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    bytes: int = 0
    client_cpu: float = 0.0

    def summary(self) -> dict[str, Any]:
        lat = self.latencies
        return {
            "requests": self.requests,
            "elapsed": self.elapsed,
            "throughput": self.requests / self.elapsed if self.elapsed > 0 else 0.0,
            "statuses": self.statuses,
            "errors": self.errors[:5],
            "error_count": len(self.errors),
            "p50_ms": percentile(lat, 50) * 1000,
            "p90_ms": percentile(lat, 90) * 1000,
            "p99_ms": percentile(lat, 99) * 1000,
            "max_ms": max(lat) * 1000 if lat else 0.0,
            "mean_bytes": self.bytes / self.requests if self.requests else 0,
            "client_cpu": self.client_cpu,
        }


class Connection:
    def __init__(self, port: int, request: bytes) -> None:
        self.port = port
        self.request = request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port, limit=1 << 20)

    async def get(self) -> tuple[int, int]:
        if self.writer is None or self.writer.is_closing():
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.request)
        status, lower, body = await read_response(self.reader)
        if b"\r\nconnection: close" in lower:
            self.close()
        return status, len(body)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def open_connections(
    ports: list[int], path: str, cookies: list[str], concurrency: int, headers: dict[str, str]
) -> list[Connection]:
    conns = [
        Connection(
            ports[i % len(ports)],
            request_bytes(path, ports[i % len(ports)], cookies[i % len(cookies)], headers),
        )
        for i in range(concurrency)
    ]
    await asyncio.gather(*(c.open() for c in conns))
    return conns


async def run_closed(
    conns: list[Connection],
    max_requests: int,
    duration: float,
    expect: int = 200,
    rate_per_conn: float = 0.0,
) -> LoadResult:
    """Each connection sends its next request when the previous answer arrived (and, with
    rate_per_conn, not before its next 1/rate tick), until max_requests were sent in all or
    `duration` seconds passed."""
    result = LoadResult()
    budget = [max_requests]
    start = time.perf_counter()
    cpu0 = time.process_time()
    deadline = start + duration

    async def worker(conn: Connection, offset: float) -> None:
        due = start + offset
        while budget[0] > 0 and time.perf_counter() < deadline:
            if rate_per_conn:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                due += 1.0 / rate_per_conn
                if due - 1.0 / rate_per_conn > deadline:
                    break
            budget[0] -= 1
            t0 = time.perf_counter()
            try:
                status, size = await asyncio.wait_for(conn.get(), timeout=30)
            except Exception as exc:  # a failed request is counted, the connection reopened
                result.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                conn.close()
                await asyncio.sleep(0.01)
                continue
            result.latencies.append(time.perf_counter() - t0)
            result.requests += 1
            result.bytes += size
            key = str(status)
            result.statuses[key] = result.statuses.get(key, 0) + 1
            if status != expect and len(result.errors) < 1000:
                result.errors.append(f"status {status}")

    # Paced connections start spread over one period, not all at once.
    spread = 1.0 / rate_per_conn / max(1, len(conns)) if rate_per_conn else 0.0
    await asyncio.gather(*(worker(c, i * spread) for i, c in enumerate(conns)))
    result.elapsed = time.perf_counter() - start
    result.client_cpu = time.process_time() - cpu0
    return result


def postgres_pids() -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "postgres":
                        out.append(int(entry))
            except OSError:
                continue
    return out


def ticks(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            total += int(parts[11]) + int(parts[12])
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


async def _slices(spec: dict[str, Any]) -> dict[str, Any]:
    """Alternate the same closed-loop load between groups of servers in short slices, so slow
    drifts of a noisy machine hit every group alike. Each slice reports its throughput and the
    CPU seconds of the group's processes and of PostgreSQL."""
    groups = []
    for g in spec["groups"]:
        conns = await open_connections(
            g["ports"], spec["path"], spec["cookies"], spec["concurrency"], {}
        )
        await run_closed(conns, spec.get("warmup", 0), 10.0)
        groups.append((g, conns))
    # With `load_fraction`, every group gets the same offered load: that fraction of what the
    # first group answers flat out (measured here), paced over the connections. Without it,
    # each group gets as much as it answers (closed loop).
    rate_per_conn = 0.0
    fraction = float(spec.get("load_fraction") or 0.0)
    if fraction:
        g, conns = groups[0]
        flat_out = await run_closed(conns, 1_000_000, 2.0)
        rate_per_conn = fraction * flat_out.requests / flat_out.elapsed / len(conns)
    print("ready", flush=True)
    out: list[dict[str, Any]] = []
    for i in range(spec["slices"]):
        g, conns = groups[(i + i // len(groups)) % len(groups)]
        # settle onto this group
        await run_closed(conns, 10 * spec["concurrency"], 1.0, rate_per_conn=rate_per_conn)
        pg = postgres_pids()
        app0, pg0, busy0 = ticks(g["pids"]), ticks(pg), _busy()
        result = await run_closed(
            conns, 1_000_000, spec["slice_seconds"], rate_per_conn=rate_per_conn
        )
        app1, pg1, busy1 = ticks(g["pids"]), ticks(pg), _busy()
        summary = result.summary()
        summary.update(
            group=g["name"],
            app_cpu=app1 - app0,
            pg_cpu=pg1 - pg0,
            machine_busy=(busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
        )
        out.append(summary)
    for _, conns in groups:
        for c in conns:
            c.close()
    return {"slices": out}


def _busy() -> tuple[int, int]:
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


async def _main(spec: dict[str, Any]) -> dict[str, Any]:
    if "groups" in spec:
        return await _slices(spec)
    conns = await open_connections(
        spec["ports"], spec["path"], spec["cookies"], spec["concurrency"], spec.get("headers", {})
    )
    # Warm each connection (and the server's caches) outside the measured window.
    await run_closed(conns, spec.get("warmup", 0), 10.0)
    print("ready", flush=True)
    result = await run_closed(
        conns, spec["max_requests"], spec["duration"], rate_per_conn=spec.get("rate_per_conn", 0)
    )
    for c in conns:
        c.close()
    return result.summary()


def main() -> None:
    spec = json.loads(sys.argv[1])
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    summary = runner(_main(spec))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
