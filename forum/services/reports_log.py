"""The case log: append-only entries, each chained twice with SHA-256, and its verification.

Every entry is in two chains at once:

- the **whole log**, in `seq` order (1, 2, 3...): `prev_hash` is the previous entry's
  `entry_hash` (GENESIS for the first). The head of this chain (`report_log_head`) is shown on
  the public transparency page, so anyone who noted an earlier head can tell a rewritten past.
- **its case**, in `case_seq` order: `case_prev_hash` is the case's previous entry's hash, and
  the case row keeps its own head, so one case's history can be checked on its own.

`entry_hash` = SHA-256 of a JSON list of both previous hashes, the entry's place (seq, case,
case_seq), kind, actor, side, detail, time and `content_hash`. `content_hash` is SHA-256 of the
*ciphertext*, not of the text: a hash of a short plaintext ("yes", a name) could be confirmed
by guessing from a copy of the database, which must reveal nothing; the ciphertext's random
nonce makes its hash say nothing. AES-GCM's tag already protects the text itself, and
verifying needs no key. Erasure empties the ciphertext and keeps `content_hash`, so the chain
still verifies; an entry without its ciphertext is accepted only when a later `erased` entry
of the same case stands for it.

Appends are serial: the first statement of an append updates the single head row, which holds
its row lock (PostgreSQL) or the write lock (SQLite) until commit, so two appends never fork.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from forum.db import sql_for
from forum.models import CaseEntry, Report
from forum.services import reports_crypto

GENESIS = "0" * 64


def content_hash(ciphertext: str | None) -> str:
    return hashlib.sha256(ciphertext.encode()).hexdigest() if ciphertext else ""


def entry_hash(
    prev: str,
    case_prev: str,
    seq: int,
    report_id: int,
    case_seq: int,
    kind: str,
    actor_id: int | None,
    side: str,
    detail: str,
    at: str,
    content: str,
) -> str:
    fields = [prev, case_prev, seq, report_id, case_seq, kind, actor_id, side, detail, at, content]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()


async def append(
    conn: BaseDBAsyncClient,
    key: bytes | None,
    report: Report,
    kind: str,
    actor_id: int | None,
    *,
    side: str = "",
    detail: str = "",
    text: str | None = None,
) -> CaseEntry:
    """Write one entry at the end of both chains, inside the caller's transaction."""
    head = await conn.execute_query_dict(
        sql_for(
            conn, "UPDATE report_log_head SET seq = seq + 1 WHERE id = ? RETURNING seq, head_hash"
        ),
        [1],
    )
    seq = int(head[0]["seq"])
    prev = str(head[0]["head_hash"]) or GENESIS
    case = await conn.execute_query_dict(
        sql_for(
            conn,
            "UPDATE report SET entry_count = entry_count + 1 WHERE id = ? "
            "RETURNING entry_count, head_hash",
        ),
        [report.id],
    )
    case_seq = int(case[0]["entry_count"])
    case_prev = str(case[0]["head_hash"]) or GENESIS
    ciphertext = None
    if text is not None:
        assert key is not None, "text needs the reports key"
        ciphertext = reports_crypto.encrypt(key, report.id, case_seq, text)
    at = datetime.now(UTC).isoformat()
    content = content_hash(ciphertext)
    digest = entry_hash(
        prev, case_prev, seq, report.id, case_seq, kind, actor_id, side, detail, at, content
    )
    entry = await CaseEntry.create(
        seq=seq,
        case_seq=case_seq,
        report_id=report.id,
        kind=kind,
        actor_id=actor_id,
        side=side,
        detail=detail,
        at=at,
        ciphertext=ciphertext,
        content_hash=content,
        prev_hash=prev,
        case_prev_hash=case_prev,
        entry_hash=digest,
        using_db=conn,
    )
    await conn.execute_query(
        sql_for(conn, "UPDATE report_log_head SET head_hash = ? WHERE id = ?"), [digest, 1]
    )
    await conn.execute_query(
        sql_for(conn, "UPDATE report SET head_hash = ? WHERE id = ?"), [digest, report.id]
    )
    report.entry_count = case_seq
    report.head_hash = digest
    return entry


async def head(conn: BaseDBAsyncClient) -> tuple[int, str]:
    """The whole log's length and head hash."""
    rows = await conn.execute_query_dict("SELECT seq, head_hash FROM report_log_head WHERE id = 1")
    if not rows:
        return 0, ""
    return int(rows[0]["seq"]), str(rows[0]["head_hash"])


@dataclass(frozen=True)
class Problem:
    seq: int
    report_id: int | None
    case_seq: int | None
    message: str

    def __str__(self) -> str:
        where = f"entry #{self.seq}"
        if self.report_id is not None:
            where += f" (case {self.report_id}, step {self.case_seq})"
        return f"{where}: {self.message}"


ENTRY_COLUMNS = (
    "seq, report_id, case_seq, kind, actor_id, side, detail, at, ciphertext, content_hash, "
    "prev_hash, case_prev_hash, entry_hash"
)


async def verify(conn: BaseDBAsyncClient) -> tuple[int, list[Problem]]:
    """Recompute every chain. Returns how many entries were read and what is broken."""
    _, rows = await conn.execute_query(f"SELECT {ENTRY_COLUMNS} FROM case_entry ORDER BY seq")
    problems: list[Problem] = []
    expected_seq = 1
    prev = GENESIS
    cases: dict[int, tuple[int, str]] = {}  # report id -> (last case_seq, last hash)
    # Entries whose ciphertext is gone, per case, waiting for an `erased` entry after them.
    unexplained: dict[int, list[Any]] = {}
    for row in rows:
        (seq, report_id, case_seq, kind, actor_id, side, detail, at, cipher, content) = tuple(row)[
            :10
        ]
        stored_prev, stored_case_prev, stored_hash = row[10], row[11], row[12]
        seq, report_id, case_seq = int(seq), int(report_id), int(case_seq)

        def bad(message: str, seq: int = seq, rid: int = report_id, cs: int = case_seq) -> None:
            problems.append(Problem(seq, rid, cs, message))

        if seq > expected_seq:
            for missing in range(expected_seq, min(seq, expected_seq + 20)):
                problems.append(Problem(missing, None, None, "is missing (deleted?)"))
        if stored_prev != prev:
            bad("does not follow the entry before it in the log (changed order or deleted)")
        last_case_seq, case_prev = cases.get(report_id, (0, GENESIS))
        if case_seq != last_case_seq + 1 or stored_case_prev != case_prev:
            bad("does not follow the entry before it in its case")
        if cipher is not None and content_hash(cipher) != content:
            bad("its text does not match its hash (changed)")
        if cipher is None and content:
            unexplained.setdefault(report_id, []).append((seq, case_seq))
        if kind == "erased":
            unexplained.pop(report_id, None)
        actor = int(actor_id) if actor_id is not None else None
        recomputed = entry_hash(
            stored_prev,
            stored_case_prev,
            seq,
            report_id,
            case_seq,
            kind,
            actor,
            side,
            detail,
            at,
            content,
        )
        if recomputed != stored_hash:
            bad("its fields do not match its hash (changed)")
        prev = stored_hash
        cases[report_id] = (case_seq, stored_hash)
        expected_seq = seq + 1
    for report_id, gone in unexplained.items():
        for seq, case_seq in gone:
            problems.append(
                Problem(seq, report_id, case_seq, "its text is gone without an erasure")
            )
    count, head_hash = await head(conn)
    if count != expected_seq - 1 or (head_hash or GENESIS) != prev:
        problems.append(
            Problem(
                count,
                None,
                None,
                "the log head does not match its last entry (entries removed at the end?)",
            )
        )
    _, case_rows = await conn.execute_query("SELECT id, entry_count, head_hash FROM report")
    for case_id, entry_count, case_head in case_rows:
        last = cases.get(int(case_id), (0, GENESIS))
        if int(entry_count) != last[0] or (case_head or GENESIS) != last[1]:
            problems.append(
                Problem(
                    0,
                    int(case_id),
                    int(entry_count),
                    "the case's head does not match its last entry",
                )
            )
    problems.sort(key=lambda p: p.seq)
    return len(rows), problems
