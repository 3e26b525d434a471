"""Storage by server-made keys, on local disk and on a non-local fsspec filesystem."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from core import storage
from core.errors import StorageError
from core.storage import Storage


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    root = str(tmp_path / "media") if request.param == "local" else f"memory://veogen-{uuid.uuid4().hex}"
    return Storage(root)


def test_put_get_delete_round_trip(store: Storage, tmp_path: Path):
    gid = uuid.uuid4().hex
    key = storage.video_key(7, gid, 0)
    store.put_bytes(key, b"video bytes")
    src = tmp_path / "poster.jpg"
    src.write_bytes(b"poster bytes")
    store.put_file(storage.poster_key(7, gid, 0), src)
    assert store.get_bytes(key) == b"video bytes"
    assert store.get_bytes(storage.poster_key(7, gid, 0)) == b"poster bytes"
    assert store.exists(key)
    store.delete_generation(7, gid)
    assert not store.exists(key)
    with pytest.raises(StorageError, match="is missing"):
        store.get_bytes(key)
    store.delete_generation(7, gid)  # deleting twice is fine


def test_local_path_only_for_local_storage(store: Storage):
    key = storage.video_key(1, uuid.uuid4().hex, 0)
    assert (store.local_path(key) is not None) == store.is_local


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "1/../../x",
        "/abs/path",
        "1/not-a-generation/0.mp4",
        "a/" + "0" * 32 + "/0.mp4",
        "1/" + "0" * 32 + "/0.mp4\n",
    ],
)
def test_keys_not_made_by_the_server_are_refused(store: Storage, key: str):
    with pytest.raises(StorageError, match="did not make"):
        store.put_bytes(key, b"x")
    with pytest.raises(StorageError):
        store.get_bytes(key)


def test_delete_refuses_an_unexpected_folder(store: Storage):
    with pytest.raises(StorageError):
        store.delete_generation(1, "../..")
