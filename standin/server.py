"""VeoStandIn: the local HTTP server that imitates Google's video APIs. It is not Google.

It wires the routes (Veo operations, Omni interactions, files, models, the text model, webhooks), the
shared :class:`~standin.state.State`, the timer that finishes jobs on time, the webhook senders and the
``/_standin`` control API. Imports the standard library and the sibling modules; never google-genai,
streamlit, pages or workers.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from standin.behaviour import Behaviour, Stats
from standin.deliveries import Webhooks
from standin.files import FileRoutes
from standin.interactions import InteractionRoutes
from standin.listing import ModelRoutes
from standin.oauth import token_route
from standin.protocol import Auth, Fail, Reply, Request, Route, bad, route
from standin.render import Renderer
from standin.state import State
from standin.text import TextRoutes
from standin.transport import Handler, Server
from standin.veo import VeoRoutes
from standin.webhooks import WebhookRoutes


class VeoStandIn:
    """Google's video APIs on ``host:port`` (port 0 picks a free one); see the package README.

    ``gcs_root`` maps Vertex ``gs://bucket/path`` outputs to ``gcs_root/bucket/path``.
    """

    def __init__(
        self,
        api_key: str = "test-key",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        gcs_root: Path | str | None = None,
        behaviour: Behaviour | None = None,
        cache_dir: Path | str | None = None,
    ) -> None:
        self.api_key = api_key
        self.host, self.port = host, port
        self.gcs_root = Path(gcs_root) if gcs_root is not None else None
        cache = Path(cache_dir) if cache_dir else Path(tempfile.mkdtemp(prefix="veo-standin-"))
        self._webhooks = Webhooks()
        self._state = State(behaviour or Behaviour(), Renderer(cache, owned=cache_dir is None), self._webhooks)
        auth = Auth(api_key)
        self._routes: list[Route] = [
            route("GET", r"/_standin/health", self._health, "_standin"),
            route("GET", r"/_standin/config", self._get_config, "_standin"),
            route("POST", r"/_standin/config", self._post_config, "_standin"),
            route("GET", r"/_standin/stats", self._get_stats, "_standin"),
            route("GET", r"/_standin/jobs", self._get_jobs, "_standin"),
            route("GET", r"/_standin/deliveries", self._get_deliveries, "_standin"),
            route("POST", r"/_standin/reset", self._post_reset, "_standin"),
            token_route(),
            *FileRoutes(self._state, auth).routes(),
            *VeoRoutes(self._state, auth, self.gcs_root).routes(),
            *TextRoutes(self._state, auth).routes(),
            *ModelRoutes(self._state, auth).routes(),
            *InteractionRoutes(self._state, auth, self.gcs_root).routes(),
            *WebhookRoutes(self._state, auth, self._webhooks).routes(),
        ]
        self._server: Server | None = None
        self._threads: list[threading.Thread] = []

    # lifecycle

    def start(self) -> VeoStandIn:
        """Serve in daemon threads (HTTP, the job timer, the webhook senders) and return self."""
        if self._server is None:
            self._state.renderer.cache_dir.mkdir(parents=True, exist_ok=True)
            self._server = Server((self.host, self.port), Handler)
            self._server.standin = self
            self.port = self._server.server_address[1]
            self._state.stopping = False
            self._threads = [
                threading.Thread(target=self._server.serve_forever, args=(0.05,), name="veo-standin", daemon=True),
                threading.Thread(target=self._state.run_settler, name="veo-standin-timer", daemon=True),
            ]
            for thread in self._threads:
                thread.start()
            self._webhooks.start()
        return self

    def stop(self) -> None:
        """Stop serving and sending, and delete the render cache if the stand-in made it."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            self._state.stop_settler()
            self._webhooks.stop()
            for thread in self._threads:
                thread.join(timeout=5)
        self._state.renderer.remove()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (for ``python -m standin``)."""
        self.start()
        try:
            while self._threads[0].is_alive():
                self._threads[0].join(0.5)
        finally:
            self.stop()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104 (a wildcard bind)
        return f"http://{host}:{self.port}"

    def __enter__(self) -> VeoStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # control

    @property
    def behaviour(self) -> Behaviour:
        """A copy of the current knobs."""
        return self._state.copy_behaviour()

    def configure(self, **changes: Any) -> Behaviour:
        """Change knobs by name (all or none); raise ValueError on an unknown name or bad value."""
        return self._state.configure(changes)

    def reset(self) -> None:
        """Forget every job, webhook, delivery and counter and restore the knobs given at construction
        (the render cache stays)."""
        self._webhooks.reset()
        self._state.reset()

    def stats(self) -> Stats:
        return self._state.stats()

    def jobs(self) -> list[dict[str, Any]]:
        """Every accepted operation and interaction, oldest first (no bytes); see the README for the keys."""
        with self._state.lock:
            self._state.settle(time.monotonic())
            return [job.summary() for job in self._state.jobs.values()]

    def finished_at(self, name: str) -> float | None:
        """Unix time the operation or interaction ``name`` (its name or id) finished, or None while it runs."""
        with self._state.lock:
            job = self._state.jobs.get(name.rpartition("/")[2])
            if job is None:
                raise KeyError(name)
            return job.finished_at

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery attempt, oldest first: webhook_id, event_type, data_id, message_id, attempt,
        status (HTTP, or None), error, result (delivered | failed | dropped | abandoned), time (unix)."""
        return self._webhooks.deliveries()

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Settle the jobs whose time has come, then wait until no webhook delivery is queued, waiting to be
        retried, or being sent; False on timeout. (Jobs still running or owing polls are not waited for.)"""
        with self._state.lock:
            self._state.settle(time.monotonic())
        return self._webhooks.wait_idle(timeout)

    # dispatch

    def handle(self, method: str, target: str, headers: Any, raw: bytes) -> Reply:
        """Route one request (called by the HTTP handler threads)."""
        parts = urlsplit(target)
        path, query = unquote(parts.path), parse_qs(parts.query)
        for entry in self._routes:
            match = entry.pattern.fullmatch(path)
            if match and entry.method == method:
                if method == "POST" and entry.name != "_standin":
                    with self._state.lock:
                        self._state.counts.posts[entry.name] += 1
                return entry.handler(Request(method, path, match.groupdict(), headers, query, raw))
        raise Fail(404, f"The requested URL {method} {path} was not found on this server (VeoGen stand-in).")

    # control over HTTP (no auth: a local test tool)

    def _health(self, request: Request) -> Reply:
        return Reply(body={"ok": True})

    def _get_config(self, request: Request) -> Reply:
        return Reply(body=self.behaviour.as_dict())

    def _post_config(self, request: Request) -> Reply:
        changes = request.json()
        if not isinstance(changes, dict):
            raise bad("POST /_standin/config takes a JSON object of settings")
        try:
            return Reply(body=self.configure(**changes).as_dict())
        except ValueError as exc:
            raise bad(str(exc)) from exc

    def _get_stats(self, request: Request) -> Reply:
        return Reply(body=self.stats().as_dict())

    def _get_jobs(self, request: Request) -> Reply:
        return Reply(body={"jobs": self.jobs()})

    def _get_deliveries(self, request: Request) -> Reply:
        return Reply(body={"deliveries": self.deliveries()})

    def _post_reset(self, request: Request) -> Reply:
        self.reset()
        return Reply(body=self.behaviour.as_dict())
