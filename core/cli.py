"""The ``veogen`` command: ``up``, ``db upgrade``, ``user …``, ``worker``, ``scheduler``, ``exporter``, ``dashboard``,
``webhooks …``, ``api``, and the API's client: ``generate``, ``batch``.

``veogen up`` is the embedded default in one command: bundled Redis (unless
REDIS_URL is set), migrations, the first admin, workers, the scheduler, the
exporter, the webhook receiver, the REST API and Streamlit; Ctrl-C stops every
process it started. Worker and scheduler code is started as ``python -m workers.…``
and the API is handed to Uvicorn by its import string (``api.app:app``), as the
client's commands are registered (``api.commands``), so this module never imports either.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import NoReturn

from core.config import get_settings
from core.db import upgrade_database
from core.errors import REFUSED_CONFIGURATION_EXIT, VeoGenError

ROOT = Path(__file__).resolve().parent.parent

CONFIG_ERROR = REFUSED_CONFIGURATION_EXIT
"""Exit code of a command that refused its configuration (``veogen up`` does not restart such a child)."""


def _db_upgrade(_args: argparse.Namespace) -> int:
    url = get_settings().resolved_database_url()
    upgrade_database(url)
    print("database is up to date")
    return 0


def _init(_args: argparse.Namespace) -> int:
    """Migrate, and create the first admin when there is none (password printed once)."""
    from core.studio import build_studio

    settings = get_settings()
    settings.check_secrets()  # before anything is written
    settings.prepare_data_dir()
    upgrade_database(settings.resolved_database_url())
    password = build_studio(settings).accounts.ensure_admin(settings.admin_password)
    if password and not settings.admin_password:
        print(
            f"\n  First start: created user 'admin' with password  {password}\n"
            "  (shown once; keep it somewhere safe)\n",
            flush=True,
        )
    elif password:
        print("created user 'admin' with VEOGEN_ADMIN_PASSWORD", flush=True)
    return 0


def _worker_alive(_args: argparse.Namespace) -> int:
    """Exit 0 when a worker on this host has refreshed its alive key (container healthcheck)."""
    import socket

    from core.queue import WORKER_ALIVE_KEY, connect

    conn = connect(get_settings().resolved_redis_url())
    pattern = WORKER_ALIVE_KEY.format(name=f"veogen-{socket.gethostname()}-*")
    return 0 if any(True for _ in conn.scan_iter(match=pattern, count=100)) else 1


def _exec_module(module: str) -> NoReturn:
    os.execv(sys.executable, [sys.executable, "-m", module])


def _worker(args: argparse.Namespace) -> int:
    if args.alive:
        return _worker_alive(args)
    return _exec_module("workers.main")


def _scheduler(_args: argparse.Namespace) -> int:
    return _exec_module("workers.scheduler")


def _exporter(args: argparse.Namespace) -> int:
    """Serve the studio's gauges (database and Redis read at each scrape) until SIGTERM/SIGINT."""
    from core.exporter import serve
    from core.logs import configure_logging
    from core.studio import build_studio

    settings = get_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, process="exporter")
    host = args.host or settings.metrics_host
    port = args.port or settings.exporter_port
    try:
        serve(build_studio(settings), host, port)
    except OSError as exc:
        print(f"error: the exporter cannot listen on {host}:{port} ({exc}); set VEOGEN_EXPORTER_PORT", file=sys.stderr)
        return CONFIG_ERROR
    print(f"exporter on http://{host}:{port}/metrics", flush=True)
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda sig, _frame: stopping.append(sig))
    signal.signal(signal.SIGINT, lambda sig, _frame: stopping.append(sig))
    while not stopping:
        time.sleep(0.5)
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    """Serve rq-dashboard with basic auth (loopback unless --host says otherwise)."""
    from core.dashboard import serve
    from core.logs import configure_logging

    settings = get_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, process="dashboard")
    host = args.host or settings.dashboard_host
    port = args.port or settings.dashboard_port
    password = settings.resolved_dashboard_password()
    shown = password if not settings.dashboard_password else "VEOGEN_DASHBOARD_PASSWORD"
    print(f"rq-dashboard on http://{host}:{port}  user {settings.dashboard_username!r}, password {shown}", flush=True)
    serve(settings, host, port)
    return 0


CLIENT_COMMANDS = "api.commands"
"""Where ``veogen generate`` and ``veogen batch`` (the API's client) live, imported by name (core never imports api)."""

API_APP = "api.app:app"
"""The REST API's app as Uvicorn imports it (core never imports ``api`` itself)."""


def _api(args: argparse.Namespace) -> int:
    """Serve the REST API with Uvicorn until SIGTERM/SIGINT."""
    import uvicorn

    from core.webhook_receiver import bind

    settings = get_settings()
    settings.check_secrets()  # one plain line, before Uvicorn imports the app
    host = args.host or settings.api_host
    port = args.port or settings.api_port
    try:
        sock = bind(host, port)
    except OSError as exc:
        print(f"error: the API cannot listen on {host}:{port} ({exc}); set VEOGEN_API_PORT", file=sys.stderr)
        return CONFIG_ERROR
    if str(ROOT) not in sys.path:  # a checkout run without installing: `api` sits beside `core`
        sys.path.insert(0, str(ROOT))
    processes = args.processes or settings.api_processes
    if processes < 1:
        print("error: --processes must be 1 or more", file=sys.stderr)
        return CONFIG_ERROR
    print(f"REST API on http://{host}:{port}/v1 (docs at /docs), {processes} process(es)", flush=True)
    config = uvicorn.Config(
        API_APP,
        log_level=settings.log_level.lower(),
        access_log=False,
        server_header=False,
        # X-Forwarded-For/-Proto count from VEOGEN_TRUSTED_PROXIES only (the links MCP's fetch gives say https
        # behind a TLS proxy); from anyone else they are ignored.
        proxy_headers=bool(settings.trusted_proxy_networks()),
        forwarded_allow_ips=[str(network) for network in settings.trusted_proxy_networks()],
        timeout_keep_alive=5,
        lifespan="off",
        root_path=settings.api_root_path,  # behind a proxy that strips it (nginx's /api/ in the compose file)
        workers=processes,
        callback_notify=partial(_stop_when_orphaned, os.getpid()),
        timeout_notify=1,
    )
    if processes > 1:  # Uvicorn's supervisor: children share the socket, a dead one is replaced, SIGTERM stops all
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[sock]).run()
        return 0
    for stop in (signal.SIGTERM, signal.SIGINT):  # also what Uvicorn re-raises after its graceful stop
        signal.signal(stop, _exit_quietly)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


async def _stop_when_orphaned(parent: int) -> None:
    """Run each second in every Uvicorn process: one whose ``veogen api`` parent died (SIGKILL, OOM) stops
    gracefully instead of serving on, unsupervised, from a socket nobody can bind again."""
    if os.getppid() != parent and os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def _exit_quietly(_signum: int, _frame: object) -> NoReturn:
    raise SystemExit(0)


class _Supervisor:
    """Start child processes, restart workers that die, stop them all on a signal."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, list[str]] = {}
        self.stopping = False

    def spawn(self, name: str, command: list[str]) -> None:
        self.commands[name] = command
        self.children[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, start_new_session=True)

    def stop(self, *_args: object) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)
        code = 0
        while not self.stopping:
            for name, proc in list(self.children.items()):
                ret = proc.poll()
                if ret is None:
                    continue
                if name == "web":
                    print(f"streamlit exited ({ret}); stopping", flush=True)
                    self.stopping, code = True, ret or 0
                    break
                if ret == CONFIG_ERROR:
                    print(f"{name} refused its configuration; not restarting it", flush=True)
                    del self.children[name]
                    continue
                print(f"{name} exited ({ret}); restarting it", flush=True)
                self.spawn(name, self.commands[name])
            time.sleep(0.5)
        self.shutdown()
        return code

    def shutdown(self) -> None:
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _up(args: argparse.Namespace) -> int:
    settings = get_settings()
    settings.check_secrets()  # before any process starts
    settings.prepare_data_dir()
    os.umask(0o077)  # what this studio and its children write is theirs alone
    env = dict(os.environ)
    redis_proc = None
    if not settings.redis_url:
        from core.embedded import start_redis

        redis_proc, url = start_redis(settings.data_dir / "redis")
        env["REDIS_URL"] = url
        print(f"bundled redis-server on {url}", flush=True)
    try:
        _init(args)
        sup = _Supervisor(env)
        py = sys.executable
        for n in range(args.workers or settings.workers):
            sup.spawn(f"worker-{n + 1}", [py, "-m", "workers.main"])
        sup.spawn("scheduler", [py, "-m", "workers.scheduler"])
        sup.spawn("exporter", [py, "-m", "core.cli", "exporter"])
        sup.spawn("webhooks", [py, "-m", "core.cli", "webhooks", "serve"])
        sup.spawn("api", [py, "-m", "core.cli", "api"])
        web = [py, "-m", "streamlit", "run", str(ROOT / "web.py")]
        if settings.env == "production":  # no traceback in the browser, even before the app's first line
            web.append("--client.showErrorDetails=none")
        sup.spawn("web", web)
        return sup.run()
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="veogen", description="VeoGen: a self-hosted studio for AI video.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start everything on this machine (the embedded default)")
    up.add_argument("--workers", type=int, default=0, help="worker processes (default: VEOGEN_WORKERS)")
    up.set_defaults(func=_up)
    db = sub.add_parser("db", help="database tasks").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="run migrations").set_defaults(func=_db_upgrade)
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    from core.cli_users import register_commands

    register_commands(user)
    sub.add_parser("init", help="migrate and create the first admin").set_defaults(func=_init)
    worker = sub.add_parser("worker", help="run one RQ worker")
    worker.add_argument("--alive", action="store_true", help="only check that a worker on this host is alive")
    worker.set_defaults(func=_worker)
    sub.add_parser("scheduler", help="run the scheduler and reconciler").set_defaults(func=_scheduler)
    exporter = sub.add_parser("exporter", help="serve Prometheus gauges read from the database and Redis")
    exporter.add_argument("--host", default="", help="address to listen on (default: VEOGEN_METRICS_HOST)")
    exporter.add_argument("--port", type=int, default=0, help="port (default: VEOGEN_EXPORTER_PORT)")
    exporter.set_defaults(func=_exporter)
    dashboard = sub.add_parser("dashboard", help="serve rq-dashboard with basic auth")
    dashboard.add_argument("--host", default="", help="address to listen on (default: VEOGEN_DASHBOARD_HOST)")
    dashboard.add_argument("--port", type=int, default=0, help="port (default: VEOGEN_DASHBOARD_PORT)")
    dashboard.set_defaults(func=_dashboard)
    api = sub.add_parser("api", help="serve the REST API (/v1, OpenAPI docs at /docs)")
    api.add_argument("--host", default="", help="address to listen on (default: VEOGEN_API_HOST)")
    api.add_argument("--port", type=int, default=0, help="port (default: VEOGEN_API_PORT)")
    api.add_argument("--processes", type=int, default=0, help="Uvicorn processes (default: VEOGEN_API_PROCESSES)")
    api.set_defaults(func=_api)
    from core.cli_webhooks import register_commands as register_webhook_commands

    register_webhook_commands(sub)
    if str(ROOT) not in sys.path:  # a checkout run without installing: `api` sits beside `core`
        sys.path.insert(0, str(ROOT))
    import_module(CLIENT_COMMANDS).register_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (VeoGenError, RuntimeError) as exc:  # a refused configuration, or the bundled Redis not starting
        print(f"error: {exc}", file=sys.stderr)
        return CONFIG_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
