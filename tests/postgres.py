"""A real PostgreSQL server for the tests: one per run, a fresh database for each test.

The server is Debian's (`make test` installs the `postgresql` package); its binaries live in
``/usr/lib/postgresql/<version>/bin``, off the PATH. PostgreSQL refuses to run as root, so when
the tests run as root (CI does) the cluster belongs to the ``postgres`` system user that the
package creates. The cluster lives in a temporary directory, listens only on a Unix socket of
its own (no TCP port to collide with anything), trusts local connections, and skips fsync: the
tests check our durability, not PostgreSQL's.
"""

from __future__ import annotations

import ctypes
import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

#: Server settings for a throwaway test cluster (speed over crash safety).
SERVER_OPTIONS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "listen_addresses": "",
    "max_connections": "200",
    "shared_buffers": "64MB",
}


_prctl = ctypes.CDLL(None, use_errno=True).prctl
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # A test run killed outright must not leave a server behind: the kernel sends it SIGINT (fast
    # shutdown). Only an async-signal-safe call here, as the child of a threaded process.
    _prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


def find_binary(name: str) -> str | None:
    """A PostgreSQL server binary: on the PATH, else the newest in Debian's versioned directories."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0)
    return candidates[-1] if candidates else None


class PostgresServer:
    """One running cluster; :meth:`create_database` hands out empty databases."""

    def __init__(self) -> None:
        initdb, postgres = find_binary("initdb"), find_binary("postgres")
        if not initdb or not postgres:
            raise RuntimeError("PostgreSQL is not installed; `make test` installs the Debian package `postgresql`")
        self._owner: pwd.struct_passwd | None = None
        as_user: dict = {}
        if os.geteuid() == 0:
            # PostgreSQL will not run as root; run it as the system user the package created.
            self._owner = pwd.getpwnam("postgres")
            as_user = {"user": self._owner.pw_uid, "group": self._owner.pw_gid, "extra_groups": []}
        # Not under pytest's temp dir: that is private to root, and the server runs as `postgres`.
        self.directory = Path(tempfile.mkdtemp(prefix="mailrobot-pg-"))
        self.data = self.directory / "data"
        if self._owner is not None:
            os.chown(self.directory, self._owner.pw_uid, self._owner.pw_gid)
        subprocess.run([initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust",
                        "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.directory, **as_user)
        options = [f"-c{name}={value}" for name, value in SERVER_OPTIONS.items()]
        self.log = self.directory / "server.log"
        with open(self.log, "wb") as log:
            if self._owner is not None:
                os.fchown(log.fileno(), self._owner.pw_uid, self._owner.pw_gid)
            self.process = subprocess.Popen(
                [postgres, "-D", str(self.data), "-k", str(self.directory), *options],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.directory, preexec_fn=_die_with_parent,  # noqa: PLW1509
                **as_user,
            )
        self._names = itertools.count(1)
        self._wait_ready()

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server (psycopg 3, over the Unix socket)."""
        return f"postgresql+psycopg://postgres@/{database}?host={self.directory}"

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(host=str(self.directory), user="postgres", dbname="postgres", autocommit=True)

    def _wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited at start:\n{self.log.read_text(errors='replace')}")
            try:
                with self._connect():
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"postgres did not start:\n{self.log.read_text(errors='replace')}") from None
                time.sleep(0.05)

    def create_database(self) -> str:
        name = f"mailrobot_test_{os.getpid()}_{next(self._names)}"
        with self._connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: a test that failed half-way may leave a child process connected.
        with self._connect() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextmanager
    def refusing_connections(self, name: str) -> Iterator[None]:
        """The database is unavailable: its sessions are cut and new ones refused, until the block ends."""
        with self._connect() as connection:
            connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        try:
            yield
        finally:
            with self._connect() as connection:
                connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: no waiting for clients
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
