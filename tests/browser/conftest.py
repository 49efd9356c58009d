"""Browser fixtures: a real `forum serve` with the demo members, and Debian's chromium driven
through playwright's async API (one browser per test, so each test owns its event loop).

Reuse from other browser tests:

- `start_server(tmp_path, signup="invite") -> AppProcess`: migrated SQLite file with the demo
  content (admin, fran, amara, bo; password `DEMO_PASSWORD`), served on a free port; call
  `.stop()` yourself. The `live_server` fixture does this for one test (signup "invite").
- `browser` fixture: a launched chromium `Browser`; `page` fixture: a fresh context and page.
- `await new_page(browser)`: another page in its own context (a second member at once).
- `await sign_in(page, server, handle, password=DEMO_PASSWORD)` and `await sign_out(page)`.
- `await assert_accessible(page, name)`: axe-core; fails on serious or critical violations.
- `statement_thread(server) -> "/t/ID"`: the demo statement's thread (thread ids are random).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import free_port, service_missing
from tests.servers import AppProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORD = "demo-password-1"
DEMO_HANDLES = ("admin", "fran", "amara", "bo")
TIMEOUT_MS = 10_000  # a calm local page answers in milliseconds; fail fast, not after 30 s
SERIOUS = ("serious", "critical")

_template: Path | None = None


def _forum(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "forum", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"forum {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def _demo_database() -> Path:
    """Migrate and load the demo content once per test run; each server gets a copy."""
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="forum-browser-template-"))
        path = folder / "forum.sqlite3"
        env = {"FORUM_DATABASE_URL": f"sqlite://{path}", "FORUM_REDIS_URL": ""}
        _forum(env, "migrate")
        _forum(env, "demo")
        _template = path
    return _template


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _template is not None:
        shutil.rmtree(_template.parent, ignore_errors=True)


def start_server(tmp_path: Path, signup: str = "invite") -> AppProcess:
    """A `forum serve` subprocess on a free port over a migrated database with the demo data."""
    template = _demo_database()
    for source in template.parent.glob(template.name + "*"):  # the file and any -wal / -shm
        shutil.copy(source, tmp_path / source.name)
    env = {
        "FORUM_DATABASE_URL": f"sqlite://{tmp_path / template.name}",
        "FORUM_SIGNUP": signup,
        "FORUM_SECRET_KEY": "browser-tests",
        "FORUM_REDIS_URL": "",
    }
    server = AppProcess(free_port(), env, tmp_path / "server.log")
    try:
        server.start()
    except BaseException:
        server.stop()
        print(server_log(server))
        raise
    return server


def server_log(server: AppProcess) -> str:
    try:
        return f"---- {server.log} ----\n{server.log.read_text(errors='replace')}"
    except OSError:
        return f"---- {server.log}: no log ----"


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember a failure so `live_server` can print the server's log in its teardown."""
    report = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.fixture
def live_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[AppProcess]:
    server = start_server(tmp_path)
    server.thread = statement_thread(server)
    try:
        yield server
    finally:
        server.stop()
        if request.node.stash.get(_FAILED, False):
            print(server_log(server))


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        service_missing("CHROMIUM", f"{CHROMIUM} is missing; apt-get install chromium")
    playwright = await async_playwright().start()
    try:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()
    finally:
        await playwright.stop()


async def new_page(browser: Browser) -> Page:
    """A page in a context of its own (own cookies): one more member at the same time.
    The context closes with the browser."""
    context = await browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    return await context.new_page()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    p = await new_page(browser)
    try:
        yield p
    finally:
        await p.context.close()


async def sign_in(
    page: Page, server: AppProcess, handle: str, password: str = DEMO_PASSWORD
) -> None:
    """Sign in through the form at /login and wait for the header to show @handle."""
    await page.goto(server.url + "/login")
    await page.get_by_label("Handle").fill(handle)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(header_handle(page, handle)).to_be_visible()


async def sign_out(page: Page) -> None:
    await page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()


def header_handle(page: Page, handle: str) -> Any:
    return page.get_by_role("banner").get_by_role("link", name=f"@{handle}", exact=True)


async def assert_accessible(page: Page, name: str) -> None:
    """Run axe-core on the page as it is now; fail listing serious and critical violations."""
    results = await Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
    if bad:
        lines = [f"{name} ({page.url}): {len(bad)} serious/critical accessibility violations"]
        for v in bad:
            lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
            for node in v["nodes"]:
                lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:200]}")
                lines.append(f"      {node.get('failureSummary', '').strip()}")
        pytest.fail("\n".join(lines), pytrace=False)


def statement_thread(server: AppProcess) -> str:
    """The path of the demo statement's thread, read off the public Statements channel: thread
    ids are random, so no test may assume one."""
    answer = httpx.get(f"{server.url}/api/v1/channels/statements/threads", timeout=10)
    answer.raise_for_status()
    [thread] = [t for t in answer.json()["threads"] if t["title"].startswith("On the dissolution")]
    return f"/t/{thread['id']}"
