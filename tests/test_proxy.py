"""The forum behind a real proxy: Debian's nginx, running the site file from deploy/nginx with a
self-signed certificate, in front of two `forum serve` processes on PostgreSQL and Redis.

Through it: signing in gives Secure `__Host-` cookies and HSTS; a websocket on one process
receives a post made through the other; sign-in throttling counts each client's own address
(clients bound to different loopback addresses are counted apart, and an X-Forwarded-For a
client makes up is ignored, through nginx and straight to the app); static files come from
nginx with long cache headers under hashed names; an oversized body stops at nginx; /metrics is
not public but answers its token on each process.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from forum.services.demo import DEMO_PASSWORD
from tests.conftest import REQUIRE_SERVICES, free_port, postgres_copy, service_missing
from tests.servers import AppProcess, RedisProcess, wait_for_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "deploy" / "nginx" / "forum.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
METRICS_TOKEN = "proxy-test-metrics-token"
CSRF_RE = re.compile(r'name="csrf" value="([^"]*)"')


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def nginx_conf(
    workdir: Path, port: int, http_port: int, apps: list[int], cert: Path, key: Path
) -> str:
    """deploy/nginx/forum.conf made to run here: our ports, certificate and checkout. The one
    addition for the test: an `X-Backend: a|b` header may pin a request to one process."""
    site = SITE.read_text()
    swaps = [
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("/etc/letsencrypt/live/forum.example.org/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/forum.example.org/privkey.pem", str(key)),
        ("/srv/forum/static/", f"{ROOT}/static/"),
        ("server 127.0.0.1:8001;", f"server 127.0.0.1:{apps[0]};"),
        ("server 127.0.0.1:8002;", f"server 127.0.0.1:{apps[1]};"),
        ("proxy_pass http://forum_app;", "proxy_pass http://$forum_backend;"),
    ]
    for old, new in swaps:
        assert old in site, f"deploy/nginx/forum.conf no longer has {old!r}"
        site = site.replace(old, new)
    pin = f"""
    map $http_x_backend $forum_backend {{ default forum_app; a app_a; b app_b; }}
    upstream app_a {{ server 127.0.0.1:{apps[0]}; }}
    upstream app_b {{ server 127.0.0.1:{apps[1]}; }}
    """
    temp = "\n".join(
        f"    {kind}_temp_path {workdir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""
{user}
worker_processes 1;
daemon off;
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {workdir / "access.log"};
{temp}
{pin}
{site}
}}
"""


@dataclass
class Stack:
    base: str  # https://127.0.0.1:PORT, through nginx
    tls: ssl.SSLContext
    apps: list[AppProcess]
    thread: str  # the demo statement's thread id
    workdir: Path
    http_port: int  # nginx's plain-http server (redirects)

    def client(self, address: str) -> httpx.Client:
        """A client whose connections come from `address` (any 127.x.y.z is this machine)."""
        transport = httpx.HTTPTransport(local_address=address, verify=self.tls)
        return httpx.Client(base_url=self.base, transport=transport, timeout=10)


def start_all(apps: list[AppProcess]) -> None:
    threads = [threading.Thread(target=app.start) for app in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, postgres_template: str) -> Iterator[Stack]:
    if not os.path.exists(NGINX):
        if REQUIRE_SERVICES:
            pytest.fail("nginx is not installed (.ci/run installs it)")
        service_missing("NGINX", "not installed")
    workdir = tmp_path_factory.mktemp("proxy")
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / kind).mkdir()
    redis = RedisProcess(free_port(), workdir)
    redis.start()
    nginx: subprocess.Popen[bytes] | None = None
    apps: list[AppProcess] = []
    try:
        with postgres_copy(postgres_template) as database:
            env = {
                "FORUM_DATABASE_URL": database,
                "FORUM_REDIS_URL": redis.url,
                "FORUM_SECRET_KEY": "k" * 48,
                "FORUM_TRUSTED_PROXIES": "127.0.0.1",
                "FORUM_METRICS_TOKEN": METRICS_TOKEN,
            }
            demo = subprocess.run(
                [sys.executable, "-m", "forum", "demo"],
                env={**os.environ, **env},
                capture_output=True,
                timeout=120,
                check=False,
            )
            assert demo.returncode == 0, demo.stderr
            port, http_port = free_port(), free_port()
            base = f"https://127.0.0.1:{port}"
            apps = [
                AppProcess(free_port(), env, workdir / f"app-{name}.log", base_url=base)
                for name in "ab"
            ]
            start_all(apps)
            cert, key = make_certificate(workdir)
            conf = workdir / "nginx.conf"
            conf.write_text(nginx_conf(workdir, port, http_port, [a.port for a in apps], cert, key))
            errors = workdir / "error.log"
            nginx = subprocess.Popen(
                [NGINX, "-p", str(workdir), "-c", str(conf), "-e", str(errors)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for_port(port, 10)
            except TimeoutError:
                raise AssertionError(errors.read_text()) from None
            tls = ssl.create_default_context(cafile=str(cert))
            with httpx.Client(base_url=base, verify=tls) as c:
                page = c.get("/c/statements")
            thread = re.search(r'href="/t/([^"/]+)"', page.text)
            assert thread, page.text[:500]
            yield Stack(base, tls, apps, thread.group(1), workdir, http_port)
    finally:
        if nginx is not None and nginx.poll() is None:
            nginx.send_signal(signal.SIGQUIT)
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()
        for app in apps:
            app.stop()
        redis.stop()


def sign_in(c: httpx.Client, handle: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    token = CSRF_RE.search(c.get("/login").text)
    assert token
    return c.post(
        "/login",
        data={"handle": handle, "password": password, "csrf": token.group(1)},
        headers={"origin": c.base_url.scheme + "://" + c.base_url.netloc.decode()},
    )


def test_signing_in_through_tls_gives_secure_host_cookies_and_hsts(stack: Stack) -> None:
    with stack.client("127.0.0.2") as c:
        plain = c.get("/login")
        assert plain.headers["strict-transport-security"].startswith("max-age=")
        # nginx's request id reached the app and came back.
        assert re.fullmatch(r"[0-9a-f]{32}", plain.headers["x-request-id"])
        done = sign_in(c, "amara")
        assert done.status_code == 303, done.text
        cookie = next(v for v in done.headers.get_list("set-cookie") if "session" in v)
        assert cookie.startswith("__Host-forum_session=")
        assert "; secure" in cookie.lower() and "httponly" in cookie.lower()
        assert "Path=/" in cookie and "domain" not in cookie.lower()
        account = c.get("/account")
        assert account.status_code == 200 and "@amara" in account.text
    # Plain http on the proxy only redirects to https.
    http = httpx.get(f"http://127.0.0.1:{stack.http_port}/login?next=/account")
    assert http.status_code == 301
    assert http.headers["location"] == "https://127.0.0.1/login?next=/account"


def test_a_websocket_on_one_process_receives_a_post_made_through_the_other(stack: Stack) -> None:
    with stack.client("127.0.0.2") as c:
        assert sign_in(c, "bo").status_code == 303
        page = c.get(f"/t/{stack.thread}")
        seq = re.search(rf"thread:{re.escape(stack.thread)}=(\d+)", page.text)
        csrf = re.search(r'data-csrf="([^"]*)"', page.text)
        assert seq and csrf
        session = next(v for k, v in c.cookies.items() if k == "__Host-forum_session")
        wss = stack.base.replace("https://", "wss://") + "/ws"
        with connect(
            wss,
            ssl=stack.tls,
            origin=stack.base,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"__Host-forum_session={session}", "X-Backend": "a"},
            open_timeout=10,
        ) as ws:
            topic = f"thread:{stack.thread}"
            ws.send(json.dumps({"op": "subscribe", "topic": topic, "after": int(seq.group(1))}))
            body = "Posted through process b, seen live on process a."
            posted = c.post(
                f"/t/{stack.thread}/posts",
                data={"body": body, "csrf": csrf.group(1)},
                headers={"origin": stack.base, "x-backend": "b"},
            )
            assert posted.status_code == 303, posted.text
            deadline = time.monotonic() + 10
            while True:
                frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                if frame.get("kind") == "post.created":
                    break
            assert frame["topic"] == topic and body in frame["html"]
    # The post went to b and the socket lived on a: each process's own log says so (a socket's
    # line is written when it closes).
    deadline = time.monotonic() + 5
    while '"route":"/ws","status":101' not in stack.apps[0].log.read_text():
        assert time.monotonic() < deadline, "no log line for the websocket on process a"
        time.sleep(0.05)
    a_log, b_log = (app.log.read_text() for app in stack.apps)
    assert '"route":"/t/{thread_id}/posts"' in b_log
    assert '"route":"/t/{thread_id}/posts"' not in a_log
    assert '"route":"/ws"' not in b_log


def failed_sign_in(c: httpx.Client, n: int, forwarded_for: str | None = None) -> int:
    """One sign-in with a wrong password, as a fresh visitor; its status (429: throttled).
    Cookies are sent by hand: the app's are Secure, which a client would not send to the app's
    plain-http port."""
    c.cookies.clear()
    page = c.get("/login")
    token = CSRF_RE.search(page.text)
    assert token
    c.cookies.clear()
    headers = {
        "origin": f"{c.base_url.scheme}://{c.base_url.netloc.decode()}",
        "cookie": "; ".join(f"{k}={v}" for k, v in page.cookies.items()),
    }
    if forwarded_for:
        headers["x-forwarded-for"] = forwarded_for
    return c.post(
        "/login",
        data={"handle": f"nobody{n}", "password": "wrong password", "csrf": token.group(1)},
        headers=headers,
    ).status_code


def test_throttling_counts_each_real_client_address_and_ignores_forged_ones(stack: Stack) -> None:
    # Sign-in failures are limited to 5 a minute per address, counted in Redis by both processes.
    with stack.client("127.0.0.3") as first, stack.client("127.0.0.4") as second:
        refused = failed_sign_in(first, 0)
        assert refused not in (303, 429)  # the form again, with its error
        assert [failed_sign_in(first, n) for n in range(1, 5)] == [refused] * 4
        assert failed_sign_in(first, 5) == 429
        # Another client behind the same proxy is counted apart.
        assert failed_sign_in(second, 0) == refused
    # A client that names other addresses in X-Forwarded-For is still counted as itself:
    # nginx replaces the header with the peer it sees.
    with stack.client("127.0.0.5") as forger:
        statuses = [failed_sign_in(forger, n, f"198.51.100.{n}") for n in range(6)]
        assert statuses == [refused] * 5 + [429]
    # Straight to an app process, a peer that is not a trusted proxy is not believed either.
    app = stack.apps[0]
    transport = httpx.HTTPTransport(local_address="127.0.0.6")
    with httpx.Client(base_url=app.url, transport=transport, timeout=10) as direct:
        statuses = [failed_sign_in(direct, n, f"203.0.113.{n}") for n in range(6)]
    assert statuses == [refused] * 5 + [429]


def test_static_files_come_from_nginx_with_long_cache_headers(stack: Stack) -> None:
    with stack.client("127.0.0.2") as c:
        page = c.get("/login")
        css = re.search(r'href="(/static/css/forum\.[0-9a-f]{12}\.css)"', page.text)
        js = re.search(r'src="(/static/js/forum\.[0-9a-f]{12}\.js)"', page.text)
        assert css and js
        for path in (css.group(1), js.group(1)):
            got = c.get(path)
            assert got.status_code == 200
            assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
            # nginx answered: the app would have added its own security headers.
            assert "content-security-policy" not in got.headers
        assert c.get(css.group(1)).content == (ROOT / "static/css/forum.css").read_bytes()
        plain = c.get("/static/css/forum.css")
        assert plain.headers["cache-control"] == "public, max-age=3600"
        assert c.get("/static/css/nothing.0123456789ab.css").status_code == 404
    # No static request reached an app process...
    assert all("/static/" not in app.log.read_text() for app in stack.apps)
    # ...which serves the same names itself when no proxy is in front.
    direct = httpx.get(stack.apps[0].url + css.group(1))
    assert direct.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert direct.content == (ROOT / "static/css/forum.css").read_bytes()


def test_oversized_bodies_stop_at_nginx_and_metrics_are_not_public(stack: Stack) -> None:
    with stack.client("127.0.0.2") as c:
        big = c.post("/login", content=b"x" * 300_000, headers={"content-type": "text/plain"})
        assert big.status_code == 413
        assert (
            c.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}).status_code
            == 404
        )
    for app in stack.apps:
        scraped = httpx.get(
            app.url + "/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"}
        )
        assert scraped.status_code == 200
        assert 'forum_requests_total{method="GET",route="/login",status="200"}' in scraped.text
        assert "forum_db_pool_size" in scraped.text
        ready = httpx.get(app.url + "/readyz").json()
        assert ready == {"ready": True, "database": "ok", "migrations": "ok", "redis": "ok"}
