"""Helpers for the stand-in's tests: a tiny webhook receiver, delivery verification, test images and clients."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from google import genai
from google.genai import types
from PIL import Image

import standin

ONE_POST = types.HttpRetryOptions(attempts=1, http_status_codes=[599])
"""What part 2 §2.7 says makes ``interactions``/``webhooks`` send exactly one POST."""
FAST_RETRIES = types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.02)
"""Retries like the default client's (three, on 408/409/429/5xx) without its seconds of backoff."""


def gemini_client(server: standin.VeoStandIn, retry: types.HttpRetryOptions | None = None) -> genai.Client:
    options = types.HttpOptions(base_url=server.url, retry_options=retry)
    return genai.Client(api_key="test-key", http_options=options)


def png(colour: str = "red", size: tuple[int, int] = (64, 36)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def verify(secrets: list[str], headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Check a delivery with the ``standardwebhooks`` package if installed, else with standin's own check."""
    try:
        from standardwebhooks import Webhook  # type: ignore[import-not-found]
    except ImportError:
        standin.verify(secrets, headers, body)
        return json.loads(body)
    errors = []
    for secret in secrets:
        try:
            return Webhook(secret).verify(body, headers)
        except Exception as exc:  # each secret that does not match raises
            errors.append(exc)
    raise AssertionError(f"no secret verifies the delivery: {errors}")


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    received: float
    """Unix time."""

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local webhook endpoint: records every POST and answers ``statuses`` in turn (then the last one)."""

    url: str = ""
    statuses: list[int] = field(default_factory=lambda: [204])
    deliveries: list[Delivery] = field(default_factory=list)
    seen_ids: set[str] = field(default_factory=set)
    secrets: list[str] | None = None
    """When set, the receiver verifies like a real one: 400 on a bad or stale signature, 200 on a replay."""

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        self.deliveries.append(Delivery(headers, body, time.time()))
        if self.secrets is not None:
            try:
                standin.verify(self.secrets, headers, body)
            except standin.WebhookVerificationError:
                return 400
            if headers["webhook-id"] in self.seen_ids:
                return 200
            self.seen_ids.add(headers["webhook-id"])
        return self.statuses[min(len(self.deliveries), len(self.statuses)) - 1]

    def wait(self, count: int = 1, timeout: float = 5.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count:
            assert time.monotonic() < deadline, f"only {len(self.deliveries)} of {count} deliveries arrived"
            time.sleep(0.01)
        return self.deliveries


@contextmanager
def receiving(statuses: list[int] | None = None) -> Iterator[Receiver]:
    receiver = Receiver(statuses=statuses or [204])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = receiver.answer({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def probe_seconds(data: bytes, tmp_path: Path, name: str = "v.mp4") -> float:
    from core.media import probe_video

    (tmp_path / name).write_bytes(data)
    return probe_video(tmp_path / name).duration_seconds
