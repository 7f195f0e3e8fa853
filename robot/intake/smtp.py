"""The SMTP gateway (aiosmtpd): 250 only after the raw message is committed.

Status codes are the promise we make to the sending MTA:
- 452 at MAIL FROM while the disk is nearly full;
- 550 at RCPT for an address we do not serve;
- 552 for a message over the size limit (aiosmtpd answers it after the final dot);
- 451 4.3.0 when storage fails, never a 5xx, so the sender keeps the message and retries;
- 250 once the message is on disk, including a redelivery we already have.
"""

from __future__ import annotations

import asyncio
import logging
import shutil

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from robot.app import Robot
from robot.intake.accept import Incoming
from robot.intake.committer import GroupCommitter

log = logging.getLogger("robot.intake.smtp")

TEMPFAIL = "451 4.3.0 Temporary local problem, please try again later"


class GatewaySMTP(SMTP):
    """aiosmtpd's server, minus the RFC 5321 line limit that real HTML mail breaks every day.

    Lines of any length up to the message size limit are read; a larger message gets 552
    (the size check comes first), never aiosmtpd's permanent «500 Line too long».
    """

    def __init__(self, handler: Gateway, *, data_size_limit: int, **kwargs) -> None:
        self.line_length_limit = data_size_limit + 2
        super().__init__(handler, data_size_limit=data_size_limit, **kwargs)


class Gateway:
    """The aiosmtpd handler."""

    def __init__(self, robot: Robot) -> None:
        self.robot = robot
        self.accepted = robot.settings.accepted_recipients
        self.committer = GroupCommitter(robot)

    def is_accepted(self, address: str) -> bool:
        address = address.lower().strip()
        domain = address.rpartition("@")[2]
        return address in self.accepted or domain in self.accepted

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        # Postfix's habit: refuse new mail politely while the disk is nearly full, before any DATA.
        data_dir = self.robot.settings.data_dir
        free_mb = shutil.disk_usage(data_dir if data_dir.exists() else ".").free // (1024 * 1024)
        if free_mb < self.robot.settings.min_free_disk_mb:
            log.error("only %s MB free in %s; refusing new mail with 452", free_mb, data_dir)
            return "452 4.3.1 Insufficient system storage, please try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if not self.is_accepted(address):
            return "550 5.1.1 Recipient address rejected: not served here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        incoming = Incoming(raw, "email", envelope.mail_from, list(envelope.rcpt_tos), peer)
        try:
            result = await asyncio.wrap_future(self.committer.submit(incoming))
        except Exception:
            log.warning("storing a message from %s failed; answered 451", peer)
            return TEMPFAIL
        log.info("accepted raw message %s from %s (%d bytes%s)", result.raw_id, peer, len(raw),
                 ", duplicate" if result.duplicate else "")
        return f"250 2.0.0 OK queued as {result.raw_id}"

    async def handle_exception(self, error: Exception) -> str:
        # aiosmtpd's own answer to an uncaught exception is a permanent 500; ours is temporary.
        log.exception("unexpected error in the SMTP session", exc_info=error)
        return "421 4.3.0 Temporary local problem, closing connection"


class GatewayController(Controller):
    """Runs the gateway in a thread of its own; used by ``mailrobot smtp`` and by the tests."""

    def __init__(self, robot: Robot, *, host: str | None = None, port: int | None = None) -> None:
        settings = robot.settings
        self.robot = robot
        super().__init__(
            Gateway(robot),
            hostname=host or settings.smtp_host,
            port=settings.smtp_port if port is None else port,
            server_hostname=settings.smtp_hostname,
            ready_timeout=10,
        )

    def stop(self, *args, **kwargs) -> None:
        super().stop(*args, **kwargs)
        self.handler.committer.close()

    def factory(self) -> SMTP:
        return GatewaySMTP(
            self.handler,
            data_size_limit=self.robot.settings.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self.robot.settings.smtp_hostname,
            ident="mailrobot ESMTP",
        )
