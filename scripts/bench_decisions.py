"""Decisions under load, for scripts/bench: counting 10,000 ranked ballots, and 500 members
voting on one decision within 10 seconds (open loop, each with a token of their own)."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from bench_data import Dataset, Server
from bench_load import percentile

from forum.services.tally import count_ranked

BALLOTS = 10_000
OPTIONS = 8
VOTERS = 500
VOTE_SECONDS = 10.0


def tally_timings(trials: int = 7) -> dict[str, Any]:
    """Best and median wall time of counting 10,000 random rankings of 8 options, for one seat
    (instant runoff) and three (STV)."""
    rng = random.Random(13)
    ballots = [rng.sample(range(OPTIONS), rng.randint(1, OPTIONS)) for _ in range(BALLOTS)]
    out: dict[str, Any] = {}
    for seats in (1, 3):
        times = []
        for _ in range(trials):
            start = time.perf_counter()
            counted = count_ranked(ballots, OPTIONS, seats, seed=1)
            times.append(time.perf_counter() - start)
            assert len(counted.winners) == seats
        times.sort()
        out[f"seats{seats}"] = {
            "best_ms": times[0] * 1000,
            "median_ms": times[len(times) // 2] * 1000,
            "max_ms": times[-1] * 1000,
            "rounds": len(counted.rounds),
        }
    return out


async def make_voters(dataset: Dataset, n: int = VOTERS) -> list[str]:
    """n active members with a write token each (made in the database, not by signing in: 500
    argon2 sign-ins would take longer than the measure). Returns the tokens."""
    from tortoise import Tortoise

    from forum.db import tortoise_config
    from forum.models import Member
    from forum.services import accounts

    await Tortoise.init(config=tortoise_config(dataset.database_url))
    try:
        bench = await Member.get(handle_key="bench")
        handles = [f"voter{i:03d}" for i in range(n)]
        existing = set(
            await Member.filter(handle_key__in=handles).values_list("handle_key", flat=True)
        )
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
                for h in handles
                if h not in existing
            ],
            batch_size=500,
        )
        tokens = []
        for member in await Member.filter(handle_key__in=["bench", *handles]):
            token = await accounts.create_api_token(member, "bench", scopes=("read", "write"))
            tokens.append((member.handle_key, token))
        tokens.sort()
        return [t for h, t in tokens if h != "bench"] + [t for h, t in tokens if h == "bench"]
    finally:
        await Tortoise.close_connections()


async def votes_on_one_decision(server: Server, tokens: list[str]) -> dict[str, Any]:
    """The last token proposes a secret motion; the others vote open-loop over VOTE_SECONDS.
    Latency runs from each vote's scheduled time; afterwards the count must equal the 201s."""
    proposer, voters = tokens[-1], tokens[:-1]
    base = server.url
    async with httpx.AsyncClient(
        base_url=base, timeout=30, headers={"authorization": f"Bearer {proposer}"}
    ) as c:
        thread = await c.post(
            "/api/v1/channels/bench/threads",
            json={"title": f"Bench decision {time.time():.0f}", "body": "We decide."},
        )
        thread.raise_for_status()
        closes = (datetime.now(UTC) + timedelta(days=1, hours=1)).isoformat()
        made = await c.post(
            f"/api/v1/threads/{thread.json()['id']}/decisions",
            json={"kind": "motion", "title": "Bench motion", "secret": True, "closes_at": closes},
        )
        made.raise_for_status()
        decision = made.json()
    did = decision["id"]
    clients = [
        httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=16))
        for _ in range(8)
    ]
    positions = ("agree", "abstain", "disagree")
    outcomes: list[dict[str, Any]] = []
    rate = len(voters) / VOTE_SECONDS

    async def vote(i: int, due: float) -> None:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        outcome: dict[str, Any] = {"i": i}
        try:
            r = await clients[i % len(clients)].post(
                f"/api/v1/decisions/{did}/votes",
                json={"position": positions[i % 3]},
                headers={"authorization": f"Bearer {voters[i]}"},
            )
            outcome["status"] = r.status_code
            if r.status_code == 201:
                outcome["receipt"] = bool(r.json().get("receipt"))
            else:
                outcome["text"] = r.text[:200]
        except httpx.HTTPError as exc:
            outcome["status"] = 0
            outcome["text"] = f"{type(exc).__name__}: {exc}"
        outcome["latency"] = time.perf_counter() - due
        outcomes.append(outcome)

    start = time.perf_counter() + 0.2
    try:
        await asyncio.gather(*(vote(i, start + i / rate) for i in range(len(voters))))
    finally:
        for client in clients:
            await client.aclose()
    elapsed = time.perf_counter() - start
    async with httpx.AsyncClient(
        base_url=base, timeout=30, headers={"authorization": f"Bearer {proposer}"}
    ) as c:
        after = (await c.get(f"/api/v1/decisions/{did}")).json()
    latencies = [o["latency"] for o in outcomes]
    statuses: dict[int, int] = {}
    for o in outcomes:
        statuses[o["status"]] = statuses.get(o["status"], 0) + 1
    accepted = statuses.get(201, 0)
    return {
        "voters": len(voters),
        "electorate": decision["electorate"],
        "elapsed_s": elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies, default=0) * 1000,
        "statuses": statuses,
        "accepted": accepted,
        "counted": after["ballots_cast"],
        "lost": accepted - after["ballots_cast"],
        "failed": [o for o in outcomes if o["status"] != 201][:5],
    }
