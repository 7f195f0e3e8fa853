"""A private redis-server on a Unix socket in the data dir, for `mailrobot up` without a Redis URL."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from redis import Redis


class RedisUnavailable(RuntimeError):
    pass


def start_redis(data_dir: Path, *, timeout_s: float = 10.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start redis-server; returns the process and its URL once it answers PING."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisUnavailable(
            "redis-server is not installed. Install it (Debian: `apt-get install redis-server`) "
            "or set MAILROBOT_REDIS_URL to an existing Redis."
        )
    directory = (data_dir / "redis").resolve()
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / "redis.sock"
    socket_path.unlink(missing_ok=True)
    # No persistence: the database is the system of record and the reconciler refills Redis.
    process = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700",
         "--dir", str(directory), "--save", "", "--appendonly", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
        # Its own session: Ctrl-C in a terminal reaches the whole foreground group, and Redis must
        # outlive the workers that are still finishing their jobs. The supervisor stops it last.
        start_new_session=True,
    )
    url = f"unix://{socket_path}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RedisUnavailable(f"redis-server exited with status {process.returncode}")
        if socket_path.exists():
            try:
                if Redis.from_url(url).ping():
                    return process, url
            except Exception:
                pass
        time.sleep(0.05)
    process.kill()
    raise RedisUnavailable("redis-server did not start in time")
