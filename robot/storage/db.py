"""Engines, sessions and units of work.

SQLite is the embedded default: WAL journal, ``synchronous=FULL`` so that a commit is on disk
before we say "accepted". SQLite has one writer at a time, and its own busy handler waits by
sleeping (1, 2, 5, 10 … ms), which idles the database under contention; so writers of one SQLite
file queue on a lock of ours instead (threads and processes alike), which hands over at once.
PostgreSQL needs none of this.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

#: Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE.
_IMMEDIATE = "mailrobot_immediate"


def make_engine(url: str, *, busy_timeout_ms: int = 5000, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()
        # SQLite's own lower() folds ASCII only, so ILIKE (lower(x) LIKE lower(y)) would find
        # «Иванов» for «иванов» on PostgreSQL and not here; Python's folds every alphabet.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # Writers take the write lock up front, so a transaction never fails half-way when it
        # upgrades from reading to writing; readers never block anyone in WAL mode.
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class WriteLock:
    """Serialises the writers of one SQLite file across threads and processes.

    A thread lock for the threads of this process, then ``flock`` on a file beside the database
    for the other processes; the kernel releases it if a process dies holding it.

    Intake goes first: a sender waits for its 250 until the raw message is committed, while a
    worker's registration can wait a few milliseconds unseen. A ``priority`` writer (the SMTP
    gateway, the IMAP intake, the web reception; and a delivery's outcome, a few rows a worker
    waits for before its next job) holds a shared lock on a second file while it waits; an
    ordinary writer checks that file before each try and stands back while anyone holds it, so a
    worker that commits chunk after chunk cannot take the lock again and again ahead of a waiting
    gateway.
    """

    def __init__(self, path: Path, timeout_s: float) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._threads = threading.Lock()
        self._fds: dict[str, int] = {}

    def _file(self, suffix: str = "") -> int:
        if suffix not in self._fds:
            self._fds[suffix] = os.open(self.path.with_name(self.path.name + suffix), os.O_RDWR | os.O_CREAT, 0o600)
        return self._fds[suffix]

    def intake_waits(self) -> bool:
        """Whether a priority writer (mostly a sender's intake) waits for the lock now (it holds
        the second file shared): a worker holding the lock commits early."""
        waiting = self._file(".intake")
        if not _try_flock(waiting, fcntl.LOCK_EX):
            return True
        fcntl.flock(waiting, fcntl.LOCK_UN)
        return False

    @contextmanager
    def held(self, *, priority: bool = False) -> Iterator[None]:
        deadline = time.monotonic() + self.timeout_s
        if not self._threads.acquire(timeout=self.timeout_s):
            raise OperationalError("write lock", {}, TimeoutError("database write lock busy"))
        try:
            fd = self._file()
            if priority:
                fcntl.flock(self._file(".intake"), fcntl.LOCK_SH)
            try:
                pause = 0.0002
                # An ordinary writer tries only while no intake waits (or once its own time is up).
                while not ((priority or time.monotonic() > deadline or not self.intake_waits())
                           and _try_flock(fd, fcntl.LOCK_EX)):
                    if time.monotonic() > deadline:
                        raise OperationalError("write lock", {}, TimeoutError("database write lock busy"))
                    time.sleep(pause)
                    pause = min(pause * 2, 0.002)
            finally:
                if priority:
                    fcntl.flock(self._file(".intake"), fcntl.LOCK_UN)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


def _try_flock(fd: int, operation: int) -> bool:
    """Take ``flock`` at once or say it is held by someone else."""
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise OperationalError("write lock", {}, error) from error
    return True


class Database:
    """Sessions for reading, and units of work for writing, on one engine."""

    def __init__(self, engine: Engine, busy_timeout_ms: int) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self._writer_sessions = sessionmaker(engine.execution_options(**{_IMMEDIATE: True}), expire_on_commit=False)
        url = make_url(str(engine.url))
        self.write_lock: WriteLock | None = None
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            self.write_lock = WriteLock(Path(f"{url.database}.writelock"), busy_timeout_ms / 1000)

    @contextmanager
    def unit_of_work(self, *, priority: bool = False) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        ``priority``: on SQLite it goes ahead of waiting workers, and a worker holding the lock
        commits early for it (``WriteLock``). For intake, where a sender waits for this commit
        (SMTP 250, IMAP \\Seen, HTTP 201), and for a delivery's few-row outcome, which a worker
        waits for before it takes its next job."""
        with self.write_lock.held(priority=priority) if self.write_lock else nullcontext():
            session = self._writer_sessions()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
