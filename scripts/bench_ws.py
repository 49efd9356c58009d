"""Websockets for scripts/bench: many lean client sockets in one process, run as

    python scripts/bench_ws.py SPEC_JSON

It opens spec["n"] sockets to ws://127.0.0.1:PORT/ws (session cookie, Origin = the base URL),
subscribes each to spec["topic"] after spec["after"], prints `ready OK FAILED`, then answers
commands read from stdin, one per line:

    wait POST_ID TIMEOUT  ->  {"post_id", "count", "first", "last"} once every socket got the
                              post.created frame of POST_ID (or the timeout passed); times are
                              time.monotonic(), the same clock in every process on Linux
    stats                 ->  {"open", "closed", "frames", "errors"}
    quit                  ->  closes every socket and exits

A minimal RFC 6455 client on asyncio.Protocol keeps the client's cost per frame to a few
microseconds, so the figures are the server's. Bounded: connects have a timeout and the
process exits after spec["lifetime"] seconds whatever happens. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import os
import re
import struct
import sys
import time
from typing import Any, cast

HOST = "127.0.0.1"
POST_CREATED = re.compile(rb'"kind": ?"post\.created"')
POST_ID = re.compile(rb'"post_id": ?(\d+)')


class Tally:
    def __init__(self) -> None:
        self.posts: dict[int, list[float]] = {}  # post id -> [count, first, last]
        self.frames = 0
        self.errors: list[str] = []
        self.open = 0
        self.closed = 0
        # Set when a post has reached `want` sockets: one wakeup per post, not one per batch of
        # frames read (which cost the waiting task a wait_for round each time).
        self.want = 1
        self.changed = asyncio.Event()


class WsClient(asyncio.Protocol):
    def __init__(self, tally: Tally, request: bytes) -> None:
        self.tally = tally
        self.request = request
        self.buffer = bytearray()
        self.upgraded = False
        self.handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.subscribed: asyncio.Future[str] | None = None
        self.transport: asyncio.Transport | None = None

    # ---- transport --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upgraded:
            self.tally.closed += 1
        for fut in (self.handshake, self.subscribed):
            if fut is not None and not fut.done():
                fut.set_exception(ConnectionError("closed"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            del self.buffer[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.handshake.set_exception(ConnectionError(head.split(b"\r\n", 1)[0].decode()))
                assert self.transport is not None
                self.transport.close()
                return
            self.upgraded = True
            self.tally.open += 1
            self.handshake.set_result(None)
        self._frames()

    # ---- frames -------------------------------------------------------------------------------

    def _frames(self) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            opcode = buf[0] & 0x0F
            length = buf[1] & 0x7F
            at = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length = struct.unpack_from("!H", buf, 2)[0]
                at = 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length = struct.unpack_from("!Q", buf, 2)[0]
                at = 10
            if buf[1] & 0x80:  # servers never mask; skip the key if one does
                at += 4
            if len(buf) < at + length:
                return
            payload = bytes(buf[at : at + length])
            del buf[: at + length]
            self._frame(opcode, payload)

    def _frame(self, opcode: int, payload: bytes) -> None:
        if opcode == 0x9:  # ping -> pong
            self.send(payload, 0xA)
            return
        if opcode == 0x8:
            if self.transport is not None:
                self.transport.close()
            return
        if opcode not in (0x1, 0x0):
            return
        self.tally.frames += 1
        if self.subscribed is not None and not self.subscribed.done():
            if b'"op": "subscribed"' in payload or b'"op":"subscribed"' in payload:
                self.subscribed.set_result("ok")
                return
            if b'"op"' in payload and (b'"error"' in payload or b'"reset"' in payload):
                self.subscribed.set_result(payload.decode("utf-8", "replace")[:200])
                return
        if POST_CREATED.search(payload):
            match = POST_ID.search(payload)
            if match is not None:
                now = time.monotonic()
                row = self.tally.posts.setdefault(int(match.group(1)), [0, now, now])
                row[0] += 1
                row[2] = now
                if row[0] >= self.tally.want:
                    self.tally.changed.set()

    def send(self, payload: bytes, opcode: int = 0x1) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(head + mask + masked)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.send(struct.pack("!H", 1000), 0x8)
            self.transport.close()


def handshake(port: int, cookie: str, origin: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /ws HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {origin}\r\nCookie: {cookie}\r\nUser-Agent: forum-bench\r\n\r\n"
    ).encode()


async def open_socket(spec: dict[str, Any], tally: Tally, i: int) -> WsClient:
    loop = asyncio.get_running_loop()
    cookie = spec["cookies"][i % len(spec["cookies"])]
    request = handshake(spec["port"], cookie, spec["origin"])
    _, client = await asyncio.wait_for(
        loop.create_connection(lambda: WsClient(tally, request), HOST, spec["port"]), 30
    )
    await asyncio.wait_for(client.handshake, 30)
    if spec.get("topic"):
        client.subscribed = loop.create_future()
        frame = {"op": "subscribe", "topic": spec["topic"], "after": spec.get("after")}
        client.send(json.dumps(frame).encode())
        answer = await asyncio.wait_for(client.subscribed, 30)
        if answer != "ok":
            client.close()
            raise ConnectionError(f"subscribe: {answer}")
    return client


async def open_many(spec: dict[str, Any], tally: Tally) -> list[WsClient]:
    gate = asyncio.Semaphore(spec.get("parallel", 64))
    clients: list[WsClient] = []

    async def one(i: int) -> None:
        async with gate:
            try:
                clients.append(await open_socket(spec, tally, i))
            except Exception as exc:
                tally.errors.append(f"{type(exc).__name__}: {exc}"[:200])

    await asyncio.gather(*(one(i) for i in range(spec["n"])))
    return clients


async def wait_for_post(tally: Tally, post_id: int, want: int, limit: float) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        row = tally.posts.get(post_id)
        if row is not None and row[0] >= want:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        tally.changed.clear()
        try:
            await asyncio.wait_for(tally.changed.wait(), left)
        except TimeoutError:
            break
    row = tally.posts.get(post_id, [0, 0.0, 0.0])
    return {"post_id": post_id, "count": row[0], "first": row[1], "last": row[2]}


async def _main(spec: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    tally = Tally()
    clients = await open_many(spec, tally)
    print(f"ready {len(clients)} {len(tally.errors)}", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    want = tally.want = len(clients)
    # Thousands of long-lived sockets: keep them out of the collector's way while measuring.
    gc.collect()
    gc.freeze()
    for _ in range(100_000):
        line = (await reader.readline()).decode().split()
        if not line or line[0] == "quit":
            break
        if line[0] == "wait":
            answer = await wait_for_post(tally, int(line[1]), want, float(line[2]))
        else:
            answer = {
                "open": tally.open - tally.closed,
                "closed": tally.closed,
                "frames": tally.frames,
                "errors": tally.errors[:5],
                "error_count": len(tally.errors),
            }
        print(json.dumps(answer), flush=True)
    for c in clients:
        c.close()
    await asyncio.sleep(0.2)


def main() -> None:
    spec = json.loads(sys.argv[1])
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run

    async def bounded() -> None:
        await asyncio.wait_for(_main(spec), spec.get("lifetime", 300))

    runner(bounded())


if __name__ == "__main__":
    main()
