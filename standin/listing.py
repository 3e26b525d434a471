"""``models.list`` and ``models.get`` on both surfaces: the Gemini API's ``models`` and Vertex's
``publishers/google/models``, with what each surface serves and the 404s of retired ids.

Imports the standard library and the sibling modules.
"""

from __future__ import annotations

from standin.models import TEXT_MODELS, check_served, gemini_model_json, vertex_model_json
from standin.protocol import VERSION, Auth, Reply, Request, Route, page, route
from standin.state import State

GEMINI_PAGE_SIZE = 50
"""Models per page when the caller gives no ``pageSize``."""
VERTEX_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class ModelRoutes:
    """List and get the models a surface serves (retired ids are never listed)."""

    def __init__(self, state: State, auth: Auth) -> None:
        self.state, self.auth = state, auth

    def routes(self) -> list[Route]:
        vertex = VERSION + r"/(?:projects/[^/]+/locations/[^/]+/)?publishers/google/models"
        return [
            route("GET", VERSION + r"/models", self.gemini_list, "models.list"),
            route("GET", VERSION + r"/models/(?P<model>[^/:]+)", self.gemini_get, "models.get"),
            route("GET", vertex, self.vertex_list, "models.list"),
            route("GET", vertex + r"/(?P<model>[^/:]+)", self.vertex_get, "models.get"),
        ]

    def _served(self, *, vertex: bool) -> tuple[list[str], dict[str, str]]:
        with self.state.lock:
            b = self.state.behaviour
            models = list(b.vertex_models) if vertex else [*b.gemini_models, *TEXT_MODELS]
            return models, dict(b.retired_models)

    def gemini_list(self, request: Request) -> Reply:
        self.auth.gemini(request)
        served, _ = self._served(vertex=False)
        chunk, token = page(
            served,
            request,
            size_arg="pageSize",
            cursor_arg="pageToken",
            default=GEMINI_PAGE_SIZE,
            maximum=MAX_PAGE_SIZE,
        )
        body: dict[str, object] = {"models": [gemini_model_json(m) for m in chunk]}
        return Reply(body=body | ({"nextPageToken": token} if token else {}))

    def gemini_get(self, request: Request) -> Reply:
        self.auth.gemini(request)
        served, retired = self._served(vertex=False)
        check_served(request.params["model"], served, retired, request.params["version"])
        return Reply(body=gemini_model_json(request.params["model"]))

    def vertex_list(self, request: Request) -> Reply:
        self.auth.vertex(request)
        served, _ = self._served(vertex=True)
        chunk, token = page(
            served,
            request,
            size_arg="pageSize",
            cursor_arg="pageToken",
            default=VERTEX_PAGE_SIZE,
            maximum=MAX_PAGE_SIZE,
        )
        body: dict[str, object] = {"publisherModels": [vertex_model_json(m) for m in chunk]} if chunk else {}
        return Reply(body=body | ({"nextPageToken": token} if token else {}))

    def vertex_get(self, request: Request) -> Reply:
        self.auth.vertex(request)
        served, retired = self._served(vertex=True)
        check_served(request.params["model"], served, retired, request.params["version"])
        return Reply(body=vertex_model_json(request.params["model"]))
