"""A real Dovecot IMAP server for the tests, on loopback, with its own configuration and users.

Debian's `dovecot-imapd` (`make test` installs it). Everything lives in a temporary directory:
the configuration, the users' maildirs (any user name logs in with the server's one password, so
each test takes a mailbox of its own), the runtime sockets and the log; the
system-wide Dovecot (if any) is not touched. Dovecot's login and internal processes run as the
unprivileged users the package creates; mail is owned by whoever runs the tests, or by ``nobody``
when that is root (CI), since Dovecot never serves mail as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = mailrobot-test-{port}
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Processed {{
    auto = create
  }}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DovecotServer:
    """A running Dovecot where every user name has a mailbox and ``password``; :meth:`restart` restarts it."""

    def __init__(self, password: str) -> None:
        if not os.access(DOVECOT, os.X_OK):
            raise RuntimeError("Dovecot is not installed; `make test` installs the Debian package `dovecot-imapd`")
        # Not under pytest's temp dir: that is private to root, and Dovecot's login processes are not root.
        self.root = Path(tempfile.mkdtemp(prefix="mailrobot-dovecot-"))
        self.root.chmod(0o755)
        (self.root / "home").mkdir()
        # Dovecot never serves mail as root: when the tests run as root, mail belongs to `nobody`.
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:
            nobody = pwd.getpwnam("nobody")
            uid, gid = nobody.pw_uid, nobody.pw_gid
            os.chown(self.root / "home", uid, gid)
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.config = self.root / "dovecot.conf"
        self.config.write_text(CONFIG.format(root=self.root, port=self.port, uid=uid, gid=gid, password=password))
        self.start()

    def start(self) -> None:
        # The master daemonises and would hold on to a pipe: its output goes to a file instead.
        with open(self.root / "start.log", "ab") as output:
            subprocess.run([DOVECOT, "-c", str(self.config)], check=True, stdin=subprocess.DEVNULL,
                           stdout=output, stderr=output)
        self._wait_listening()

    def stop(self) -> None:
        """Stop the whole server: every IMAP session is cut, as in a real restart."""
        pid_file = self.root / "run" / "master.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise RuntimeError("dovecot did not stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _wait_listening(self, timeout_s: float = 15) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                if time.monotonic() > deadline:
                    log = self.root / "dovecot.log"
                    raise RuntimeError(f"dovecot did not start:\n{log.read_text() if log.exists() else ''}") from None
                time.sleep(0.05)


    def maildir(self, user: str) -> Path:
        return self.root / "home" / user / "Maildir"

    def change_uidvalidity(self, user: str, value: int) -> None:
        """What a rebuilt or migrated mailbox looks like: the INBOX's UIDVALIDITY becomes ``value``.

        With the server stopped, the maildir's UID list gets the new value and the indexes go, so
        Dovecot rebuilds them from the list when it starts again.
        """
        self.stop()
        maildir = self.maildir(user)
        uidlist = maildir / "dovecot-uidlist"
        header, *rest = uidlist.read_text().split("\n")
        fields = [f"V{value}" if field.startswith("V") else field for field in header.split(" ")]
        uidlist.write_text("\n".join([" ".join(fields), *rest]))
        for index in maildir.glob("dovecot.index*"):
            index.unlink()
        self.start()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""
