"""The webhook receiver: a small Starlette app on Uvicorn that takes Google's deliveries.

``POST /webhooks/google`` reads the raw body (at most ``MAX_BODY_BYTES``;
413 above), hands it with the headers to ``Webhooks.receive`` in a thread and
answers within ``ANSWER_WITHIN_SECONDS``: 204 for an event taken (accepted, a
duplicate, or a genuine event of a type VeoGen ignores), 400 for a forged,
stale or malformed one, 503 when it cannot judge now (no secret stored yet,
Redis or the database not answering) so that Google delivers again. No
provider is called in the request: the work is queued. ``GET /healthz``
answers 200 while the process runs.

Served by ``veogen webhooks serve`` (``veogen up`` starts it) on
VEOGEN_WEBHOOK_HOST:VEOGEN_WEBHOOK_PORT, loopback by default: Google reaches it
through an HTTPS reverse proxy. While it runs it refreshes a short-lived alive
key in Redis (``Webhooks.healthy`` needs it). Imports no UI or worker code.
"""

from __future__ import annotations

import logging
import socket
import threading

import anyio
import anyio.to_thread
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.webhook_events import Outcome
from core.webhooks import RECEIVER_ALIVE_TTL_SECONDS, Webhooks

log = logging.getLogger("veogen.webhooks")

PATH = "/webhooks/google"
"""Where Google delivers (register ``https://<your host>/webhooks/google``)."""

MAX_BODY_BYTES = 64 * 1024
"""Largest body read, in bytes; Google's envelopes are thin (ids and a URI), so more is not a delivery."""

ANSWER_WITHIN_SECONDS = 1.0
"""The receiver answers within this, in seconds; a judgement still running then gets 503 (Google retries)."""

STATUS = {
    Outcome.ACCEPTED: 204,
    Outcome.DUPLICATE: 204,
    Outcome.UNKNOWN_TYPE: 204,
    Outcome.FORGED: 400,
    Outcome.STALE: 400,
    Outcome.MALFORMED: 400,
    Outcome.NO_SECRET: 503,
}
"""The HTTP answer to each outcome."""

MAX_CONCURRENT = 64
"""Requests handled at once; more get 503 from Uvicorn."""


def build_app(webhooks: Webhooks) -> Starlette:
    """The receiver's ASGI app, judging deliveries with ``webhooks``."""

    async def judge(headers: dict[str, str], body: bytes) -> Response:
        try:
            with anyio.fail_after(ANSWER_WITHIN_SECONDS):
                outcome = await anyio.to_thread.run_sync(webhooks.receive, headers, body, abandon_on_cancel=True)
        except TimeoutError:
            log.warning("a webhook delivery took longer than %.1f s to judge; answered 503", ANSWER_WITHIN_SECONDS)
            return Response(status_code=503)
        except Exception:
            log.exception("a webhook delivery could not be judged; answered 503")
            return Response(status_code=503)
        return Response(status_code=STATUS.get(outcome, 400))

    async def receive(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return await _too_large(webhooks)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return await _too_large(webhooks)
        return await judge(dict(request.headers), bytes(body))

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route(PATH, receive, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])])


async def _too_large(webhooks: Webhooks) -> Response:
    try:
        with anyio.fail_after(ANSWER_WITHIN_SECONDS):
            await anyio.to_thread.run_sync(webhooks.count, Outcome.MALFORMED, abandon_on_cancel=True)
    except Exception:  # counting is best effort; the answer is the same
        log.warning("could not count an oversized webhook delivery")
    return Response(status_code=413)


def bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket (an OSError here means the port is taken or the address is wrong)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve(webhooks: Webhooks, sock: socket.socket, *, log_level: str = "warning") -> None:
    """Serve the receiver on ``sock`` until SIGTERM/SIGINT, keeping its alive key fresh meanwhile."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            try:
                webhooks.mark_receiver_alive()
            except Exception:  # Redis briefly away: the next beat tries again
                log.warning("could not refresh the webhook receiver's alive key")
            stop.wait(RECEIVER_ALIVE_TTL_SECONDS / 3)

    thread = threading.Thread(target=beat, name="webhook-receiver-alive", daemon=True)
    thread.start()
    config = uvicorn.Config(
        build_app(webhooks),
        log_level=log_level.lower(),
        access_log=False,
        server_header=False,
        proxy_headers=False,
        limit_concurrency=MAX_CONCURRENT,
        timeout_keep_alive=5,
        lifespan="off",
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        stop.set()
        thread.join(timeout=2)
