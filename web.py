"""The web process's launcher: the studio (``streamlit_app.py``) served by Streamlit with VeoGen's middleware.

Start it with ``streamlit run web.py`` (``veogen up``, docker-compose and the image do); Streamlit's
settings and flags apply as for ``streamlit run streamlit_app.py``, which still runs the studio but
without what this file adds, on every HTTP answer and before Streamlit sees the request:

- ``FramingHeaders``: ``Content-Security-Policy: frame-ancestors 'self'`` and ``X-Frame-Options:
  SAMEORIGIN``, so no other site can frame the studio (Streamlit has no setting for response
  headers). The compose nginx sends the same two.
- ``UploadGuard``: Streamlit keeps every file PUT to ``/_stcore/upload_file/<session>/<file>`` in
  this process's memory for any live page session, and the login page opens one for anyone. An
  upload is refused (401) unless the request carries a login cookie that the studio signed, that
  has not expired and whose session still counts (the user enabled, nothing revoked since it was
  issued): ``studio.accounts.read_cookie`` and ``session_user``, as the pages restore a session.
  A logged-in page session holds at most ``SESSION_UPLOAD_BYTES`` of uploads (413 beyond).

Imports streamlit, starlette and ``core``/``pages._ui`` (for the studio the pages share).
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse

from core.catalog import MAX_REFERENCE_IMAGES
from core.images import MAX_IMAGE_BYTES

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from core.studio import Studio

FRAMING_HEADERS = {"Content-Security-Policy": "frame-ancestors 'self'", "X-Frame-Options": "SAMEORIGIN"}
"""Sent on every HTTP answer: only the studio's own pages may frame it (clickjacking)."""

UPLOAD_PATH = re.compile(r"/_stcore/upload_file/([^/]*)")
"""Streamlit's upload endpoint, after any ``server.baseUrlPath``; group 1 is the page session's id.
Searched anywhere in the path, so no spelling of it (doubled slashes, a base path) gets past."""

FREE_METHODS = frozenset({"OPTIONS", "DELETE"})
"""Methods on the upload path that store nothing: a CORS preflight, removing a file."""

UPLOAD_REQUEST_BYTES = MAX_IMAGE_BYTES + 2**20
"""The largest upload request the studio expects, in bytes: one image and its multipart framing
(``server.maxUploadSize = 21`` MiB in .streamlit/config.toml)."""

SESSION_UPLOAD_BYTES = (2 + MAX_REFERENCE_IMAGES + 1) * UPLOAD_REQUEST_BYTES
"""Bytes of uploads one page session may hold (126 MiB): every uploader of the Create page filled with the
largest image (a first and a last frame, three references) and one more for a pick being replaced.
Streamlit frees a file when the browser removes it, and all of a session's when the session ends."""

LOGIN_REQUIRED = "Log in to upload files."
SESSION_FULL = "This page holds as many uploads as it may; remove a file or reload the page."


class FramingHeaders:
    """Add ``FRAMING_HEADERS`` to every HTTP answer (errors and Streamlit's own included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in FRAMING_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LoginCheck:
    """Whether a request carries a login cookie whose session still counts.

    The studio is the one the pages use (``pages._ui.state.get_studio``, built once per process). It
    and the cookie's name are imported on the first upload, when Streamlit's runtime runs, and kept:
    Streamlit's file watcher may drop the project's modules from ``sys.modules`` when a source file
    changes, and importing them again would run ``core.metrics`` twice.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: tuple[Studio, str] | None = None

    def _studio_and_cookie_name(self) -> tuple[Studio, str]:
        with self._lock:
            if self._loaded is None:
                from pages._ui.auth import COOKIE_NAME
                from pages._ui.state import get_studio

                self._loaded = (get_studio(), COOKIE_NAME)
            return self._loaded

    def __call__(self, cookies: dict[str, str]) -> bool:
        """Blocking (the database is read): run it in a thread."""
        studio, cookie_name = self._studio_and_cookie_name()
        token = cookies.get(cookie_name)
        if not token:
            return False
        claims = studio.accounts.read_cookie(token)
        return claims is not None and studio.accounts.session_user(claims.username, claims.issued_at) is not None


def held_bytes(session_id: str) -> int:
    """Bytes Streamlit's upload manager holds for a page session (0 when it cannot say)."""
    from streamlit import runtime

    if not runtime.exists():
        return 0
    storage = getattr(runtime.get_instance().uploaded_file_mgr, "file_storage", None)
    files = storage.get(session_id) if isinstance(storage, dict) else None
    return sum(len(getattr(f, "data", b"")) for f in list((files or {}).values()))


def request_bytes(scope: Scope) -> int:
    """The body size the request declares, or the largest the studio expects when it declares none."""
    length = HTTPConnection(scope).headers.get("content-length", "")
    return int(length) if length.isdigit() else UPLOAD_REQUEST_BYTES


async def refuse(status: int, text: str, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer an upload with ``status`` once its body (up to one upload's worth) is read and dropped.

    Nothing is kept. Answering before the body is read would close the connection under a client
    still sending it, which then sees a reset connection instead of the answer.
    """
    received = 0
    while received <= UPLOAD_REQUEST_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return  # the client went away
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await PlainTextResponse(text, status_code=status)(scope, receive, send)


class UploadGuard:
    """Refuse uploads from anyone not logged in (401), and past ``SESSION_UPLOAD_BYTES`` per page session (413)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.logged_in = LoginCheck()
        self.in_flight: dict[str, int] = {}
        """Bytes of uploads let through and not yet answered, per page session."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = UPLOAD_PATH.search(scope.get("path", "")) if scope["type"] == "http" else None
        if found is None or scope["method"] in FREE_METHODS:
            await self.app(scope, receive, send)
            return
        if not await run_in_threadpool(self.logged_in, HTTPConnection(scope).cookies):
            await refuse(401, LOGIN_REQUIRED, scope, receive, send)
            return
        session_id, size = found.group(1), request_bytes(scope)
        # No await between the check and the reservation: concurrent uploads count each other.
        if held_bytes(session_id) + self.in_flight.get(session_id, 0) + size > SESSION_UPLOAD_BYTES:
            await refuse(413, SESSION_FULL, scope, receive, send)
            return
        self.in_flight[session_id] = self.in_flight.get(session_id, 0) + size
        try:
            await self.app(scope, receive, send)
        finally:
            left = self.in_flight.pop(session_id, 0) - size
            if left > 0:
                self.in_flight[session_id] = left


app = st.App("streamlit_app.py", middleware=[Middleware(FramingHeaders), Middleware(UploadGuard)])
