"""`mailrobot up` with the phone channel configured supervises the baresip lines and the dialler
(issue 9): each line's config is written into the data dir, the dialler connects to every line, a
killed baresip is started again and reconnected, and SIGTERM stops them all. Inside a private
network namespace, as baresip binds RTP to every interface."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from robot.config import Settings
from tests.conftest import free_port, settings_env
from tests.phone_support import namespace_refusal
from tests.test_up import _processes_mentioning

REFUSAL = namespace_refusal()
pytestmark = pytest.mark.skipif(REFUSAL is not None, reason=f"no baresip lines here: {REFUSAL}")


class Output:
    """The lines `mailrobot up` and its children print, read as they come."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            self.lines.append(raw.decode(errors="replace"))

    def count(self, pattern: str) -> int:
        return sum(bool(re.search(pattern, line)) for line in list(self.lines))

    def wait_for(self, pattern: str, times: int = 1, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count(pattern) < times:
            if time.monotonic() > deadline:
                pytest.fail(f"no {pattern!r} ×{times} in the output:\n{''.join(self.lines)[-4000:]}")
            time.sleep(0.1)

    def text(self) -> str:
        self._thread.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return "".join(self.lines)


def test_up_supervises_the_baresip_lines_and_the_dialler(tmp_path, database_url):
    data_dir = tmp_path / "var"
    settings = Settings(data_dir=data_dir, database_url=database_url, smtp_port=free_port(), web_port=free_port(),
                        workers=1, phone_account="<sip:robot@127.0.0.1>", phone_lines=2)
    env = settings_env(settings)
    env.pop("MAILROBOT_REDIS_URL", None)  # `up` starts its own redis-server
    script = f"ip link set lo up && exec {sys.executable} -m robot.cli.main up"
    process = subprocess.Popen(["unshare", "-n", "sh", "-c", script], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = Output(process)
    try:
        for line in ("line0", "line1"):
            output.wait_for(rf"line {line}: connected to baresip at 127\.0\.0\.1:")
        config = (data_dir / "phone" / "line1" / "config").read_text()
        assert "sip_listen\t\t127.0.0.1:5062" in config and "ctrl_tcp_listen\t\t127.0.0.1:4445" in config
        (first,) = _processes_mentioning(str(data_dir / "phone" / "line1"))
        subprocess.run(["kill", "-9", str(first)], check=True)
        output.wait_for(r"baresip-line1 exited with status -9; restarting")
        output.wait_for(r"line line1: connected to baresip", times=2)
        (second,) = _processes_mentioning(str(data_dir / "phone" / "line1"))
        assert second != first
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    text = output.text()
    assert process.returncode == 0, text[-4000:]
    assert "mailrobot stopped" in text and "Traceback" not in text
    assert _processes_mentioning(str(data_dir)) == []
