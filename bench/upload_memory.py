"""Upload-memory bench: how much a visitor who never logs in can park in the web process.

Streamlit accepts ``PUT /_stcore/upload_file/<session id>/<file id>`` for any live
browser session, logged in or not, and the login page opens one for everyone: a
WebSocket to ``/_stcore/stream``. Its ``MemoryUploadedFileManager`` keeps each
file's bytes in the process until that session is shut down. The studio's
launcher (``web.py``) refuses uploads without a login cookie. This bench plays
that visitor with nothing but HTTP:

1. ``GET /_stcore/health`` for the XSRF cookie; open the WebSocket with the
   token (as the browser does), ask for a run and read the session id from the
   ``new_session`` message: the login page, never logged in.
2. Resident memory (VmRSS) of the web process **before**; then ``--files``
   uploads of ``--mb`` MB each, the HTTP status of each counted; memory
   **after**.
3. The visitor leaves: the WebSocket is closed. Memory ``--wait`` seconds
   later (longer than Streamlit's ``server.disconnectedSessionTTL``, 120 s by
   default) with nobody else around, then once more after another visitor
   opened a page and closed it.

Why two readings after close: Streamlit keeps a closed page's session for
``disconnectedSessionTTL`` so that a reconnecting tab finds its state, in a
TTL cache that drops expired entries only when it is written to (the next
session that disconnects). The dropped ``AppSession`` is then garbage-collected
and its ``__del__`` shuts it down, which frees its uploads. On a quiet server
the uploads therefore stay until somebody else's page closes.

Next to memory, Streamlit's own count of the bytes it holds for uploads
(``cache_memory_bytes{cache_type="UploadedFileManager"}`` on
``/_stcore/metrics``) is printed at each step, so a figure that stays up can be
told from the allocator keeping pages it no longer uses.

Apps (``--app``):

* ``studio``: VeoGen's web process as ``veogen up`` starts it, ``streamlit run
  web.py`` (the launcher; with the project's ``.streamlit/config.toml``) on a
  throwaway data dir, migrated and with an admin first (``veogen init``); the
  bundled redis-server is started for it.
* ``bare-studio``: the same data, ``streamlit run streamlit_app.py``: the studio
  without the launcher's middleware (what `veogen up` ran before it).
* ``minimal``: ``bench/upload_leak_app.py``, a Streamlit script of one line
  with no uploader at all, run from a scratch folder so that Streamlit's
  defaults apply. It shows the behaviour is Streamlit's, not VeoGen's.
* ``--url URL [--pid PID]``: an already running server; memory is read only
  when its pid is given.

``--login`` makes the visitor a logged-in one: the admin's login cookie, issued
through the studio's services (``studio.accounts.issue_cookie``) as the login
form does, goes with every request (``studio`` and ``bare-studio`` only).

``--nginx`` puts a real nginx (Debian's ``nginx-light``) in front of the
started app, running the compose config ``monitoring/nginx/veogen.conf`` with
only its two Docker names replaced (``listen 80`` and the upstream
``web:8501``), so its per-client upload limits apply to the visitor.

Extra Streamlit options go after ``--``, e.g. ``-- --server.maxUploadSize 20``.
Run from the repository root::

    .venv/bin/python -m bench.upload_memory [--app studio|bare-studio|minimal] [--login] \
        [--nginx] [--files 10] [--mb 24] [--wait 150] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from websockets.sync.client import connect

from bench.processes import ROOT, rss_mb

MINIMAL_APP = Path(__file__).resolve().parent / "upload_leak_app.py"
"""The minimal Streamlit script: one line of text, no uploader."""

STUDIO_SCRIPTS = {"studio": "web.py", "bare-studio": "streamlit_app.py"}
"""What ``streamlit run`` starts for each studio app: the launcher, or the studio without it."""

ADMIN_PASSWORD = "bench-admin-password-1"
"""The throwaway studio's first admin (never used to log in: ``--login`` issues its cookie directly)."""

LOGIN_COOKIE = "veogen_auth"
"""The studio's login cookie (``pages._ui.auth.COOKIE_NAME``)."""

START_TIMEOUT_SECONDS = 90.0
"""How long the server gets to answer /_stcore/health, in seconds."""

SETTLE_SECONDS = 6.0
"""Pause before each reading, in seconds: Streamlit finishes what a request started, and its metrics
endpoint recomputes memory figures at most every 5 s."""

XSRF_COOKIE = "_streamlit_xsrf"

NGINX_SITE = ROOT / "monitoring" / "nginx" / "veogen.conf"
"""The compose nginx config (mounted as the image's conf.d/default.conf)."""


@dataclass
class Reading:
    label: str
    rss_mb: float | None
    held_mb: float | None
    """Bytes Streamlit's upload manager says it holds, in MB (None when it reports nothing)."""


@dataclass
class Report:
    app: str
    files: int
    mb: int
    wait_seconds: float
    statuses: dict[str, int] = field(default_factory=dict)
    readings: list[Reading] = field(default_factory=list)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/_stcore/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def held_upload_mb(http: requests.Session, url: str) -> float | None:
    """What Streamlit's upload manager says it holds, from its metrics endpoint, in MB."""
    try:
        text = http.get(f"{url}/_stcore/metrics", params={"families": "cache_memory_bytes"}, timeout=10).text
    except requests.RequestException:
        return None
    total = sum(float(v) for v in re.findall(r'cache_type="UploadedFileManager"[^}]*\}\s+(\S+)', text))
    return total / 2**20


class Visitor:
    """A browser that loads the login page and never logs in: an XSRF cookie and one page session."""

    def __init__(self, url: str, *, forwarded_for: str | None = None, login_cookie: str | None = None) -> None:
        """``forwarded_for``: the client address a proxy in front of nginx would pass on (X-Forwarded-For);
        ``login_cookie``: the studio's login cookie, sent with every request (a visitor who logged in)."""
        self.url = url.rstrip("/")
        self.http = requests.Session()
        if forwarded_for:
            self.http.headers["X-Forwarded-For"] = forwarded_for
        if login_cookie:
            self.http.cookies.set(LOGIN_COOKIE, login_cookie)
        self.http.get(f"{self.url}/_stcore/health", timeout=10).raise_for_status()
        self.xsrf = self.http.cookies.get(XSRF_COOKIE)
        self.uploaded: list[str] = []
        """File ids of the uploads that were taken (204), in order."""

    @contextlib.contextmanager
    def page(self) -> Iterator[str]:
        """Open the page's WebSocket and ask for a run; yield the session id the server gave it; close it."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        ws_url = re.sub(r"^http", "ws", self.url) + "/_stcore/stream"
        headers = {"Origin": self.url}
        cookies = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        if cookies:
            headers["Cookie"] = cookies
        protocols = ["streamlit", self.xsrf] if self.xsrf else ["streamlit"]
        with connect(ws_url, subprotocols=protocols, additional_headers=headers, max_size=None) as ws:  # type: ignore[arg-type]
            back = BackMsg()
            back.rerun_script.query_string = ""
            back.rerun_script.page_script_hash = ""
            ws.send(back.SerializeToString())
            deadline = time.monotonic() + 60
            while True:
                msg = ForwardMsg()
                msg.ParseFromString(ws.recv(timeout=max(0.1, deadline - time.monotonic())))  # type: ignore[arg-type]
                if msg.WhichOneof("type") == "new_session":
                    break
            yield msg.new_session.initialize.session_id

    def upload(self, session_id: str, data: bytes) -> int:
        headers = {"X-Xsrftoken": self.xsrf} if self.xsrf else {}
        file_id = str(uuid.uuid4())
        target = f"{self.url}/_stcore/upload_file/{session_id}/{file_id}"
        try:
            files = {"file": ("picture.png", data, "image/png")}
            status = self.http.put(target, files=files, headers=headers, timeout=120).status_code
        except requests.RequestException as exc:
            return -1 if "Connection" in type(exc).__name__ else -2
        if status == 204:
            self.uploaded.append(file_id)
        return status


def nginx_site_config(port: int, upstream_port: int) -> str:
    """veogen.conf listening on 127.0.0.1:``port`` in front of 127.0.0.1:``upstream_port`` instead of Docker's names."""
    conf = NGINX_SITE.read_text()
    swaps = {"listen 80;": f"listen 127.0.0.1:{port};", "http://web:8501;": f"http://127.0.0.1:{upstream_port};"}
    for docker, local in swaps.items():
        if conf.count(docker) != 1:
            raise ValueError(f"{docker!r} is not in {NGINX_SITE.name} exactly once")
        conf = conf.replace(docker, local)
    return conf


def nginx_main_config(folder: Path) -> str:
    """An nginx.conf like the image's: ``folder``/veogen.conf inside http {}; every path in ``folder``."""
    temps = "\n".join(
        f"    {kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
{temps}
    include {folder}/veogen.conf;
}}
"""


@contextlib.contextmanager
def running_nginx(folder: Path, upstream_port: int, nginx: str = "nginx") -> Iterator[str]:
    """Run nginx with veogen.conf in front of 127.0.0.1:``upstream_port``, once ``nginx -t`` passes; yield its URL."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "veogen.conf").write_text(nginx_site_config(port, upstream_port))
    (folder / "nginx.conf").write_text(nginx_main_config(folder))
    args = [nginx, "-e", str(folder / "error.log"), "-p", str(folder), "-c", str(folder / "nginx.conf")]
    checked = subprocess.run([*args, "-t"], capture_output=True, text=True)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t refused the config:\n{checked.stderr}")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/nginx-health", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start:\n{(folder / 'error.log').read_text(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def admin_login_cookie(data: Path) -> str:
    """A login cookie for the throwaway studio's admin, issued by its services (what the login form stores)."""
    from core.config import Settings
    from core.studio import build_studio

    studio = build_studio(Settings(_env_file=None, data_dir=data))  # type: ignore[call-arg]
    try:
        return studio.accounts.issue_cookie("admin")[0]
    finally:
        studio.engine.dispose()


@contextlib.contextmanager
def started_server(app: str, extra: list[str], folder: Path) -> Iterator[tuple[str, int]]:
    """Start the app's Streamlit server on a free loopback port, its files in ``folder``; yield (url, pid)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VEOGEN_", "DATABASE_URL", "REDIS_URL"))}
    flags = ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true", *extra]
    log = folder / f"{app}.log"
    with contextlib.ExitStack() as stack:
        if app in STUDIO_SCRIPTS:
            from core.embedded import start_redis

            data = folder / "data"
            env.update(VEOGEN_DATA_DIR=str(data), VEOGEN_ADMIN_PASSWORD=ADMIN_PASSWORD)
            redis_proc, env["REDIS_URL"] = start_redis(data / "redis")
            stack.callback(stop, redis_proc)
            init = [sys.executable, "-m", "core.cli", "init"]
            subprocess.run(init, cwd=ROOT, env=env, check=True, capture_output=True)
            command, cwd = [sys.executable, "-m", "streamlit", "run", STUDIO_SCRIPTS[app], *flags], ROOT
        else:
            # From a scratch folder: no project .streamlit/config.toml, Streamlit's defaults.
            cwd = folder / "minimal"
            cwd.mkdir()
            command = [sys.executable, "-m", "streamlit", "run", str(MINIMAL_APP), *flags]
        with log.open("wb") as out:
            proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=out)
        stack.callback(stop, proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{app} did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.5)
        yield url, proc.pid


def measure(
    url: str,
    pid: int | None,
    *,
    app: str,
    files: int,
    mb: int,
    wait: float,
    login_cookie: str | None = None,
    metrics_url: str | None = None,
) -> Report:
    """``metrics_url``: where Streamlit's metrics are read when ``url`` does not serve them (the compose
    nginx answers /_stcore/metrics with 404)."""
    report = Report(app=app, files=files, mb=mb, wait_seconds=wait)
    visitor = Visitor(url, login_cookie=login_cookie)
    metrics = requests.Session()

    def read(label: str) -> None:
        time.sleep(SETTLE_SECONDS)
        rss = rss_mb(pid) if pid else None
        report.readings.append(Reading(label, rss, held_upload_mb(metrics, metrics_url or url)))

    with visitor.page() as session_id:
        read("before: page open, nothing uploaded")
        payload = os.urandom(mb * 2**20)
        statuses = Counter(visitor.upload(session_id, payload) for _ in range(files))
        report.statuses = {str(code): n for code, n in sorted(statuses.items())}
        read(f"after {files} uploads of {mb} MB, page still open")
    read("page closed (WebSocket gone)")
    time.sleep(wait)
    read(f"{wait:g} s after the page closed, nobody else came")
    with Visitor(url).page():  # its disconnect writes to the session store, which drops expired entries
        pass
    read("then another visitor opened a page and closed it")
    return report


def render(report: Report) -> str:
    lines = [
        f"app: {report.app}; {report.files} uploads of {report.mb} MB; "
        f"answers: {', '.join(f'{n}x HTTP {code}' for code, n in report.statuses.items())}",
        f"{'step':<70} {'RSS MB':>8} {'held by Streamlit MB':>21}",
    ]
    for r in report.readings:
        rss = f"{r.rss_mb:.0f}" if r.rss_mb is not None else "-"
        held = f"{r.held_mb:.0f}" if r.held_mb is not None else "-"
        lines.append(f"{r.label:<70} {rss:>8} {held:>21}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app", choices=[*STUDIO_SCRIPTS, "minimal"], default="studio")
    parser.add_argument("--login", action="store_true", help="upload as the logged-in admin (studio apps only)")
    parser.add_argument("--url", help="measure a running server instead of starting one")
    parser.add_argument("--pid", type=int, help="with --url: the web process whose memory to read")
    parser.add_argument("--nginx", action="store_true", help="put the compose nginx config in front (real nginx)")
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--mb", type=int, default=24, help="size of each upload, in MB")
    parser.add_argument("--wait", type=float, default=150.0, help="seconds to wait after the page closed")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("streamlit_options", nargs="*", help="after --: extra `streamlit run` options")
    args = parser.parse_args(argv)

    if args.url:
        report = measure(args.url, args.pid, app=args.url, files=args.files, mb=args.mb, wait=args.wait)
    else:
        with tempfile.TemporaryDirectory(prefix="veogen-upload-bench-") as tmp, contextlib.ExitStack() as stack:
            url, pid = stack.enter_context(started_server(args.app, args.streamlit_options, Path(tmp)))
            direct = url
            label = " ".join([args.app, *args.streamlit_options])
            cookie = None
            if args.login:
                if args.app not in STUDIO_SCRIPTS:
                    parser.error("--login needs a studio app")
                cookie, label = admin_login_cookie(Path(tmp) / "data"), label + ", logged in"
            if args.nginx:
                url = stack.enter_context(running_nginx(Path(tmp) / "nginx", int(url.rsplit(":", 1)[1])))
                label += " behind the compose nginx"
            report = measure(
                url,
                pid,
                app=label,
                files=args.files,
                mb=args.mb,
                wait=args.wait,
                login_cookie=cookie,
                metrics_url=direct,
            )
    if args.json:
        out: dict[str, Any] = {**report.__dict__, "readings": [r.__dict__ for r in report.readings]}
        print(json.dumps(out, indent=2))
    else:
        print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
