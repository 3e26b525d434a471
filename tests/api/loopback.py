"""The API served for real on a free loopback port (Uvicorn in a thread), and a thread that works its queue."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from api.app import create_app
from core.models import Generation
from core.status import Status
from core.studio import Studio
from tests.support import drive


@contextmanager
def served(studio: Studio, app: FastAPI | None = None) -> Iterator[str]:
    """Serve ``app`` (else ``create_app(studio)``) on 127.0.0.1 at a free port until the block ends; yield its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app or create_app(studio), log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def working(studio: Studio) -> Iterator[None]:
    """Run what the workers would (admission and polls, in this process) for every open generation, until the end."""
    stop = threading.Event()

    stuck: set[str] = set()  # e.g. a Veo request whose stand-in is not running: admission leaves it queued

    def work() -> None:
        while not stop.is_set():
            with studio.sessions() as session:
                ids = session.scalars(select(Generation.id).where(Generation.status == Status.QUEUED.value)).all()
            for generation_id in set(ids) - stuck:
                try:
                    drive(studio, generation_id, polls=10)
                except AssertionError:
                    stuck.add(generation_id)
            stop.wait(0.1)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
