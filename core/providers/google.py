"""The google-genai client as VeoGen uses it: built once per credential, each call sent once.

Owns building the client (Gemini API key, or Vertex AI with Google credentials),
running one SDK call and turning whatever it raises — both of the SDK's error
families, ``google.genai.errors.APIError`` (models, operations, files) and
``google.genai._gaos.lib.compat_errors`` (interactions, webhooks) — into
:class:`ProviderError`, and listing the models a credential may use. The Veo
and Omni adapters and the webhook manager build on it; with them, the only
VeoGen modules that import google-genai (a test enforces it).

Every call is sent exactly once. The SDK's defaults retry the Interactions and
Webhooks POSTs up to four times on 408/409/429/5xx (reference part 2, 2.7), and
a retried create can start a second paid video, so every client is built with
``SEND_ONCE``: one attempt, and the only "retryable" status one that no server
sends. VeoGen's pipeline repeats a call itself, and only where nothing could
have been created (a 429, a connection refused before sending).

What a caller can meet:

    ProviderError                      a call failed; ``retryable`` says whether the same call may work later
    │   HTTP 408/429/5xx, timeout,     retryable; a 429 carries Google's RetryInfo delay in
    │   connection failure             ``retry_after_seconds``. ``outcome_unknown`` is set when the request
    │                                  may have been carried out: 408, 409 and 5xx answers, a read timeout,
    │                                  a dropped connection (never for a 429 or a refused connection)
    │   other HTTP 4xx                 not retryable; Google's message verbatim
    │   a field the SDK refuses        INVALID_ARGUMENT, not retryable (nothing was sent)
    └── ProviderUnavailableError       not configured; Vertex without credentials
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import google.auth.credentials
import google.auth.exceptions
import httpx
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from google.genai._gaos.lib import compat_errors

from core.errors import ProviderError, ProviderUnavailableError

if TYPE_CHECKING:
    from core.config import Settings

NOT_CONFIGURED = "Google is not configured: set VEOGEN_GEMINI_API_KEY or VEOGEN_VERTEX_PROJECT."

RETRYABLE_HTTP_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses after which the same call may succeed later."""

MAYBE_DONE_HTTP_STATUSES = frozenset({408, 409, 500, 502, 503, 504})
"""HTTP statuses after which the request may still have been carried out (the job created, and paid):
a submit answered so is never sent again (``outcome_unknown``). Only a 429 says nothing was started."""

SEND_ONCE = types.HttpRetryOptions(attempts=1, http_status_codes=[599])
"""The SDK's retry settings that send every request exactly once (part 2, 2.7: ``attempts=1`` alone still
sends Interactions POSTs twice; 599 is a status no server answers)."""

_DELAY = re.compile(r"\s*(\d+(?:\.\d+)?)s\s*")
_T = TypeVar("_T")


def make_client(
    *,
    api_key: str = "",
    base_url: str = "",
    vertex_project: str = "",
    vertex_location: str = "us-central1",
    credentials: google.auth.credentials.Credentials | None = None,
    timeout_seconds: float = 60,
) -> genai.Client:
    """Build a google-genai client: Vertex AI when ``vertex_project`` is set, else API-key mode; one try per call."""
    http_options = types.HttpOptions(
        base_url=base_url or None,
        timeout=max(1, round(timeout_seconds * 1000)),  # milliseconds
        retry_options=SEND_ONCE,
    )
    if not vertex_project:
        return genai.Client(vertexai=False, api_key=api_key, http_options=http_options)
    # credentials=None means application-default credentials, looked up on the first call.
    return genai.Client(
        vertexai=True,
        project=vertex_project,
        location=vertex_location,
        credentials=credentials,
        http_options=http_options,
    )


class LazyClient:
    """One google-genai client, built on first use and shared by threads."""

    def __init__(self, connect: Callable[[], genai.Client]) -> None:
        self._connect = connect
        self._client: genai.Client | None = None
        self._lock = threading.Lock()

    def get(self) -> genai.Client:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


class GoogleAdapter:
    """The base of the adapters: one lazily built client on one credential (Vertex when a project is given).

    ``output_uri`` is where Vertex writes videos (``gs://…``); ignored with an API key.
    """

    def __init__(
        self,
        *,
        api_key: str = "",
        base_url: str = "",
        vertex_project: str = "",
        vertex_location: str = "us-central1",
        output_uri: str = "",
        timeout_seconds: float = 60,
        credentials: google.auth.credentials.Credentials | None = None,
    ) -> None:
        if not (api_key or vertex_project):
            raise ProviderUnavailableError(NOT_CONFIGURED, code="UNAVAILABLE")
        self.vertex = bool(vertex_project)
        self._output_uri = output_uri.rstrip("/") if self.vertex else ""
        self._client = LazyClient(
            partial(
                make_client,
                api_key=api_key,
                base_url=base_url,
                vertex_project=vertex_project,
                vertex_location=vertex_location,
                credentials=credentials,
                timeout_seconds=timeout_seconds,
            )
        )

    def close(self) -> None:
        """Close the HTTP connections; the next call opens new ones."""
        self._client.close()


def call(service: str, fn: Callable[[], _T]) -> _T:
    """Run one SDK call; turn what it raises into a ProviderError that says whether to try again."""
    try:
        return fn()
    except genai_errors.APIError as exc:
        raise _api_error(service, exc) from exc
    except compat_errors.APIStatusError as exc:
        raise _status_error(service, exc) from exc
    except compat_errors.APIConnectionError as exc:
        raise _connection_error(service, exc) from exc
    except httpx.TransportError as exc:
        raise _transport_error(service, exc) from exc
    except google.auth.exceptions.DefaultCredentialsError as exc:
        message = f"Vertex AI needs Google credentials (application-default credentials): {exc}"
        raise ProviderUnavailableError(message, code="UNAUTHENTICATED") from exc
    except google.auth.exceptions.GoogleAuthError as exc:
        retryable = isinstance(exc, google.auth.exceptions.TransportError) or bool(exc.retryable)
        raise ProviderError(f"Google sign-in failed: {exc}", code="UNAUTHENTICATED", retryable=retryable) from exc
    except ValueError as exc:  # the SDK refuses some fields client-side, before sending anything
        raise ProviderError(f"{service} refused the request: {exc}", code="INVALID_ARGUMENT") from exc


def _api_error(service: str, exc: genai_errors.APIError) -> ProviderError:
    status = exc.status or ""
    head = " ".join(part for part in (str(exc.code), status) if part)
    return ProviderError(
        f"{service} answered {head}: {exc.message or exc.details}",
        code=status or str(exc.code),
        retryable=exc.code in RETRYABLE_HTTP_STATUSES,
        retry_after_seconds=_retry_delay(exc.details),
        outcome_unknown=exc.code in MAYBE_DONE_HTTP_STATUSES,
    )


def _retry_delay(details: Any) -> float | None:
    """The delay of a ``google.rpc.RetryInfo`` detail ("33s", "1.5s" or {"seconds", "nanos"}), in seconds."""
    body = details.get("error", details) if isinstance(details, dict) else None
    items = body.get("details") if isinstance(body, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = item.get("retryDelay")
            if isinstance(delay, str) and (match := _DELAY.fullmatch(delay)):
                return float(match.group(1))
            if isinstance(delay, dict):
                return float(delay.get("seconds", 0)) + float(delay.get("nanos", 0)) / 1e9
    return None


def write_atomically(dest: Path, data: bytes | IO[bytes]) -> None:
    """Write to a temporary file beside ``dest`` and rename it, so ``dest`` is never half-written."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(data, bytes):
                out.write(data)
            else:
                shutil.copyfileobj(data, out, 1 << 20)
        os.replace(tmp_name, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def _status_error(service: str, exc: compat_errors.APIStatusError) -> ProviderError:
    """An HTTP error from the Interactions or Webhooks client (the ``compat_errors`` family)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    status = str(error.get("status") or "") if isinstance(error, dict) else ""
    message = str(error.get("message") or "") if isinstance(error, dict) else ""
    head = " ".join(part for part in (str(exc.status_code), status) if part)
    return ProviderError(
        f"{service} answered {head}: {message or exc.message}",
        code=status or str(exc.status_code),
        retryable=exc.status_code in RETRYABLE_HTTP_STATUSES,
        retry_after_seconds=_retry_delay(body),
        outcome_unknown=exc.status_code in MAYBE_DONE_HTTP_STATUSES,
    )


def _connection_error(service: str, exc: compat_errors.APIConnectionError) -> ProviderError:
    cause = exc.__cause__
    if isinstance(cause, httpx.TransportError):
        return _transport_error(service, cause)
    message = f"No answer from {service}: {exc.message}"
    return ProviderError(message, code="UNAVAILABLE", retryable=True, outcome_unknown=True)


def _transport_error(service: str, exc: httpx.TransportError) -> ProviderError:
    """A connection failure: nothing was sent when it was refused; otherwise the request may have arrived."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        message = f"Could not reach {service}: {type(exc).__name__} {exc}".rstrip()
        return ProviderError(message, code="UNAVAILABLE", retryable=True)
    message = f"No answer from {service}: {type(exc).__name__} {exc}".rstrip()
    return ProviderError(message, code="UNAVAILABLE", retryable=True, outcome_unknown=True)


LIST_TIMEOUT_SECONDS = 15.0
"""Longest wait for one page of the model list (a page render may be waiting on it)."""


def client_for(settings: Settings, *, timeout_seconds: float | None = None, location: str = "") -> genai.Client:
    """A client on the one credential in ``settings``: its Vertex project if set, else its API key."""
    return make_client(
        api_key=settings.gemini_api_key,
        base_url=settings.veo_base_url,
        vertex_project=settings.vertex_project,
        vertex_location=location or settings.vertex_location,
        timeout_seconds=timeout_seconds or settings.veo_timeout_seconds,
    )


def list_model_ids(settings: Settings) -> frozenset[str]:
    """The model ids the credential in ``settings`` may use, without the ``models/`` or publisher prefix."""
    service = "Vertex AI" if settings.vertex_project else "the Gemini API"

    def read() -> frozenset[str]:
        with client_for(settings, timeout_seconds=min(LIST_TIMEOUT_SECONDS, settings.veo_timeout_seconds)) as client:
            return frozenset((m.name or "").rsplit("/", 1)[-1] for m in client.models.list() if m.name)

    return call(service, read)
