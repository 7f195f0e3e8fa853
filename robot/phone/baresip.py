"""baresip lines: the configuration directory of each instance, and starting it.

One instance carries one call at a time (its ctrl_tcp commands act on the current call), so the
robot runs a pool of them for parallel calls. Each has its own directory under the data dir with
``config`` and ``accounts``; two instances on one machine differ in their SIP, RTP and ctrl ports.
The notes in ../shared/notes/phone-baresip.md say why each line of the config is what it is.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MODULE_PATH = Path("/usr/lib/baresip/modules")
#: RTP ports each line gets: a call needs two (RTP and RTCP), a little room for a slow release.
RTP_PORTS_PER_LINE = 10


@dataclass(frozen=True)
class Line:
    """One baresip instance: where it listens, who it is, what it plays and records."""

    name: str
    directory: Path
    sip_port: int
    ctrl_port: int
    rtp_first: int
    #: The SIP account line (``<sip:robot@host>;…``), without the answer mode.
    account: str
    host: str = "127.0.0.1"
    answermode: str = "manual"
    #: What the line plays when a call starts (the robot sets each call's message with ``ausrc``).
    audio_source: str | None = None
    #: Record each call's sound (``dump-…-dec.wav``: what the line heard) into ``directory``.
    record: bool = False

    @property
    def ctrl_address(self) -> tuple[str, int]:
        return self.host, self.ctrl_port

    @property
    def uri(self) -> str:
        return f"sip:{self.name}@{self.host}:{self.sip_port}"


def write_config(line: Line) -> Path:
    """Write the line's ``config`` and ``accounts``; returns its directory."""
    line.directory.mkdir(parents=True, exist_ok=True)
    modules = ["g711.so", "aufile.so", "aubridge.so"] + (["sndfile.so"] if line.record else [])
    config = [
        f"sip_listen\t\t{line.host}:{line.sip_port}",
        f"net_interface\t\t{line.host}",
        f"rtp_ports\t\t{line.rtp_first}-{line.rtp_first + RTP_PORTS_PER_LINE - 1}",
        f"module_path\t\t{MODULE_PATH}",
        *(f"module\t\t\t{name}" for name in modules),
        "module_tmp\t\tuuid.so",
        "module_tmp\t\taccount.so",
        # menu provides the commands (dial, hangup, ausrc, sndcode, transfer …); ctrl_tcp carries them.
        "module_app\t\tmenu.so",
        "module_app\t\tctrl_tcp.so",
        f"ctrl_tcp_listen\t\t{line.host}:{line.ctrl_port}",
        f"audio_source\t\t{line.audio_source or 'aubridge,' + line.name}",
        # aubridge is a cheap sink: alsa,null busy-loops a core.
        f"audio_player\t\taubridge,{line.name}",
        f"audio_alert\t\taubridge,{line.name}",
        "audio_srate\t\t8000",
        "audio_channels\t\t1",
        f"snd_path\t\t{line.directory}",
        "call_max_calls\t\t4",
        "sip_trans_def\t\tudp",
    ]
    (line.directory / "config").write_text("\n".join(config) + "\n", encoding="utf-8")
    account = f"{line.account};regint=0;answermode={line.answermode};audio_codecs=PCMA,PCMU"
    (line.directory / "accounts").write_text(account + "\n", encoding="utf-8")
    # Recent baresip writes a default contacts file when there is none; an empty one is enough.
    (line.directory / "contacts").touch()
    return line.directory


def baresip_binary() -> str | None:
    return shutil.which("baresip")


def command(line: Line) -> list[str]:
    binary = baresip_binary()
    if binary is None:
        raise FileNotFoundError("baresip is not installed (Debian: apt-get install --no-install-recommends "
                                "baresip-core)")
    return [binary, "-4", "-f", str(line.directory)]


def start(line: Line, *, log_file: Path | None = None) -> subprocess.Popen[bytes]:
    """Write the line's configuration and start its baresip (stdin closed, output to ``log_file``)."""
    write_config(line)
    # The child keeps its own copy of the descriptor; ours is closed when the block ends.
    with open(log_file or line.directory / "baresip.log", "ab") as out:
        return subprocess.Popen(command(line), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
