"""The Files API for generated videos: ``files.get`` (with a PROCESSING → ACTIVE state) and the download route
(``files/{id}:download``, optionally via a 302 to ``/blob/{id}``).

Imports the standard library and the sibling modules.
"""

from __future__ import annotations

import time

from standin.protocol import FILE_URI, VERSION, Auth, Fail, Reply, Request, Route, rfc3339, route
from standin.state import FileEntry, Job, State

FILE_RESOURCE_URI = "https://generativelanguage.googleapis.com/v1beta/files/{id}"
FILE_RETENTION_SECONDS = 2 * 24 * 3600
"""What ``expirationTime`` says: generated files last 2 days."""


class FileRoutes:
    """Serve the metadata and bytes of every video a Gemini-surface job made."""

    def __init__(self, state: State, auth: Auth) -> None:
        self.state, self.auth = state, auth

    def routes(self) -> list[Route]:
        return [
            route("GET", r"/blob/(?P<file_id>[^/]+)", self.blob, "blob"),
            route("GET", VERSION + r"/files/(?P<file_id>[^/:]+):download", self.download, "files.download"),
            route("GET", VERSION + r"/files/(?P<file_id>[^/:]+)", self.get, "files.get"),
        ]

    def get(self, request: Request) -> Reply:
        """``files.get``: the first ``file_processing_polls`` reads say PROCESSING, later ones ACTIVE."""
        self.auth.gemini(request)
        file_id = request.params["file_id"]
        with self.state.lock:
            self.state.counts.file_gets += 1
            found = self.state.file_job(file_id, time.monotonic())
            if found is None:
                raise Fail(404, f"File files/{file_id} does not exist or you do not have permission to access it.")
            job, index, entry = found
            entry.reads += 1
            active = entry.reads > self.state.behaviour.file_processing_polls
        return Reply(body=self._resource(file_id, job, index, entry, active=active))

    def _resource(self, file_id: str, job: Job, index: int, entry: FileEntry, *, active: bool) -> dict[str, object]:
        body: dict[str, object] = {
            "name": f"files/{file_id}",
            "mimeType": "video/mp4",
            "createTime": rfc3339(entry.created),
            "updateTime": rfc3339(job.finished_at or entry.created),
            "expirationTime": rfc3339(entry.created + FILE_RETENTION_SECONDS),
            "uri": FILE_RESOURCE_URI.format(id=file_id),
            "downloadUri": FILE_URI.format(id=file_id),
            "state": "ACTIVE" if active else "PROCESSING",
            "source": "GENERATED",
        }
        if active:
            body["sizeBytes"] = str(self.state.renderer.render(job.render_spec(), index).stat().st_size)
        return body

    def download(self, request: Request) -> Reply:
        self.auth.gemini(request)
        file_id = request.params["file_id"]
        job, index = self._downloadable(file_id)
        with self.state.lock:
            redirect = self.state.behaviour.redirect_downloads
        if redirect:
            return Reply(status=302, headers={"Location": f"/blob/{file_id}"})
        return self._serve(job, index)

    def blob(self, request: Request) -> Reply:
        return self._serve(*self._downloadable(request.params["file_id"]))

    def _downloadable(self, file_id: str) -> tuple[Job, int]:
        with self.state.lock:
            expired = self.state.behaviour.download_expired
            found = None if expired else self.state.file_job(file_id, time.monotonic())
        if found is None:
            raise Fail(404, "Requested entity was not found.")
        return found[0], found[1]

    def _serve(self, job: Job, index: int) -> Reply:
        path = self.state.renderer.render(job.render_spec(), index)
        with self.state.lock:
            self.state.counts.downloads += 1
        return Reply(body=path, content_type="video/mp4")
