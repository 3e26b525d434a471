"""Gemini's WebhookService (reference part 2 section 1.2): :class:`WebhookRoutes` answers the SDK's
``client.webhooks.*`` calls over the registry of :mod:`standin.deliveries`.

Imports the standard library and the sibling modules.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from standin.deliveries import Policy, Secret, Webhook, Webhooks
from standin.protocol import (
    VERSION,
    Auth,
    Fail,
    Reply,
    Request,
    Route,
    as_object,
    as_str,
    bad,
    fault,
    new_id,
    page,
    route,
    unknown_field,
)
from standin.signing import new_secret
from standin.state import State

EVENTS = (
    "batch.succeeded",
    "batch.expired",
    "batch.failed",
    "batch.cancelled",
    "interaction.requires_action",
    "interaction.completed",
    "interaction.failed",
    "interaction.cancelled",
    "video.generated",
)
"""Events a webhook may subscribe to (the SDK's enum plus the two js-genai and the docs add)."""
GRACE_SECONDS = 24 * 3600
"""How long ``revoke_previous_secrets_after_h24`` keeps the old secret, in seconds."""
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 1000
_LOOPBACK = ("localhost", "127.0.0.1", "::1")
_FIELDS = ("name", "uri", "subscribed_events", "state")
"""What ``update`` may change."""


# --- the WebhookService routes ---------------------------------------------------------


def _checked_uri(value: Any) -> str:
    uri = as_str(value, "uri")
    parts = urlsplit(uri)
    if not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)):
        raise bad(f"uri must be an https URL (the stand-in also takes http:// to localhost); got {uri!r}")
    return uri


def _checked_events(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise bad("subscribed_events must list at least one event")
    for event in value:
        if event not in EVENTS:
            raise bad(f"Invalid value at 'webhook.subscribed_events': {event!r} is not one of {', '.join(EVENTS)}")
    return list(dict.fromkeys(value))


def _snake(body: dict[str, Any], allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    """``body`` with camelCase keys turned snake_case; an unknown key is Google's 400."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        name = "".join("_" + c.lower() if c.isupper() else c for c in key)
        if name not in allowed:
            raise unknown_field(key, where)
        out[name] = value
    return out


class WebhookRoutes:
    """``/{v}/webhooks`` on the Gemini surface (Vertex's ``v1beta1`` has no WebhookService: 404)."""

    def __init__(self, state: State, auth: Auth, webhooks: Webhooks) -> None:
        self.state, self.auth, self.webhooks = state, auth, webhooks

    def routes(self) -> list[Route]:
        base = VERSION + r"/webhooks"
        one = base + r"/(?P<id>[^/:]+)"
        return [
            route("POST", base, self.create, "webhooks.create"),
            route("GET", base, self.list, "webhooks.list"),
            route("POST", one + r":ping", self.ping, "webhooks.ping"),
            route("POST", one + r":rotateSigningSecret", self.rotate, "webhooks.rotateSigningSecret"),
            route("GET", one, self.get, "webhooks.get"),
            route("PATCH", one, self.update, "webhooks.update"),
            route("DELETE", one, self.delete, "webhooks.delete"),
        ]

    def _auth(self, request: Request) -> None:
        if request.params["version"] == "v1beta1":
            raise Fail(404, f"The requested URL {request.method} {request.path} was not found on this server.")
        self.auth.gemini(request)

    def _hook(self, hook_id: str) -> Webhook:
        hook = self.webhooks.hooks.get(hook_id)
        if hook is None:
            raise Fail(404, f"Webhook {hook_id} was not found.")
        return hook

    def create(self, request: Request) -> Reply:
        self._auth(request)
        body = _snake(as_object(request.json(), "webhook"), ("name", "uri", "subscribed_events"), "webhook")
        uri, events = _checked_uri(body.get("uri")), _checked_events(body.get("subscribed_events"))
        name = as_str(body["name"], "name") if body.get("name") is not None else None
        with self.state.lock:
            b = self.state.behaviour
            status = b.webhook_fault_status if b.webhook_fault_count > 0 else None
            if status is not None:
                b.webhook_fault_count -= 1
            after, delay = b.fault_after_create, b.retry_delay_seconds
        if status is not None and not after:
            raise fault(status, retry_delay=delay, quota_id="WebhookRequestsPerMinutePerProject")
        now, secret = time.time(), new_secret()
        with self.webhooks.lock:
            hook = Webhook(new_id(self.webhooks.hooks, 36), name, uri, events, now, now, secrets=[Secret(secret)])
            self.webhooks.hooks[hook.id] = hook
            answer = hook.resource(now) | {"new_signing_secret": secret}
        if status is not None:
            raise fault(status, retry_delay=delay, quota_id="WebhookRequestsPerMinutePerProject")
        return Reply(body=answer)

    def list(self, request: Request) -> Reply:
        self._auth(request)
        now = time.time()
        with self.webhooks.lock:
            hooks = [h.resource(now) for h in self.webhooks.hooks.values()]
        chunk, token = page(
            hooks,
            request,
            size_arg="page_size",
            cursor_arg="page_token",
            default=DEFAULT_PAGE_SIZE,
            maximum=MAX_PAGE_SIZE,
        )
        body = ({"webhooks": chunk} if chunk else {}) | ({"next_page_token": token} if token else {})
        return Reply(body=body)  # proto3 JSON leaves out an empty list

    def get(self, request: Request) -> Reply:
        self._auth(request)
        with self.webhooks.lock:
            return Reply(body=self._hook(request.params["id"]).resource(time.time()))

    def update(self, request: Request) -> Reply:
        """PATCH the fields named in ``update_mask`` (without one: every field sent); a masked absent one is cleared."""
        self._auth(request)
        body = _snake(as_object(request.json(), "webhook"), _FIELDS, "webhook")
        mask = request.arg("update_mask") or request.arg("updateMask")
        fields = list(body)
        if mask:
            fields = list(
                _snake(dict.fromkeys(m.strip() for m in mask.split(",") if m.strip()), _FIELDS, "update_mask")
            )
        changes: dict[str, Any] = {}
        for name in fields:
            value = body.get(name)
            if name == "uri":
                changes["uri"] = _checked_uri(value)
            elif name == "subscribed_events":
                changes["events"] = _checked_events(value)
            elif name == "state":
                if value not in ("enabled", "disabled"):
                    raise bad(f"state can be set to enabled or disabled, not {value!r}")
                changes["state"] = value
            else:
                changes["name"] = as_str(value, "name") if value is not None else None
        with self.webhooks.lock:
            hook = self._hook(request.params["id"])
            for key, value in changes.items():
                setattr(hook, key, value)
            if changes.get("state") == "enabled":
                hook.failures = 0
            hook.updated = time.time()
            return Reply(body=hook.resource(hook.updated))

    def delete(self, request: Request) -> Reply:
        self._auth(request)
        with self.webhooks.lock:
            self._hook(request.params["id"])
            del self.webhooks.hooks[request.params["id"]]
        return Reply(body={})

    def ping(self, request: Request) -> Reply:
        self._auth(request)
        policy = Policy.of(self.state.copy_behaviour())
        with self.webhooks.lock:
            self.webhooks.ping(self._hook(request.params["id"]), policy)
        return Reply(body={})

    def rotate(self, request: Request) -> Reply:
        """Make a new secret; the old ones sign for 24 h more, or stop at once (``…_immediately``)."""
        self._auth(request)
        body = _snake(as_object(request.json(), "request"), ("revocation_behavior",), "request")
        behavior = body.get("revocation_behavior") or "revoke_previous_secrets_after_h24"
        if behavior not in ("revoke_previous_secrets_after_h24", "revoke_previous_secrets_immediately"):
            raise bad(
                f"Invalid value at 'revocation_behavior' (type.googleapis.com/google.ai.generativelanguage.v1beta."
                f"RotateSigningSecretRequest.RevocationBehavior), {behavior!r}"
            )
        now, secret = time.time(), new_secret()
        with self.webhooks.lock:
            hook = self._hook(request.params["id"])
            kept = (
                []
                if behavior.endswith("immediately")
                else [s for s in hook.secrets if s.expires is None or s.expires > now]
            )
            for old in kept:
                old.expires = min(old.expires or now + GRACE_SECONDS, now + GRACE_SECONDS)
            hook.secrets, hook.updated = [Secret(secret), *kept], now
        return Reply(body={"secret": secret})
