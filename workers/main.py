"""Worker entry (``veogen worker``): an RQ SimpleWorker with heavy libraries preloaded.

Jobs are short, so they run in this process (no fork per job): the process stays
warm, its metrics live here (served on the first free port from
``VEOGEN_WORKER_METRICS_PORT``), and a SIGKILL loses at most one step, which the
reconciler re-enqueues. A daemon thread keeps a short-lived "alive" key in
Redis so the reconciler can tell a dead worker's ``started`` job from a live one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

import av  # noqa: F401  (preloaded: the first job should not pay for the import)
import numpy  # noqa: F401
import PIL.Image  # noqa: F401
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from core import metrics
from core.config import settings_or_exit
from core.logs import configure_logging
from core.queue import WORKER_ALIVE_KEY, WORKER_ALIVE_TTL_SECONDS, JobQueue
from core.studio import build_studio
from workers import tasks  # noqa: F401  (import the job module once, up front)

log = logging.getLogger("veogen.worker")


def _keep_alive(queue: JobQueue, name: str, stop: threading.Event) -> None:
    key = WORKER_ALIVE_KEY.format(name=name)
    while not stop.is_set():
        try:
            queue.connection.set(key, os.getpid(), ex=WORKER_ALIVE_TTL_SECONDS)
        except Exception:  # Redis briefly away: the next beat tries again
            log.warning("could not refresh %s", key)
        stop.wait(WORKER_ALIVE_TTL_SECONDS / 3)
    queue.connection.delete(key)


def main(burst: bool = False) -> None:
    """Run one worker until SIGTERM/SIGINT (or until the queue is empty with ``burst``)."""
    settings = settings_or_exit()
    configure_logging(level=settings.log_level, fmt=settings.log_format, process="worker")
    metrics.serve(settings.metrics_host, metrics.worker_ports(settings.worker_metrics_port))
    studio = build_studio(settings)
    queue = studio.queue
    name = f"veogen-{socket.gethostname()}-{os.getpid()}"
    stop = threading.Event()
    beat = threading.Thread(target=_keep_alive, args=(queue, name, stop), daemon=True)
    beat.start()
    worker = SimpleWorker([queue.queue], connection=queue.connection, serializer=JSONSerializer, name=name)
    try:
        worker.work(burst=burst, with_scheduler=False, logging_level=settings.log_level)
    finally:
        stop.set()
        beat.join(timeout=2)


if __name__ == "__main__":
    main(burst=os.environ.get("VEOGEN_WORKER_BURST") == "1")
