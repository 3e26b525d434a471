"""Helpers for the API tests: tokens, request bodies, and the shape of a problem answer."""

from __future__ import annotations

from typing import Any

from core.services.generations import GenerationForm
from core.studio import Studio


def make_token(studio: Studio, user_id: int, *scopes: str, days: int = 30, name: str = "tests") -> str:
    """A fresh token's secret for ``user_id`` (``read`` and ``generate`` unless ``scopes`` are given)."""
    _view, secret = studio.tokens.create(user_id, name, scopes or ("read", "generate"), days)
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def body_of(form: GenerationForm, **extra: Any) -> dict[str, Any]:
    """The JSON body of ``POST /v1/generations`` for the request ``form`` makes on the Create page."""
    return {**form.params.columns(), **extra}


def problem(response: Any, status: int, slug: str | None) -> dict[str, Any]:
    """Check that ``response`` is an RFC 9457 problem of ``status`` and type ``slug``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"] == (f"urn:veogen:problem:{slug}" if slug else "about:blank")
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return dict(body)
