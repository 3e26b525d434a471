"""Locust's clients for ``bench/api_load.py``: scripts that list their generations and submit offline ones.

Each simulated client holds the bench user's token (``VEOGEN_TOKEN``) and, about once a second
(``THINK_SECONDS``), lists the newest page of that user's generations (three times in four) or submits
a text-to-video request to the offline renderer (once in four; each with its own prompt and
Idempotency-Key, so none is a repeat). Run by ``bench/api_load.py``; not a test.
"""

from __future__ import annotations

import os
import uuid

from locust import FastHttpUser, between, task

THINK_SECONDS = (0.5, 1.5)
"""Pause of a client between two requests, in seconds (uniform): a script, not a flood."""

LIST = "GET /v1/generations"
SUBMIT = "POST /v1/generations"


class Script(FastHttpUser):
    wait_time = between(*THINK_SECONDS)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {os.environ['VEOGEN_TOKEN']}"}

    @task(3)
    def list_generations(self) -> None:
        self.client.get("/v1/generations", headers=self.headers, name=LIST)

    @task(1)
    def submit(self) -> None:
        key = uuid.uuid4().hex
        body = {
            "model": "offline-preview",
            "prompt": f"a lantern over the river, take {key[:8]}",
            "duration_seconds": 2,
            "resolution": "240p",
        }
        self.client.post("/v1/generations", json=body, headers={**self.headers, "Idempotency-Key": key}, name=SUBMIT)
