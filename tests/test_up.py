"""`mailrobot up`: the whole single-machine system, as `make run` starts it (R1)."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robot.config import Settings
from tests.conftest import ROBOT_ADDRESS, customer_mail, free_port, settings_env

MAILROBOT_UP = [sys.executable, "-m", "robot.cli.main", "up"]


def _processes_mentioning(marker: str) -> list[int]:
    """Pids of live processes whose command line or environment names ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if marker.encode() in blob and state != "Z":
            found.append(int(entry.name))
    return found


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mailrobot up exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail("the SMTP gateway did not open its port")


def test_up_starts_everything_answers_and_stops_cleanly(tmp_path, sink, database_url):
    data_dir = tmp_path / "var"
    settings = Settings(data_dir=data_dir, database_url=database_url, smtp_port=free_port(), outbound_smtp_host=sink.host,
                        outbound_smtp_port=sink.port, workers=1, web_port=free_port())
    env = settings_env(settings)
    env.pop("MAILROBOT_REDIS_URL", None)  # `up` starts its own redis-server
    process = subprocess.Popen(MAILROBOT_UP, env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(settings.smtp_port, process)
        with smtplib.SMTP("127.0.0.1", settings.smtp_port) as client:
            client.sendmail("ivanov@example.ru", [ROBOT_ADDRESS], customer_mail())
        [ack] = sink.wait_for(1, timeout=30)
        assert "2026-" in str(ack["Subject"])
        assert "Срок ответа: до" in ack.get_body(("plain",)).get_content()
        assert (data_dir / "redis" / "redis.sock").exists()
        assert (data_dir / "mailrobot.db").exists() == (database_url is None)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode(errors="replace")
    assert process.returncode == 0, output
    assert "mailrobot stopped" in output
    assert "Traceback" not in output
    assert _processes_mentioning(str(data_dir)) == []


def test_up_without_redis_server_says_how_to_get_it(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", smtp_port=free_port())
    env = settings_env(settings)
    env.pop("MAILROBOT_REDIS_URL", None)
    env["PATH"] = str(tmp_path)  # no redis-server on this PATH
    result = subprocess.run(MAILROBOT_UP, env=env, cwd=tmp_path, capture_output=True, timeout=60)
    assert result.returncode == 2
    assert b"apt-get install redis-server" in result.stderr


def _part_pids(name: str, marker: str) -> list[int]:
    """Pids of the live processes named ``mailrobot-<name>`` (`ps -o comm`) started for ``marker``'s data dir."""
    found = []
    for pid in _processes_mentioning(marker):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == f"mailrobot-{name}"[:15]:
                found.append(pid)
        except OSError:
            continue  # gone meanwhile
    return found


def test_a_part_that_dies_is_forked_again_and_serves(tmp_path, sink):
    """R1: the parts are forked from one fork server (sharing what they import); one killed with
    SIGKILL is started again by `mailrobot up`, and mail sent afterwards is acknowledged."""
    data_dir = tmp_path / "var"
    settings = Settings(data_dir=data_dir, smtp_port=free_port(), outbound_smtp_host=sink.host,
                        outbound_smtp_port=sink.port, workers=1, web_port=free_port())
    env = settings_env(settings)
    env.pop("MAILROBOT_REDIS_URL", None)
    process = subprocess.Popen(MAILROBOT_UP, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(settings.smtp_port, process)
        [gateway] = _part_pids("smtp", str(data_dir))
        server = int(Path(f"/proc/{gateway}/stat").read_text().split()[3])  # its parent: the fork server
        assert server != process.pid
        assert len(_part_pids("web", str(data_dir))) == 1
        os.kill(gateway, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _part_pids("smtp", str(data_dir)) in ([], [gateway]):
            time.sleep(0.1)
        [again] = _part_pids("smtp", str(data_dir))
        assert again != gateway
        assert int(Path(f"/proc/{again}/stat").read_text().split()[3]) == server
        _wait_for_port(settings.smtp_port, process)
        with smtplib.SMTP("127.0.0.1", settings.smtp_port) as client:
            client.sendmail("ivanov@example.ru", [ROBOT_ADDRESS], customer_mail())
        [ack] = sink.wait_for(1, timeout=30)
        assert "2026-" in str(ack["Subject"])
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode(errors="replace")
    assert process.returncode == 0, output
    assert "smtp exited with status -9; restarting" in output
    assert _processes_mentioning(str(data_dir)) == []


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no scheduler autogroups on this kernel")
def test_worker_niceness_reaches_the_scheduling_group_of_a_part():
    """MAILROBOT_WORKER_NICE: a part started by `up` leads a session, which Linux schedules as one
    group; the niceness must be the group's too, or the workers take as much CPU as the gateway."""
    code = ("import os; os.setsid(); from robot.cli.main import lower_priority; lower_priority(7); "
            "print(os.nice(0), open('/proc/self/autogroup').read().split()[-1])")
    alone = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60)
    assert alone.stdout.split() == ["7", "7"]
    # From a shell's session, the shell's group is left alone.
    code = ("from robot.cli.main import lower_priority; before = open('/proc/self/autogroup').read(); "
            "lower_priority(7); print(open('/proc/self/autogroup').read() == before)")
    shell = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60)
    assert shell.stdout.strip() == "True"
