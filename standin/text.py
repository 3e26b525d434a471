"""``:generateContent`` for the prompt helper: a deterministic "improved prompt" (:func:`enhance_prompt`),
as plain text or as JSON that fits the request's schema (reference part 1 section 10). A schema asking
for a shot list (objects with a ``prompt`` string, in an array) gets one shot per sentence of the text.

Imports the standard library and the sibling modules.
"""

from __future__ import annotations

import json
import re
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
            value = _shot_list(schema, text)
            if value is None:
                value = _fill_schema(schema, schema, answer) if schema else {"prompt": answer}
            answer = json.dumps(value)
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
    schema = _resolve(schema, root)
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = _kind(schema)
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: _fill_schema(v, root, text, depth + 1) for k, v in props.items()}
    if kind == "array":
        low = int(schema.get("minItems") or schema.get("min_items") or 1)
        count = max(low, min(3, int(schema.get("maxItems") or schema.get("max_items") or 3)))
        items = schema.get("items") or {}
        return [_fill_schema(items, root, f"{text} (part {i + 1})", depth + 1) for i in range(count)]
    return {"integer": 8, "number": 8.0, "boolean": False}.get(kind, text)


SENTENCE = re.compile(r"(?<=[.!?])\s+")
"""Where the text is cut into shots: after ``.``, ``!`` or ``?`` and a space."""


def _shot_list(schema: Any, text: str) -> Any:
    """A shot per sentence of ``text`` when ``schema`` is an array of objects with a ``prompt`` string, or an
    object holding one (its other fields filled as usual); None for any other schema.

    Each shot's ``prompt`` is ``enhance_prompt(sentence)``; an integer field named ``*duration*`` or ``*seconds*``
    is 4 + a third of the sentence's words, at most 10 (and within the field's minimum and maximum).
    """
    root, top = schema, _resolve(schema, schema)
    sentences = [s.strip() for s in SENTENCE.split(" ".join(text.split())) if s.strip()]
    item = _shot_items(top, root)
    if item is not None:
        return [_shot(item, root, sentence) for sentence in sentences]
    props = (top.get("properties") or {}) if _kind(top) == "object" else {}
    for name, prop in props.items():
        item = _shot_items(_resolve(prop, root), root)
        if item is not None:
            shots = [_shot(item, root, sentence) for sentence in sentences]
            return {k: shots if k == name else _fill_schema(v, root, enhance_prompt(text)) for k, v in props.items()}
    return None


def _shot(item: dict[str, Any], root: Any, sentence: str) -> dict[str, Any]:
    shot: dict[str, Any] = {}
    for name, prop in (item.get("properties") or {}).items():
        prop = _resolve(prop, root)
        if name == "prompt":
            shot[name] = enhance_prompt(sentence)
        elif _kind(prop) == "integer" and ("duration" in name.lower() or "seconds" in name.lower()):
            low, high = max(4, int(prop.get("minimum", 4))), min(10, int(prop.get("maximum", 10)))
            shot[name] = max(low, min(high, 4 + len(sentence.split()) // 3))
        else:
            shot[name] = _fill_schema(prop, root, enhance_prompt(sentence))
    return shot


def _shot_items(schema: Any, root: Any) -> dict[str, Any] | None:
    """The item schema of an array of objects with a ``prompt`` string, or None."""
    if _kind(schema) != "array":
        return None
    item = _resolve(schema.get("items"), root)
    prompt = _resolve((item.get("properties") or {}).get("prompt"), root) if _kind(item) == "object" else None
    return item if _kind(prompt) == "string" else None


def _resolve(schema: Any, root: Any) -> Any:
    """``schema`` with a local ``$ref`` followed and a nullable ``anyOf`` reduced to its other branch."""
    for _ in range(8):
        if not isinstance(schema, dict):
            return {}
        ref = schema.get("$ref")
        options = schema.get("anyOf") or schema.get("any_of")
        if isinstance(ref, str) and ref.startswith("#/") and isinstance(root, dict):
            target: Any = root
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            schema = target
        elif isinstance(options, list) and options:
            usable = [o for o in options if isinstance(o, dict) and _kind(o) != "null"]
            schema = (usable or options)[0]
        else:
            return schema
    return schema


def _kind(schema: Any) -> str:
    """A schema's type in lower case (the first non-null one of a list), ``""`` when it has none."""
    kind = schema.get("type", "") if isinstance(schema, dict) else ""
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "")
    return str(kind).lower()
