"""Real calls for the phone tests and the bench, inside a private network namespace.

Run as ``unshare -n python tests/phone_support.py PLAN.json`` (root): baresip binds RTP and DNS
sockets to every interface, so the calls stay on the namespace's own loopback. The script brings
``lo`` up, starts the robot's lines (as ``mailrobot up`` would: robot.phone.baresip from the
settings), one "customer" baresip per scenario and an "operator", and runs the real dialler until
no queued call is left. The database is a file (or a Unix socket) shared with the test outside.

Customer behaviours (driven through each customer's own ctrl_tcp):
``answer`` listens to the end and records what it heard (sndfile); ``reject`` refuses (486);
``never`` lets it ring; ``early`` hangs up a second after answering; ``operator`` presses the
operator key after answering and is transferred to the operator instance; ``absent``: no
instance at all (nobody there). Writes RESULT.json: per attempt the outcome, per customer its
events and recording, and whether the operator took a transferred call.

With ``"kill": true`` in the plan the dialler runs as its own process instead
(``phone_support.py --dialler NAME PLAN.json``, as ``mailrobot phone dial`` would), is killed with
SIGKILL while a call rings, and is started again (:func:`kill_mid_call`).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from robot.app import Robot
from robot.clock import FrozenClock
from robot.config import Settings
from robot.phone.baresip import Line, start
from robot.phone.ctrl import Ctrl
from robot.phone.dialler import Dialler, lines_from_settings
from robot.storage.models import Customer

HOST = "127.0.0.1"
CUSTOMER_SIP, CUSTOMER_CTRL, CUSTOMER_RTP = 5200, 4600, 20000
OPERATOR = Line("operator", Path("."), 5190, 4590, 19900, f"<sip:operator@{HOST}:5190>", answermode="auto")


def add_phone_customers(robot: Robot, phones: list[str | None], *, accounts: str) -> None:
    """Customers with these phones (None: no phone), account numbers ``{accounts}00000001`` on."""
    now = robot.clock.now()
    with robot.unit_of_work() as session:
        for i, phone in enumerate(phones, start=1):
            session.add(Customer(account_number=f"{accounts}{i:08d}", name=f"Потребитель {i}", email=None,
                                 email_consent_at=None, phone=phone, address=None, unit="omsk-1", territory=None,
                                 source="test", imported_at=now, updated_at=now))


def customer_line(root: Path, index: int, behaviour: str, silence: Path) -> Line:
    # baresip also listens for TLS on the SIP port + 1.
    sip = CUSTOMER_SIP + 2 * index
    return Line(f"customer{index}", root / f"customer{index}", sip, CUSTOMER_CTRL + index,
                CUSTOMER_RTP + 10 * index, f"<sip:customer{index}@{HOST}:{sip}>",
                answermode="manual" if behaviour in ("reject", "never") else "auto",
                audio_source=f"aufile,{silence}", record=behaviour == "answer")


async def drive(ctrl: Ctrl, behaviour: str, operator_key: str, log: list[str]) -> None:
    """Act as a customer who ``behaviour``s, for every call that comes in."""
    while True:
        event = await ctrl.events.get()
        if event is None:
            return
        log.append(f"{event.type} {event.param}".strip())
        if behaviour == "reject" and event.type == "CALL_INCOMING":
            await ctrl.command("hangup")
        elif behaviour == "early" and event.type == "CALL_ESTABLISHED":
            await asyncio.sleep(1.0)
            await ctrl.command("hangup")
        elif behaviour == "operator" and event.type == "CALL_ESTABLISHED" and "operator" not in event.param:
            await asyncio.sleep(0.5)
            await ctrl.command("sndcode", operator_key)


async def wait_listening(lines: list[Line], timeout: float = 10.0) -> list[Ctrl]:
    deadline = time.monotonic() + timeout
    connected = []
    for line in lines:
        while True:
            ctrl = Ctrl(*line.ctrl_address)
            try:
                await ctrl.connect()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        connected.append(ctrl)
    return connected


async def main(plan: dict) -> dict:
    root = Path(plan["root"])
    os.environ.update(plan["env"])
    settings = Settings()
    clock = FrozenClock(datetime.fromisoformat(plan["now"]))
    robot = Robot(settings, clock=clock)
    silence = root / "silence.wav"
    await asyncio.to_thread(subprocess.run, ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e",
                                             "signed-integer", str(silence), "trim", "0", "30"], check=True)
    robot_lines = lines_from_settings(settings)
    customers = {number: (i, behaviour) for i, (number, behaviour) in enumerate(plan["customers"].items())}
    present = {n: customer_line(root, i, b, silence) for n, (i, b) in customers.items() if b != "absent"}
    operator = Line(**{**OPERATOR.__dict__, "directory": root / "operator", "audio_source": f"aufile,{silence}"})
    processes = [start(line) for line in [*robot_lines, *present.values(), operator]]
    routes = {number: present[number].uri if number in present else f"sip:nobody@{HOST}:5999"
              for number in customers}
    logs: dict[str, list[str]] = {number: [] for number in customers}
    operator_log: list[str] = []
    started = time.monotonic()
    try:
        watchers = await wait_listening([*present.values(), operator])
        # The robot's lines must be up too before the dialler counts them (it would wait and retry).
        for ctrl in await wait_listening(robot_lines):
            await ctrl.close()
        drivers = [asyncio.create_task(drive(ctrl, customers[number][1], settings.phone_operator_key, logs[number]))
                   for number, ctrl in zip(present, watchers, strict=False)]
        drivers.append(asyncio.create_task(drive(watchers[-1], "operator-desk", "", operator_log)))
        dialler = Dialler(robot, robot_lines, dial_uri=routes.__getitem__, keep_messages=True)
        done = await asyncio.wait_for(dialler.run(asyncio.Event(), until_idle=True), plan.get("timeout", 60))
        await asyncio.sleep(1.5)  # the operator's and customers' last events after the robot's side closed
        elapsed = time.monotonic() - started
        for ctrl in watchers:
            await ctrl.close()
        await asyncio.gather(*drivers, return_exceptions=True)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        robot.close()
    recordings = {number: sorted(str(p) for p in line.directory.glob("dump-*-dec.wav"))
                  for number, line in present.items()}
    return {
        "elapsed_s": round(elapsed, 2),
        "outcomes": {str(k): {"result": o.result, "detail": o.detail, "seconds": o.seconds, "events": list(o.events)}
                     for k, o in done.outcomes.items()},
        "errors": done.errors,
        "customers": logs,
        "operator": operator_log,
        "recordings": recordings,
        "messages": str(dialler.messages),
    }


# --- a dialler killed mid-call ----------------------------------------------------------------

def attempts_now(robot: Robot) -> list[dict]:
    """The phone attempts as the database holds them at this moment."""
    from sqlalchemy import select

    from robot.storage.models import CampaignAttempt

    with robot.sessions() as session:
        return [{"id": a.id, "result": a.result, "line": a.line, "result_at": a.result_at and a.result_at.isoformat(),
                 "detail": a.detail} for a in session.scalars(select(CampaignAttempt).order_by(CampaignAttempt.id))]


async def dialler_process(plan: dict, name: str) -> dict:
    """The dialler as ``mailrobot phone dial`` runs it (its own process, SIGTERM stops it), on the
    plan's frozen clock and with the customers' routes for a trunk."""
    import logging
    import signal

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s")
    os.environ.update(plan["env"])
    settings = Settings()
    robot = Robot(settings, clock=FrozenClock(datetime.fromisoformat(plan["now"])))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        dialler = Dialler(robot, lines_from_settings(settings), dial_uri=plan["routes"].__getitem__)
        done = await dialler.run(stop, poll_s=0.2)
    finally:
        robot.close()
    return {"name": name, "outcomes": {str(k): o.result for k, o in done.outcomes.items()}, "errors": done.errors}


async def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        await asyncio.sleep(0.05)


async def kill_mid_call(plan: dict, plan_path: Path) -> dict:
    """One customer who lets it ring; the dialler process is killed (SIGKILL) while the call rings,
    restarted, and then the customer rejects the killed call, so its late outcome reaches the line
    the restarted dialler holds. Reports the attempts after the kill and after the restart."""
    import signal

    root = Path(plan["root"])
    os.environ.update(plan["env"])
    settings = Settings()
    robot = Robot(settings, clock=FrozenClock(datetime.fromisoformat(plan["now"])))
    silence = root / "silence.wav"
    await asyncio.to_thread(subprocess.run, ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e",
                                             "signed-integer", str(silence), "trim", "0", "30"], check=True)
    robot_lines = lines_from_settings(settings)
    (number,) = plan["customers"]
    customer = customer_line(root, 0, "never", silence)
    processes = [start(line) for line in [*robot_lines, customer]]
    plan = {**plan, "routes": {number: customer.uri}}
    plan_path.write_text(json.dumps(plan, ensure_ascii=False))
    started = time.monotonic()
    diallers: list[subprocess.Popen] = []

    def dialler(name: str) -> subprocess.Popen:
        log = open(root / f"{name}.log", "wb")  # noqa: SIM115 - the child keeps the descriptor
        diallers.append(subprocess.Popen([sys.executable, __file__, "--dialler", name, str(plan_path)],
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        log.close()
        return diallers[-1]

    def connected(name: str) -> bool:
        text = (root / f"{name}.log").read_text(errors="replace")
        return text.count("connected to baresip") >= len(robot_lines)

    heard: list[str] = []
    try:
        (watch,) = await wait_listening([customer])
        for ctrl in await wait_listening(robot_lines):
            await ctrl.close()
        listener = asyncio.create_task(drive(watch, "never", "", heard))
        first = dialler("dialler1")
        await wait_for(lambda: any(e.startswith("CALL_INCOMING") for e in heard), 20, "the customer's phone to ring")
        first.send_signal(signal.SIGKILL)
        killed_rc = await asyncio.to_thread(first.wait, 10)
        after_kill = await asyncio.to_thread(attempts_now, robot)
        second = dialler("dialler2")
        await wait_for(lambda: connected("dialler2"), 20, "the restarted dialler to take its lines")
        # The killed call is still ringing on the robot's line: the customer rejects it now, and the
        # line reports its end (486) to the restarted dialler's connection.
        await watch.command("hangup")
        await wait_for(lambda: any(e.startswith("CALL_CLOSED") for e in heard), 10, "the rejected call to close")
        await asyncio.sleep(1.5)
        second.send_signal(signal.SIGTERM)
        second_rc = await asyncio.to_thread(second.wait, 10)
        after_restart = await asyncio.to_thread(attempts_now, robot)
        await watch.close()
        await asyncio.gather(listener, return_exceptions=True)
    finally:
        for process in [*diallers, *processes]:
            if process.poll() is None:
                process.terminate()
        for process in [*diallers, *processes]:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        robot.close()
    second_result = json.loads((root / "dialler2.json").read_text())
    return {"elapsed_s": round(time.monotonic() - started, 2), "killed_returncode": killed_rc,
            "restarted_returncode": second_rc, "after_kill": after_kill, "after_restart": after_restart,
            "restarted": second_result, "customer": heard,
            "logs": {n: (root / f"{n}.log").read_text(errors="replace")[-3000:] for n in ("dialler1", "dialler2")}}


if __name__ == "__main__":
    if sys.argv[1] == "--dialler":  # a child of the namespace's script: lo is already up
        name, plan_path = sys.argv[2], Path(sys.argv[3])
        plan = json.loads(plan_path.read_text())
        done = asyncio.run(dialler_process(plan, name))
        (Path(plan["root"]) / f"{name}.json").write_text(json.dumps(done, ensure_ascii=False))
        sys.exit(0)
    plan_path = Path(sys.argv[1])
    plan = json.loads(plan_path.read_text())
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    result = asyncio.run(kill_mid_call(plan, plan_path) if plan.get("kill") else main(plan))
    Path(plan["result"]).write_text(json.dumps(result, ensure_ascii=False, indent=1))


# --- the side outside the namespace (tests and bench) -------------------------------------------

def namespace_refusal() -> str | None:
    """Why real calls cannot run here (no baresip, no network namespaces), or None."""
    import shutil

    for tool in ("baresip", "unshare", "ip", "sox", "espeak-ng"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (make test-deps installs baresip-core, espeak-ng, sox)"
    tried = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, check=False)
    if tried.returncode != 0:
        return f"the kernel refuses a private network namespace (unshare -n: {tried.stderr.strip()})"
    return None


def settings_environment(settings: Settings) -> dict[str, str]:
    env = {}
    for name, value in settings.model_dump(exclude_none=True).items():
        env[f"MAILROBOT_{name.upper()}"] = ",".join(value) if isinstance(value, list) else str(value)
    return env


def run_calls(robot: Robot, customers: dict[str, str], root: Path, *, timeout: float = 60.0,
              kill: bool = False) -> dict:
    """Run the dialler in a private network namespace against ``customers`` (number → behaviour);
    with ``kill``, the dialler killed mid-call and restarted instead (:func:`kill_mid_call`)."""
    root.mkdir(parents=True, exist_ok=True)
    plan = {"root": str(root), "env": settings_environment(robot.settings), "now": robot.clock.now().isoformat(),
            "customers": customers, "result": str(root / "result.json"), "timeout": timeout, "kill": kill}
    (root / "plan.json").write_text(json.dumps(plan, ensure_ascii=False))
    done = subprocess.run(["unshare", "-n", sys.executable, str(Path(__file__).resolve()), str(root / "plan.json")],
                          capture_output=True, text=True, timeout=timeout + 30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"phone_support failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads((root / "result.json").read_text())


def similarity(sent: Path, heard: Path) -> tuple[float, float, float]:
    """(sent seconds, heard seconds, peak normalised cross-correlation) of two 8 kHz mono WAVs."""
    import wave

    import numpy as np

    def samples(path: Path) -> np.ndarray:
        with wave.open(str(path), "rb") as wav:
            assert wav.getframerate() == 8000 and wav.getnchannels() == 1, path
            return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)

    a, b = samples(sent), samples(heard)
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    correlation = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    peak = float(np.max(np.abs(correlation)) / (np.linalg.norm(a) * np.linalg.norm(b) or 1.0))
    return len(a) / 8000, len(b) / 8000, peak
