"""A small HTTP client of the REST API for scripts and ``veogen generate``/``veogen batch`` (httpx).

It speaks only HTTP: no core service is imported, so it runs wherever the API is
reachable. Every refusal the API answers (a problem document, RFC 9457) is raised
as :class:`ApiError` carrying the problem's plain ``detail``; a studio that cannot
be reached raises :class:`Unreachable`. Prices are the API's (``POST /v1/quotes``),
never computed here.

    ClientError
     ├── ApiError      the API answered a problem (status, type slug, detail)
     └── Unreachable   no answer (connection refused, timeout) or not the API's
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

TIMEOUT_SECONDS = 30.0
"""How long one request may take before the client gives up, in seconds (downloads: between chunks)."""

PROBLEM_PREFIX = "urn:veogen:problem:"


class ClientError(Exception):
    """Why a call to the API did not give its answer."""


class ApiError(ClientError):
    """The API refused: ``status``, the problem's ``slug`` (``over-budget``, ``confirm-repeat``, …) and ``detail``."""

    def __init__(self, status: int, slug: str, detail: str, body: dict[str, Any]) -> None:
        super().__init__(detail)
        self.status, self.slug, self.detail, self.body = status, slug, detail, body


class Unreachable(ClientError):
    """The API did not answer (or something else did)."""


@dataclass(frozen=True)
class Submitted:
    """A generation the API holds: its JSON, and whether this request made it (``False``: the key's earlier one)."""

    generation: dict[str, Any]
    created: bool


class StudioClient:
    """The REST API at ``base_url`` for the owner of ``token`` (``transport``: httpx's, e.g. in tests)."""

    def __init__(self, base_url: str, token: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "veogen-cli"},
            timeout=TIMEOUT_SECONDS,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> StudioClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            answer = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise Unreachable(f"The studio's API at {self.http.base_url} did not answer ({exc}).") from None
        if answer.status_code >= 400:
            raise _problem(answer)
        return answer

    def models(self) -> list[dict[str, Any]]:
        """The models the token's owner may use now (``GET /v1/models``)."""
        models: list[dict[str, Any]] = self._send("GET", "/v1/models").json()["models"]
        return models

    def quote(self, request: dict[str, Any], images: Sequence[tuple[str, Path]] = ()) -> Decimal:
        """The price of ``request`` (``POST /v1/quotes``); its model's rules are checked, nothing is spent."""
        with _body(request, images) as body:
            return Decimal(self._send("POST", "/v1/quotes", **body).json()["price_usd"])

    def submit(
        self, request: dict[str, Any], *, idempotency_key: str, images: Sequence[tuple[str, Path]] = ()
    ) -> Submitted:
        """Submit ``request`` (``POST /v1/generations``); the same key again answers the generation it made."""
        with _body(request, images) as body:
            answer = self._send("POST", "/v1/generations", headers={"Idempotency-Key": idempotency_key}, **body)
        return Submitted(answer.json(), created=answer.status_code == 201)

    def generation(self, generation_id: str) -> dict[str, Any]:
        """One of the owner's generations (``GET /v1/generations/{id}``)."""
        found: dict[str, Any] = self._send("GET", f"/v1/generations/{generation_id}").json()
        return found

    def download(self, generation_id: str, index: int, out: Path, progress: Callable[[int, int], None]) -> int:
        """Write video ``index`` of a generation to ``out``, calling ``progress(done, total)``; the bytes written."""
        path = f"/v1/generations/{generation_id}/videos/{index}"
        partial = out.with_name(out.name + ".part")
        try:
            with self.http.stream("GET", path) as answer:
                if answer.status_code >= 400:
                    answer.read()
                    raise _problem(answer)
                total, done = int(answer.headers.get("content-length", 0)), 0
                with partial.open("wb") as sink:
                    for chunk in answer.iter_bytes():
                        sink.write(chunk)
                        done += len(chunk)
                        progress(done, total)
        except httpx.HTTPError as exc:
            partial.unlink(missing_ok=True)
            raise Unreachable(f"The download of {path} broke off ({exc}).") from None
        partial.replace(out)
        return done


def _problem(answer: httpx.Response) -> ClientError:
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "detail" not in body:
        return Unreachable(f"The API answered {answer.status_code} without a problem document; is this VeoGen's API?")
    slug = str(body.get("type", "")).removeprefix(PROBLEM_PREFIX)
    return ApiError(answer.status_code, slug, str(body["detail"]), body)


class _body:
    """The request as JSON, or as multipart (a ``request`` part and one part per image) when it has images."""

    def __init__(self, request: dict[str, Any], images: Sequence[tuple[str, Path]]) -> None:
        self.request, self.images, self.files = request, list(images), ExitStack()

    def __enter__(self) -> dict[str, Any]:
        if not self.images:
            return {"json": self.request}
        parts: list[tuple[str, Any]] = [("request", (None, json.dumps(self.request), "application/json"))]
        for role, path in self.images:
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            parts.append((role, (path.name, self.files.enter_context(path.open("rb")), kind)))
        return {"files": parts}

    def __exit__(self, *_exc: object) -> None:
        self.files.close()
