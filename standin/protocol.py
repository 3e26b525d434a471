"""Wire helpers every stand-in route shares: Google's error envelope, requests and replies, auth, ids, times, paging.

Internal to the ``standin`` package. Imports only the standard library.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import secrets
import string
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
"""google.rpc status names by HTTP status, as Google's front end pairs them."""

FAULT_MESSAGES = {
    408: "The request timed out before the server received all of it. Please try again.",
    409: "The operation was aborted because of a concurrent change. Please try again.",
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "The request timed out. Please try again.",
}
"""Messages of the injected faults other than 429 (which carries quota details instead)."""

FILE_URI = "https://generativelanguage.googleapis.com/v1beta/files/{id}:download?alt=media"
"""What a finished Gemini job advertises for a video; the SDK keeps only the id and asks its own base URL."""

UNIMPLEMENTED_MESSAGE = "Operation is not implemented, or supported, or enabled."

_ID_ALPHABET = string.ascii_lowercase + string.digits


class Fail(Exception):
    """An answer in Google's error envelope ``{"error": {"code", "message", "status", "details"}}``."""

    def __init__(self, code: int, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or []

    def envelope(self) -> dict[str, Any]:
        status = STATUS.get(self.code, "UNKNOWN")
        return {"error": {"code": self.code, "message": self.message, "status": status, "details": self.details}}


def bad(message: str) -> Fail:
    """A 400 INVALID_ARGUMENT."""
    return Fail(400, message)


def unknown_field(name: str, where: str = "") -> Fail:
    """The 400 Google's front end gives for a JSON key the API does not define."""
    at = f" at '{where}'" if where else ""
    return bad(f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.')


def fault(code: int, *, retry_delay: int, quota_id: str = "GenerateRequestsPerMinutePerProjectPerModel") -> Fail:
    """An injected fault: a 429 with QuotaFailure and RetryInfo, or one of :data:`FAULT_MESSAGES`."""
    if code == 429:
        return quota_exceeded(quota_id, retry_delay, dimensions={"location": "global"}, limit=10)
    return Fail(code, FAULT_MESSAGES[code])


def quota_exceeded(quota_id: str, delay: int, *, dimensions: dict[str, str], limit: int, metric: str = "") -> Fail:
    """Google's 429 RESOURCE_EXHAUSTED, with ``QuotaFailure`` and ``RetryInfo{retryDelay: "<delay>s"}``."""
    return Fail(
        429,
        "You exceeded your current quota, please check your plan and billing details. For more information on "
        "this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
        [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": f"generativelanguage.googleapis.com/{metric or 'generate_requests_per_model'}",
                        "quotaId": quota_id,
                        "quotaDimensions": dimensions,
                        "quotaValue": str(limit),
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{delay}s"},
        ],
    )


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | bytes | Path = b""
    content_type: str = "application/json; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request, as a route handler sees it."""

    method: str
    path: str
    params: dict[str, str]
    """The named groups of the route's pattern."""
    headers: Mapping[str, str]
    query: dict[str, list[str]]
    raw: bytes

    def json(self) -> Any:
        return read_json(self.raw)

    def arg(self, name: str) -> str | None:
        """The first value of query parameter ``name``, if given."""
        values = self.query.get(name)
        return values[0] if values else None


class Auth:
    """The credentials the stand-in accepts: one Gemini API key, or any non-empty Vertex bearer token."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def gemini(self, request: Request) -> None:
        """Accept the API key (``x-goog-api-key`` or ``?key=``) or raise Google's 403/400."""
        key = (request.headers.get("x-goog-api-key") or request.arg("key") or "").strip()
        if not key:
            raise Fail(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API.",
            )
        if key != self.api_key:
            raise Fail(
                400,
                "API key not valid. Please pass a valid API key.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                        "locale": "en-US",
                        "message": "API key not valid. Please pass a valid API key.",
                    },
                ],
            )

    def vertex(self, request: Request) -> None:
        """Accept ``Authorization: Bearer <non-empty>`` or the API key (express mode), else raise 401."""
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return
        if request.headers.get("x-goog-api-key") or request.arg("key"):
            self.gemini(request)
            return
        raise Fail(
            401,
            "Request is missing required authentication credential. Expected OAuth 2 access token, "
            "login cookie or other valid authentication credential.",
            [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "CREDENTIALS_MISSING"}],
        )


# --- JSON fields ---------------------------------------------------------------------


def read_json(raw: bytes) -> Any:
    """The request body as JSON (an empty body is ``{}``), or raise Google's 400."""
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad("Invalid JSON payload received.") from exc


def field_of(obj: dict[str, Any], camel: str) -> Any:
    """Read a proto-JSON field under its camelCase or snake_case name."""
    if camel in obj:
        return obj[camel]
    return obj.get(re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), camel))


def param(obj: dict[str, Any], camel: str, default: Any) -> Any:
    value = field_of(obj, camel)
    return default if value is None else value


def as_int(value: Any, where: str) -> int:
    """An integer from a JSON number or numeric string, or Google's TYPE_INT32 400."""
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or not number.is_integer():
        raise bad(f"Invalid value at '{where}' (TYPE_INT32), {json.dumps(value)}")
    return int(number)


def as_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise bad(f"Invalid value at '{where}' (TYPE_STRING), {json.dumps(value)}")
    return value


def as_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise bad(f"Invalid value at '{where}' (TYPE_BOOL), {json.dumps(value)}")
    return value


def as_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad(f"Invalid value at '{where}': expected an object, got {json.dumps(value)[:80]}")
    return value


def decoded_size(encoded: Any, where: str) -> int:
    """The size in bytes of base64 (standard or URL-safe) data, or a 400 if it does not decode."""
    if not isinstance(encoded, str) or not encoded:
        raise bad(f"{where} must be non-empty base64 data")
    try:
        return len(base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise bad(f"{where} is not valid base64") from exc


# --- ids, times, pages ------------------------------------------------------------------


def new_id(taken: Collection[str] = (), length: int = 12) -> str:
    """A random lower-case alphanumeric id not in ``taken``."""
    while True:
        candidate = "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))
        if candidate not in taken:
            return candidate


def rfc3339(unix: float) -> str:
    """``2026-12-06T12:00:00.123456Z``: Google's timestamp JSON."""
    whole = int(unix)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((unix - whole) * 1e6):06d}Z"


def page(
    items: list[Any], request: Request, *, size_arg: str, cursor_arg: str, default: int, maximum: int
) -> tuple[list[Any], str | None]:
    """One page of ``items`` and the token of the next (None on the last page).

    Tokens are opaque to clients (base64 of an offset). A size above ``maximum`` is coerced to it, as
    Google's list methods do; a negative size or a token this stand-in did not issue is a 400.
    """
    raw_size, token = request.arg(size_arg), request.arg(cursor_arg)
    size = as_int(raw_size, size_arg) if raw_size not in (None, "") else 0
    if size < 0:
        raise bad(f"{size_arg} must not be negative")
    size = min(size or default, maximum)
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:"))
        except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
            raise bad(f"Invalid {cursor_arg}.") from exc
    chunk = items[start : start + size]
    more = start + size < len(items)
    return chunk, base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode() if more else None


class Route(NamedTuple):
    """One line of the routing table: ``name`` labels it in ``Stats.posts``."""

    method: str
    pattern: re.Pattern[str]
    handler: Callable[[Request], Reply]
    name: str


def route(method: str, pattern: str, handler: Callable[[Request], Reply], name: str) -> Route:
    return Route(method, re.compile(pattern), handler, name)


VERSION = r"/(?P<version>v\d+[a-z0-9]*)"
"""Any API version segment (v1beta, v1beta1, v1, …)."""
