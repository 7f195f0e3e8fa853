"""The connection to the outgoing relay."""

from __future__ import annotations

import smtplib
import threading


class Relay:
    """One SMTP connection to the relay, kept open between messages of this process.

    A fresh connection per acknowledgement costs more than composing it; a connection the relay
    has closed meanwhile is noticed on use and replaced once.
    """

    def __init__(self, host: str, port: int, *, local_hostname: str, timeout_s: float) -> None:
        self.host, self.port = host, port
        self.local_hostname, self.timeout_s = local_hostname, timeout_s
        self._client: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def send(self, mail_from: str, rcpt_to: str, raw: bytes) -> None:
        with self._lock:
            for attempt in (1, 2):
                fresh = self._client is None
                client = self._connect()
                try:
                    client.sendmail(mail_from, [rcpt_to], raw)
                    return
                except smtplib.SMTPResponseException:
                    # The relay answered (a refusal): the connection is fine, the message is not.
                    self._reset()
                    raise
                except OSError:
                    # Disconnected, broken pipe, reset: a kept connection may simply have gone
                    # stale while idle, so one fresh try; a fresh one failing is the relay's state.
                    self.close()
                    if fresh or attempt == 2:
                        raise

    def _connect(self) -> smtplib.SMTP:
        if self._client is None:
            self._client = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname,
                                        timeout=self.timeout_s)
        return self._client

    def _reset(self) -> None:
        try:
            if self._client is not None:
                self._client.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
