"""Downloads with byte ranges and validators (RFC 9110 §13–14): one range, ``ETag``, ``If-None-Match``, ``If-Range``.

``download(request, media, disposition=...)`` answers 200 with the
whole file, 206 with the one range asked for (``Content-Range``), 304 when the
client already holds this ``ETag``, or a 416 problem for a range past the end;
a HEAD request gets the same status and headers and no body (nothing is read).
A local file is streamed in chunks from a worker thread, never read whole; bytes
from object storage are sliced. A Range header that is not one well-formed
``bytes`` range (another unit, several ranges, last before first) is ignored and
the whole file sent, as RFC 9110 allows.

Starlette's ``FileResponse`` (1.10) reads ranges too, but only for a path, answers
a bad range with a bare 400 and an unsatisfiable one in plain text, and makes its
ETag from the file's time and size; here a download may be bytes from object
storage, its ETag is the video's SHA-256, and every error is a problem document,
so this one small reader serves both. Imports ``core`` and Starlette only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.problems import Problem, documented
from core.storage import StoredFile

CHUNK_BYTES = 256 * 1024
"""How much of a file is read and sent at a time, in bytes."""


class Unsatisfiable(Exception):
    """The range asked for lies outside the file."""


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range ``header`` asks for, as (first, last) byte inclusive and clipped to ``size``; None for all.

    Raises :class:`Unsatisfiable` for a range that starts at or past the end,
    a suffix of no bytes, or any range of an empty file.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    first_text, dash, last_text = spec.strip().partition("-")
    first, last = _number(first_text.strip()), _number(last_text.strip())
    if unit.strip().lower() != "bytes" or "," in spec or not dash:
        return None
    if first is None:  # a suffix: the last N bytes
        if last is None or first_text.strip():
            return None
        if last == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - last), size - 1
    if last_text.strip() and (last is None or last < first):
        return None
    if first >= size:
        raise Unsatisfiable
    return first, size - 1 if last is None else min(last, size - 1)


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weakly compared, RFC 9110 §13.1.2) or is ``*``."""
    if not header:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def _chunks(path: Path, first: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        fh.seek(first)
        while length > 0:
            chunk = fh.read(min(CHUNK_BYTES, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def answers(media_type: str, what: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answers of a download route serving ``what`` as ``media_type``."""
    schema = {"type": "string", "format": "binary"}
    return {
        200: {"description": f"The whole {what}.", "content": {media_type: {"schema": schema}}},
        206: {"description": f"The part of the {what} the Range header asked for.", "content": {media_type: {}}},
        304: {"description": "Unchanged: the ETag sent in If-None-Match is this file's."},
        **documented(401, 403, 404, 416, 422, 503),
    }


def download(request: Request, media: StoredFile, *, disposition: str) -> Response:
    """Answer a GET or HEAD of ``media``: all of it, the range asked for, 304, or a 416 problem."""
    etag = media.etag
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'{disposition}; filename="{media.name}"',
        "Cache-Control": "private, no-cache",  # behind a token: kept by the client only, checked each time
        "ETag": etag,
    }
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    if_range = request.headers.get("if-range")
    asked = request.headers.get("range") if if_range is None or if_range.strip() == etag else None
    try:
        span = byte_range(asked, media.size)
    except Unsatisfiable:
        raise Problem(
            416,
            "range-not-satisfiable",
            "Range not satisfiable",
            f"This {media.kind} is {media.size:,} bytes long; the range asked for is not within it.",
            headers={"Content-Range": f"bytes */{media.size}"},
        ) from None
    first, last = span or (0, media.size - 1)
    length = last - first + 1
    headers["Content-Length"] = str(length)
    if span is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{media.size}"
    status = 206 if span is not None else 200
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media.media_type)
    if media.path is not None:
        return StreamingResponse(
            _chunks(media.path, first, length), status_code=status, headers=headers, media_type=media.media_type
        )
    assert media.data is not None
    part = media.data[first : first + length]
    return Response(part, status_code=status, headers=headers, media_type=media.media_type)
