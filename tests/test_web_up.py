"""`mailrobot up` serves the web app too; `mailrobot web` runs it alone (R2)."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx

from robot.config import Settings
from tests.conftest import free_port, settings_env
from tests.test_up import _wait_for_port


def test_up_serves_the_reception_and_its_submissions_are_acknowledged(tmp_path, sink):
    settings = Settings(data_dir=tmp_path / "var", smtp_port=free_port(), web_port=free_port(),
                        outbound_smtp_host=sink.host, outbound_smtp_port=sink.port, workers=1)
    env = settings_env(settings)
    env.pop("MAILROBOT_REDIS_URL", None)
    process = subprocess.Popen([sys.executable, "-m", "robot.cli.main", "up"], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(settings.web_port, process)
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.web_port}", timeout=30) as client:
            assert "Задать вопрос" in client.get("/").text
            version = client.get("/api/v1/consent").json()["version"]
            created = client.post("/api/v1/submissions", json={
                "form": "question", "name": "Орлова Анна", "email": "orlova@example.ru",
                "text": "Подскажите, как передать показания счётчика через сайт?",
                "consent": {"given": True, "version": version}})
        assert created.status_code == 201, created.text
        number = created.json()["number"]
        [ack] = sink.wait_for(1, timeout=30)
        assert number in ack.get_body(("plain",)).get_content()
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode(errors="replace")
    assert process.returncode == 0, output
    assert "Traceback" not in output


def test_web_runs_alone(tmp_path, redis_server):
    settings = Settings(data_dir=tmp_path / "var", redis_url=redis_server, web_port=free_port())
    settings.ensure_dirs()
    subprocess.run([sys.executable, "-m", "robot.cli.main", "db", "upgrade"], env=settings_env(settings), check=True,
                   cwd=tmp_path, stdout=subprocess.DEVNULL)
    process = subprocess.Popen([sys.executable, "-m", "robot.cli.main", "web"], env=settings_env(settings),
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(settings.web_port, process)
        page = httpx.get(f"http://127.0.0.1:{settings.web_port}/forms/complaint", timeout=30)
        assert page.status_code == 200 and "Обращение, жалоба" in page.text
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode(errors="replace")
    # uvicorn finishes its requests, then ends by the signal it was asked to stop with (as a shell expects).
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Finished server process" in output and "Traceback" not in output


def test_the_web_process_does_not_load_the_classifier(tmp_path):
    """Memory (issue 2: the whole stack <= 400 MB): the web app stores submissions and the workers
    classify them, so `mailrobot web` must not carry scikit-learn and SciPy (~100 MB a process)."""
    settings = Settings(data_dir=tmp_path / "var", web_port=free_port())
    code = (
        "import sys, uvicorn\n"
        "def run(app, **kwargs):\n"
        "    heavy = sorted(m for m in ('sklearn', 'scipy', 'numpy', 'pymorphy3') if m in sys.modules)\n"
        "    print('HEAVY', ','.join(heavy) or '-', flush=True)\n"
        "uvicorn.run = run\n"
        "from robot.cli.main import app\n"
        "app(['db', 'upgrade'], standalone_mode=False)\n"
        "app(['web'], standalone_mode=False)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=settings_env(settings), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY -" in done.stdout, done.stdout
