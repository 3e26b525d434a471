"""``:generateContent`` for the prompt helper: a deterministic "improved prompt" (:func:`enhance_prompt`),
as plain text or as JSON that fits the request's schema (reference part 1 section 10).

Imports the standard library and the sibling modules.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from standin.models import OMNI_MODELS, VEO_MODELS, check_served, enhance_prompt, only_interactions
from standin.protocol import FAULT_MESSAGES, VERSION, Auth, Fail, Reply, Request, Route, bad, field_of, route
from standin.state import State


class TextRoutes:
    """Answer ``:generateContent`` for any ``gemini-*`` text id."""

    def __init__(self, state: State, auth: Auth) -> None:
        self.state, self.auth = state, auth

    def routes(self) -> list[Route]:
        return [route("POST", VERSION + r"/models/(?P<model>[^/:]+):generateContent", self.generate, "generateContent")]

    def generate(self, request: Request) -> Reply:
        self.auth.gemini(request)
        model, body = request.params["model"], request.json()
        with self.state.lock:
            served, retired = list(self.state.behaviour.gemini_models), dict(self.state.behaviour.retired_models)
        if model in retired:
            check_served(model, served, retired, request.params["version"])
        if model in VEO_MODELS:
            raise bad(f"Veo must be accessed through the PredictLongRunning method, not generateContent ({model})")
        if model in OMNI_MODELS:
            raise only_interactions(model, "generateContent")
        if not model.startswith("gemini-"):
            raise Fail(404, f"models/{model} is not found for API version {request.params['version']}.")
        with self.state.lock:
            self.state.counts.text_calls += 1
            if self.state.behaviour.generate_content_fail:
                raise Fail(503, FAULT_MESSAGES[503])
        contents = field_of(body, "contents") if isinstance(body, dict) else None
        turns = [c for c in contents if isinstance(c, dict)] if isinstance(contents, list) else []
        user = [c for c in turns if c.get("role", "user") != "model"]
        parts = field_of(user[-1], "parts") if user else None
        text = " ".join(p["text"] for p in parts or [] if isinstance(p, dict) and isinstance(p.get("text"), str))
        if not text.strip():
            raise bad("* GenerateContentRequest.contents: contents is not specified")
        answer = enhance_prompt(text)
        config = field_of(body, "generationConfig") or {}
        if isinstance(config, dict) and field_of(config, "responseMimeType") == "application/json":
            schema = field_of(config, "responseSchema") or field_of(config, "responseJsonSchema") or {}
            answer = json.dumps(_fill_schema(schema, schema, answer) if schema else {"prompt": answer})
        in_tokens, out_tokens = len(text.split()), len(answer.split())
        return Reply(
            body={
                "candidates": [
                    {"content": {"parts": [{"text": answer}], "role": "model"}, "finishReason": "STOP", "index": 0}
                ],
                "usageMetadata": {
                    "promptTokenCount": in_tokens,
                    "candidatesTokenCount": out_tokens,
                    "totalTokenCount": in_tokens + out_tokens,
                },
                "modelVersion": model,
                "responseId": secrets.token_hex(8),
            }
        )


def _fill_schema(schema: Any, root: Any, text: str, depth: int = 0) -> Any:
    """A value that fits a responseSchema (OpenAPI subset) or JSON schema, with ``text`` in string fields."""
    if not isinstance(schema, dict) or depth > 8:
        return text
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _fill_schema(target, root, text, depth + 1)
    options = schema.get("anyOf") or schema.get("any_of")
    if isinstance(options, list) and options:
        usable = [o for o in options if isinstance(o, dict) and str(o.get("type", "")).lower() != "null"]
        return _fill_schema((usable or options)[0], root, text, depth + 1)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "string")
    kind = str(kind).lower()
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: _fill_schema(v, root, text, depth + 1) for k, v in props.items()}
    if kind == "array":
        low = int(schema.get("minItems") or schema.get("min_items") or 1)
        count = max(low, min(3, int(schema.get("maxItems") or schema.get("max_items") or 3)))
        items = schema.get("items") or {}
        return [_fill_schema(items, root, f"{text} (part {i + 1})", depth + 1) for i in range(count)]
    return {"integer": 8, "number": 8.0, "boolean": False}.get(kind, text)
