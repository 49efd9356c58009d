"""The confidential case log at size: `forum verify-reports` over 100,000 entries.

Builds a migrated SQLite database with 1,000 cases of 100 entries each (the chain computed as
the app computes it, text encrypted under a key file beside the database), then runs the real
command and times it end to end (process start included). Goal: under 10 s on this machine.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CASES = 1_000
PER_CASE = 100
GOAL_SECONDS = 10.0


def build(db: Path) -> int:
    """Fill the log; returns how many entries."""
    from forum.db import apply_migrations
    from forum.models.ids import distinct_ids
    from forum.services import reports_crypto, reports_log
    from forum.settings import Settings

    url = f"sqlite://{db}"
    asyncio.run(apply_migrations(url))
    settings = Settings(database_url=url)
    reports_crypto.ensure_key_file(settings)
    key = reports_crypto.load_key(settings)
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO member (handle, handle_key, display_name, password_hash, role, status, "
        "created_at, unread_notifications, event_seq) VALUES ('rae', 'rae', 'Rae', 'x', "
        "'member', 'active', ?, 0, 0)",
        (datetime.now(UTC).isoformat(),),
    )
    member_id = conn.execute("SELECT id FROM member").fetchone()[0]
    ids = distinct_ids(CASES)
    seq = 0
    prev = reports_log.GENESIS
    entries: list[tuple[Any, ...]] = []
    reports: list[tuple[Any, ...]] = []
    now = datetime.now(UTC).isoformat()
    for rid in ids:
        case_prev = reports_log.GENESIS
        for case_seq in range(1, PER_CASE + 1):
            seq += 1
            kind = "filed" if case_seq == 1 else "message"
            cipher = reports_crypto.encrypt(key, rid, case_seq, f"entry {case_seq} of {rid}")
            content = reports_log.content_hash(cipher)
            digest = reports_log.entry_hash(
                prev, case_prev, seq, rid, case_seq, kind, member_id, "reporter", "", now, content
            )
            entries.append(
                (
                    seq,
                    case_seq,
                    rid,
                    kind,
                    member_id,
                    "reporter",
                    "",
                    now,
                    cipher,
                    content,
                    False,
                    prev,
                    case_prev,
                    digest,
                )
            )
            prev = case_prev = digest
        reports.append(
            (
                rid,
                member_id,
                "formal",
                "received",
                "committee",
                "none",
                now,
                now,
                PER_CASE,
                case_prev,
                0,
            )
        )
    conn.executemany(
        "INSERT INTO report (id, reporter_id, level, state, body, consent, created_at, "
        "released_at, entry_count, head_hash, event_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        reports,
    )
    conn.executemany(
        "INSERT INTO case_entry (seq, case_seq, report_id, kind, actor_id, side, detail, at, "
        "ciphertext, content_hash, erased, prev_hash, case_prev_hash, entry_hash) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        entries,
    )
    conn.execute("UPDATE report_log_head SET seq = ?, head_hash = ? WHERE id = 1", (seq, prev))
    conn.commit()
    conn.close()
    return seq


def verify(db: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "FORUM_DATABASE_URL": f"sqlite://{db}"}
    env.pop("FORUM_REPORTS_KEY", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "forum", "verify-reports"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return time.perf_counter() - started, done


def measure(workdir: Path) -> dict[str, Any]:
    db = workdir / "reports.sqlite3"
    t0 = time.perf_counter()
    count = build(db)
    built = time.perf_counter() - t0
    took, done = verify(db)
    ok = done.returncode == 0 and f"{count} entries" in done.stdout and took < GOAL_SECONDS
    # And a broken entry is found at that size too.
    conn = sqlite3.connect(db)
    conn.execute("UPDATE case_entry SET detail = 'x' WHERE seq = ?", (count // 2,))
    conn.commit()
    conn.close()
    _, broken = verify(db)
    found = broken.returncode == 1 and f"BROKEN entry #{count // 2} " in broken.stdout
    return {
        "ok": ok and found,
        "entries": count,
        "seconds": round(took, 2),
        "build_seconds": round(built, 1),
        "found_break": found,
        "stdout": done.stdout.strip()[-200:],
    }


if __name__ == "__main__":
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    with tempfile.TemporaryDirectory() as tmp:
        print(measure(Path(tmp)))
