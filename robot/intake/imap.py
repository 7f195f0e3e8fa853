"""IMAP intake: read an existing mailbox the company cannot point an MX at (R1).

The promise is the SMTP gateway's: a message is marked processed in the mailbox (flagged \\Seen,
or moved to the processed folder) only after it is committed through :func:`accept_many`. A crash
between the two leaves it unmarked; the next pass reads it again, and the dedupe key recognises
it as a redelivery, so nothing is lost and nothing is registered twice.

Which messages a pass reads: every UID above the highest one already stored (a person who opened
the mailbox and marked a message read does not hide it), plus everything still unmarked (what a
crash left behind). The folder's UIDVALIDITY is kept with that UID; when the server changes it
(a rebuilt or migrated mailbox), every known UID is void and the folder is read from the start.

Between passes the intake waits in IDLE, which the server interrupts when mail arrives; a server
without IDLE is polled. Either way it looks at least every ``imap_poll_s`` seconds (at most 30).
A lost connection or a failing database costs a reconnect with growing pauses, never a message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import parseaddr

from imapclient import IMAPClient
from imapclient.imapclient import DELETED, SEEN, SocketTimeout
from sqlalchemy import select

from robot.app import Robot
from robot.config import Settings
from robot.intake.accept import Incoming, accept_many
from robot.storage.models import Event, ImapMailbox

log = logging.getLogger("robot.intake.imap")

CHANNEL = "imap"
#: Messages fetched and committed together (one transaction, one round of flags).
BATCH = 50


@dataclass(frozen=True)
class Mailbox:
    """Where to read: the IMAP settings, checked once."""

    host: str
    port: int
    tls: str
    user: str
    password: str
    folder: str
    processed_folder: str | None
    poll_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailbox:
        if not settings.imap_host or not settings.imap_user or settings.imap_password is None:
            raise ValueError("the IMAP intake needs MAILROBOT_IMAP_HOST, MAILROBOT_IMAP_USER and MAILROBOT_IMAP_PASSWORD")
        return cls(settings.imap_host, settings.effective_imap_port, settings.imap_tls, settings.imap_user,
                   settings.imap_password, settings.imap_folder, settings.imap_processed_folder, settings.imap_poll_s)


@dataclass
class Pass:
    """What one pass over the folder did."""

    stored: int = 0
    duplicates: int = 0
    uidvalidity_changed: bool = False


class ImapIntake:
    """Reads one folder of one mailbox into the robot, for as long as it is asked to."""

    def __init__(self, robot: Robot, *, backoff_initial_s: float = 1.0, backoff_max_s: float = 60.0,
                 batch: int = BATCH) -> None:
        self.robot = robot
        self.mailbox = Mailbox.from_settings(robot.settings)
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.batch = batch
        #: Set while logged in and waiting for new mail, after the first pass over the folder.
        self.connected = threading.Event()

    # The service loop -----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Read the folder until ``stop`` is set, reconnecting with growing pauses after failures."""
        failures = 0
        while not stop.is_set():
            try:
                with self.connect() as client:
                    failures = 0
                    while not stop.is_set():
                        self.sweep(client)
                        self.connected.set()
                        self.wait_for_mail(client, stop)
            except Exception as error:  # any failure: keep the mail where it is, and retry
                failures += 1
                pause = min(self.backoff_initial_s * 2 ** (failures - 1), self.backoff_max_s)
                log.warning("IMAP intake from %s@%s failed (%s: %s); retrying in %.1f s", self.mailbox.user,
                            self.mailbox.host, type(error).__name__, error, pause,
                            exc_info=not _expected(error))
                stop.wait(pause)
            finally:
                self.connected.clear()

    @contextmanager
    def connect(self) -> Iterator[IMAPClient]:
        box = self.mailbox
        client = IMAPClient(box.host, box.port, ssl=box.tls == "tls", timeout=SocketTimeout(connect=15, read=120))
        with client:
            if box.tls == "starttls":
                client.starttls()
            if box.user.isascii() and box.password.isascii():
                client.login(box.user, box.password)
            else:
                # LOGIN is ASCII-only in practice; SASL PLAIN carries UTF-8.
                client.plain_login(box.user, box.password)
            if box.processed_folder and not client.folder_exists(box.processed_folder):
                client.create_folder(box.processed_folder)
            log.info("IMAP intake reading %s@%s/%s", box.user, box.host, box.folder)
            yield client

    # One pass ---------------------------------------------------------------------------------

    def sweep(self, client: IMAPClient) -> Pass:
        """Store everything new in the folder, then mark it processed; batch by batch."""
        done = Pass()
        selected = client.select_folder(self.mailbox.folder)
        last_uid, done.uidvalidity_changed = self._position(int(selected[b"UIDVALIDITY"]))
        for uids in _chunks(self._candidates(client, last_uid), self.batch):
            fetched = client.fetch(uids, ["BODY.PEEK[]"])  # PEEK: reading must not set \Seen
            present = [uid for uid in uids if b"BODY[]" in fetched.get(uid, {})]
            items = [_incoming(fetched[uid][b"BODY[]"], self.mailbox.host) for uid in present]
            results = accept_many(self.robot, items) if items else []  # committed, or raises
            self._mark_processed(client, present)
            self._advance(max(uids))
            done.stored += sum(not result.duplicate for result in results)
            done.duplicates += sum(result.duplicate for result in results)
        if done.stored or done.duplicates:
            log.info("IMAP intake stored %d message(s), %d already stored", done.stored, done.duplicates)
        return done

    def _candidates(self, client: IMAPClient, last_uid: int) -> list[int]:
        if self.mailbox.processed_folder:
            # Whatever is still here has not been moved out, so is not known to be processed.
            return sorted(client.search(["UNDELETED"]))
        # `n:*` also matches the highest UID when it is below n; hence the comparison.
        newer = {uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid}
        unmarked = set(client.search(["UNSEEN", "UNDELETED"]))
        return sorted(newer | unmarked)

    def _mark_processed(self, client: IMAPClient, uids: list[int]) -> None:
        if not uids:
            return
        target = self.mailbox.processed_folder
        if target is None:
            client.add_flags(uids, [SEEN], silent=True)
        elif client.has_capability("MOVE"):
            client.move(uids, target)
        else:
            client.copy(uids, target)
            client.add_flags(uids, [DELETED], silent=True)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(uids)
            else:
                client.expunge()

    # Where we stand in the folder -------------------------------------------------------------

    def _key(self):
        box = self.mailbox
        return (ImapMailbox.host == box.host, ImapMailbox.username == box.user, ImapMailbox.folder == box.folder)

    def _position(self, uidvalidity: int) -> tuple[int, bool]:
        """The highest UID stored under this UIDVALIDITY (0 after a change), and whether it changed."""
        box = self.mailbox
        now = self.robot.clock.now()
        with self.robot.unit_of_work() as session:
            state = session.scalar(select(ImapMailbox).where(*self._key()).with_for_update())
            if state is None:
                state = ImapMailbox(host=box.host, username=box.user, folder=box.folder, uidvalidity=uidvalidity,
                                    last_uid=0, updated_at=now)
                session.add(state)
                return 0, False
            if state.uidvalidity == uidvalidity:
                return state.last_uid, False
            log.warning("UIDVALIDITY of %s@%s/%s changed from %s to %s; reading the folder again", box.user,
                        box.host, box.folder, state.uidvalidity, uidvalidity)
            session.add(Event(at=now, actor=f"intake:{CHANNEL}", action="imap_uidvalidity_changed",
                              detail={"host": box.host, "folder": box.folder, "old": state.uidvalidity,
                                      "new": uidvalidity, "last_uid": state.last_uid}))
            state.uidvalidity, state.last_uid, state.updated_at = uidvalidity, 0, now
            return 0, True

    def _advance(self, uid: int) -> None:
        with self.robot.unit_of_work() as session:
            state = session.scalar(select(ImapMailbox).where(*self._key()).with_for_update())
            if state is not None and uid > state.last_uid:
                state.last_uid, state.updated_at = uid, self.robot.clock.now()

    # Waiting ----------------------------------------------------------------------------------

    def wait_for_mail(self, client: IMAPClient, stop: threading.Event) -> None:
        """Until the server reports a change, ``poll_s`` passes, or ``stop`` is set."""
        deadline = time.monotonic() + self.mailbox.poll_s
        if not client.has_capability("IDLE"):
            stop.wait(self.mailbox.poll_s)
            return
        client.idle()
        try:
            while not stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                # Short checks, so that a stop request is seen within a second.
                if client.idle_check(timeout=min(1.0, remaining)):
                    return
        finally:
            client.idle_done()


def _incoming(raw: bytes, host: str) -> Incoming:
    """The envelope a delivering MTA left in the headers: Return-Path and Delivered-To."""
    headers = BytesHeaderParser().parsebytes(raw[:65536])
    return_path = headers.get("Return-Path")
    # `Return-Path: <>` is a bounce's empty sender; loop prevention must see it as such.
    mail_from = None if return_path is None else parseaddr(str(return_path))[1]
    delivered_to = [parseaddr(str(value))[1] for value in headers.get_all("Delivered-To") or []]
    return Incoming(raw, CHANNEL, mail_from, [address for address in delivered_to if address][:1], host)


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _expected(error: Exception) -> bool:
    """Failures of the network or the server, which need no traceback in the log."""
    import imaplib

    from sqlalchemy.exc import OperationalError

    return isinstance(error, OSError | imaplib.IMAP4.error | OperationalError)
