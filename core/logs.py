"""Logging for every process: text for a terminal, or one JSON object per line (``VEOGEN_LOG_FORMAT=json``).

A JSON line carries ``ts``, ``level``, ``logger``, ``message`` and ``process``
(web, worker, scheduler, exporter, dashboard), and, when it is about a generation,
``generation_id``, ``status`` and ``event`` — Promtail ships these to Loki
as they are. Imports python-json-logger only.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

EVENTS_LOGGER = "veogen.events"
"""Logger of the one line per generation event (status changes, retries, reconciles)."""

TEXT_FORMAT = "%(asctime)s %(process_name)s %(name)s %(levelname)s %(message)s"

_HANDLER_NAME = "veogen"


class _ProcessName(logging.Filter):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.process_name = name

    def filter(self, record: logging.LogRecord) -> bool:
        record.process_name = self.process_name
        return True


def make_formatter(fmt: str, process: str) -> logging.Formatter:
    """The formatter for ``fmt`` (``text`` or ``json``)."""
    if fmt == "json":
        return JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
            static_fields={"process": process},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(*, level: str, fmt: str, process: str) -> None:
    """Send every log line of this process to stderr in ``fmt``; calling it again replaces the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(_ProcessName(process))
    handler.setFormatter(make_formatter(fmt, process))
    root.addHandler(handler)
    root.setLevel(level.upper())


def log_event(
    generation_id: str, event: str, message: str, *, status: str | None = None, level: int = logging.INFO
) -> None:
    """Write the one log line of a generation event, with its id (and status) as fields."""
    extra = {"generation_id": generation_id, "event": event}
    if status:
        extra["status"] = status
    logging.getLogger(EVENTS_LOGGER).log(level, "generation %s: %s", generation_id, message, extra=extra)
