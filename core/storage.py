"""Media storage by key: local files by default, any fsspec URL (``s3://``, ``gs://``) when set.

Keys are made here by the server (``{user}/{generation}/{n}.mp4``), never from
user input. Imports fsspec only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import fsspec

from core.errors import StorageError

_KEY = re.compile(r"[0-9]+/[0-9a-f]{32}/[A-Za-z0-9_.-]{1,64}")


def video_key(user_id: int, generation_id: str, index: int) -> str:
    return f"{user_id}/{generation_id}/{index}.mp4"


def input_key(user_id: int, generation_id: str, index: int, mime_type: str) -> str:
    extension = "jpg" if mime_type == "image/jpeg" else "png"
    return f"{user_id}/{generation_id}/input-{index}.{extension}"


def soundtrack_key(user_id: int, movie_id: str, extension: str) -> str:
    """Where a film's music is kept (beside the assembled film, under the movie's id)."""
    return f"{user_id}/{movie_id}/soundtrack.{extension}"


def thumbnail_key(user_id: int, generation_id: str, index: int) -> str:
    return f"{user_id}/{generation_id}/{index}.thumb.jpg"


def poster_key(user_id: int, generation_id: str, index: int) -> str:
    return f"{user_id}/{generation_id}/{index}.poster.jpg"


@dataclass(frozen=True)
class StoredFile:
    """One stored file to send: a path on this machine to stream, or (other storage) its bytes."""

    kind: str
    """What it is, in the words an error names it by (``video``, ``thumbnail``, ``poster``, ``film``)."""
    media_type: str
    name: str
    """What to save it as."""
    size: int
    """In bytes."""
    path: Path | None
    """Set when storage is local; then ``data`` is None."""
    data: bytes | None
    etag: str
    """A quoted strong validator of exactly these bytes."""


class Storage:
    """Put, get and delete media under one root."""

    def __init__(self, root: str) -> None:
        self.fs, path = fsspec.core.url_to_fs(root)
        self.root = path.rstrip("/")
        self.is_local = "file" in self.fs.protocol
        if self.is_local:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> str:
        if not _KEY.fullmatch(key):
            raise StorageError(f"refusing a storage key the server did not make: {key!r}")
        return f"{self.root}/{key}"

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write ``data`` under ``key`` atomically on local disk (temp file, then rename)."""
        path = self._path(key)
        try:
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            tmp = f"{path}.part"
            with self.fs.open(tmp, "wb") as fh:
                fh.write(data)
            self.fs.mv(tmp, path)
        except OSError as exc:
            raise StorageError(f"could not store {key}: {exc}") from exc

    def put_file(self, key: str, local: Path) -> None:
        """Copy a local file under ``key``."""
        path = self._path(key)
        try:
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            tmp = f"{path}.part"
            self.fs.put_file(str(local), tmp)
            self.fs.mv(tmp, path)
        except OSError as exc:
            raise StorageError(f"could not store {key}: {exc}") from exc

    def get_bytes(self, key: str) -> bytes:
        try:
            with self.fs.open(self._path(key), "rb") as fh:
                data: bytes = fh.read()
                return data
        except FileNotFoundError:
            raise StorageError(f"stored media {key} is missing") from None
        except OSError as exc:
            raise StorageError(f"could not read {key}: {exc}") from exc

    def local_path(self, key: str) -> Path | None:
        """Return a local filesystem path for ``key`` when storage is local, else None."""
        return Path(self._path(key)) if self.is_local else None

    def stored_file(self, key: str, *, kind: str, media_type: str, name: str, etag: str = "") -> StoredFile:
        """``key``'s file to send: its path when storage is local (never read whole), else its bytes.

        ``etag`` (quoted) when the caller knows the content's hash; otherwise one is made from what is
        stored: the file's modification time and size on local disk, the SHA-256 of the bytes elsewhere.
        """
        path, data = self.local_path(key), None
        if path is None:
            data = self.get_bytes(key)
            size = len(data)
            etag = etag or f'"{hashlib.sha256(data).hexdigest()}"'
        else:
            try:
                stat = path.stat()
            except OSError:
                raise StorageError(f"This {kind} is missing from storage.") from None  # the page's words
            size = stat.st_size
            etag = etag or f'"{stat.st_mtime_ns:x}-{size:x}"'
        return StoredFile(kind=kind, media_type=media_type, name=name, size=size, path=path, data=data, etag=etag)

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._path(key)))

    def delete(self, key: str) -> None:
        """Remove one file; a missing one is fine."""
        path = self._path(key)
        try:
            if self.fs.exists(path):
                self.fs.rm(path)
        except OSError as exc:
            raise StorageError(f"could not delete {key}: {exc}") from exc

    def delete_generation(self, user_id: int, generation_id: str) -> None:
        """Remove every file of one generation; missing files are fine."""
        folder = f"{self.root}/{user_id}/{generation_id}"
        if not re.fullmatch(r"[0-9a-f]{32}", generation_id):
            raise StorageError(f"refusing to delete an unexpected folder: {generation_id!r}")
        try:
            if self.fs.exists(folder):
                self.fs.rm(folder, recursive=True)
        except OSError as exc:
            raise StorageError(f"could not delete media of {generation_id}: {exc}") from exc
