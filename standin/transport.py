"""The stand-in's HTTP/1.1 server: a threading ``http.server`` that hands each request to
:meth:`standin.server.VeoStandIn.handle` and writes its :class:`~standin.protocol.Reply` (JSON, bytes or a file).

Standard library only.
"""

from __future__ import annotations

import json
import logging
import shutil
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from standin.protocol import FAULT_MESSAGES, Fail, Reply

if TYPE_CHECKING:
    from standin.server import VeoStandIn

log = logging.getLogger("standin")

MAX_BODY_BYTES = 64 * 1024 * 1024
"""Largest request body accepted, in bytes."""
IDLE_CONNECTION_SECONDS = 120
"""A keep-alive connection idle this long is closed, freeing its thread."""


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up stop()
    standin: VeoStandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "VeoGenStandIn/1"
    timeout = IDLE_CONNECTION_SECONDS
    disable_nagle_algorithm = True  # else headers and body leave as two segments and delayed ACKs cost 40 ms a call
    server: Server

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self, method: str) -> None:
        try:
            raw = self._read_body()
            reply = self.server.standin.handle(method, self.path, self.headers, raw)
        except Fail as fail:
            reply = Reply(status=fail.code, body=fail.envelope())
        except Exception:
            log.exception("stand-in failed on %s %s", method, self.path)
            reply = Reply(status=500, body=Fail(500, FAULT_MESSAGES[500]).envelope())
        self._send(reply)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise Fail(413, f"Request body is larger than {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, reply: Reply) -> None:
        body = json.dumps(reply.body).encode() if isinstance(reply.body, dict) else reply.body
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(body.stat().st_size if isinstance(body, Path) else len(body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if isinstance(body, Path):
            with body.open("rb") as stream:
                shutil.copyfileobj(stream, self.wfile, 1 << 20)
        else:
            self.wfile.write(body)
