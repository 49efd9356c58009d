"""The `forum` command as an operator runs it: help, clear errors, and importing statements."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from forum.services.demo import STATEMENT


def forum(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FORUM_DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}"}
    return subprocess.run(
        [sys.executable, "-m", "forum", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_command_has_help(tmp_path: Path) -> None:
    top = forum(tmp_path, "--help")
    assert top.returncode == 0
    commands = (
        "serve",
        "migrate",
        "create-member",
        "invite",
        "create-token",
        "create-channel",
        "import-statements",
        "demo",
        "mail-in",
        "doctor",
        "backup",
        "restore",
        "committee",
        "verify-reports",
        "mail-test",
    )
    for command in commands:
        assert command in top.stdout
        helped = forum(tmp_path, command, "--help")
        assert helped.returncode == 0 and "usage: forum " + command in helped.stdout


def test_operator_errors_are_clear(tmp_path: Path) -> None:
    assert forum(tmp_path, "migrate").returncode == 0
    short = forum(tmp_path, "create-member", "ann", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "password: Use at least 10 characters." in short.stderr
    assert (
        forum(
            tmp_path, "create-member", "ann", "--password-stdin", stdin="a long enough password\n"
        ).returncode
        == 0
    )
    again = forum(
        tmp_path, "create-member", "ANN", "--password-stdin", stdin="a long enough password\n"
    )
    assert again.returncode == 1 and "That handle is taken." in again.stderr
    missing = forum(tmp_path, "create-token", "nobody")
    assert missing.returncode == 1 and "no member with the handle @nobody" in missing.stderr
    assert "Traceback" not in short.stderr + again.stderr + missing.stderr


def test_import_names_bad_files_and_imports_the_rest(tmp_path: Path) -> None:
    assert forum(tmp_path, "migrate").returncode == 0
    assert forum(tmp_path, "create-channel", "Statements", "--slug", "statements").returncode == 0
    folder = tmp_path / "statements"
    folder.mkdir()
    (folder / "iso.txt").write_bytes(STATEMENT.read_bytes())
    (folder / "broken.xml").write_text("<rss><channel><item><title>cut off", encoding="utf-8")
    (folder / "latin1.txt").write_bytes("Title\n\nCaf\xe9 au lait".encode("latin-1"))
    first = forum(tmp_path, "import-statements", str(folder), "--author", "rs21 Steering Group")
    assert first.returncode == 1
    assert "1 created, 0 amended, 0 unchanged." in first.stdout
    assert "broken.xml" in first.stderr and "latin1.txt" in first.stderr
    assert "UTF-8" in first.stderr and "Traceback" not in first.stderr
    second = forum(tmp_path, "import-statements", str(folder / "iso.txt"), "--author", "rs21")
    assert second.returncode == 0 and "0 created, 0 amended, 1 unchanged." in second.stdout


def test_create_member_takes_an_email_address(tmp_path: Path) -> None:
    """The address is the member's at once (resets go to it); a link asks them to confirm it,
    queued in the outbox for the server to send."""
    import sqlite3

    assert forum(tmp_path, "migrate").returncode == 0
    password = "a long enough password\n"
    bad = forum(tmp_path, "create-member", "ann", "--email", "ann at home", "--password-stdin",
                stdin=password)  # fmt: skip
    assert bad.returncode == 1 and "email: Enter an email address" in bad.stderr
    made = forum(tmp_path, "create-member", "ann", "--email", "Ann@Example.ORG",
                 "--password-stdin", stdin=password)  # fmt: skip
    assert made.returncode == 0, made.stderr
    taken = forum(tmp_path, "create-member", "bea", "--email", "ann@example.org",
                  "--password-stdin", stdin=password)  # fmt: skip
    assert taken.returncode == 1 and "Another member has that email address." in taken.stderr
    with sqlite3.connect(tmp_path / "cli.sqlite3") as db:
        row = db.execute("SELECT email, email_key, email_confirmed_at FROM member").fetchone()
        kinds = db.execute("SELECT kind, to_address FROM email_outbox").fetchall()
    assert row == ("Ann@example.org", "ann@example.org", None)
    assert kinds == [("confirm", "Ann@example.org")]
