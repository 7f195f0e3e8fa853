"""A phone message's sound: speech text to a WAV the phone line can play, and the check every
message passes before a call (R23: one message of at most a minute).

espeak-ng (voice ``ru``) speaks the text at its own 22 kHz; sox turns that into what G.711 carries
— 8 kHz, 16-bit signed, mono — with a short silence before (the line settling after the answer) and
after. baresip's aufile fails *after* the customer has answered when a file is in any other
format, so the format is checked as strictly as the length.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

from robot.informer.campaigns import CampaignError

#: R23: a phone message lasts at most one minute.
MAX_SECONDS = 60.0
RATE = 8000
CHANNELS = 1
SAMPLE_WIDTH = 2  # bytes: 16-bit
VOICE = "ru"
WORDS_PER_MINUTE = 150
#: Silence before and after the speech, in seconds.
PAD = (0.3, 0.7)


class SpeechToolError(RuntimeError):
    """espeak-ng or sox is missing or failed."""


@dataclass(frozen=True)
class Sound:
    path: Path
    rate: int
    channels: int
    sample_width: int
    seconds: float


def read_sound(path: Path) -> Sound:
    """The format and length of a WAV file."""
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        return Sound(path=path, rate=rate, channels=wav.getnchannels(), sample_width=wav.getsampwidth(),
                     seconds=wav.getnframes() / rate if rate else 0.0)


def check_phone_message(path: Path) -> Sound:
    """The check before approval and before any call: 8 kHz 16-bit mono, at most ``MAX_SECONDS``.
    Raises CampaignError (``phone_sound_format`` or ``phone_message_too_long``; the refusal
    template words them for the manager)."""
    try:
        sound = read_sound(path)
    except (wave.Error, EOFError) as error:
        raise CampaignError("phone_sound_format", file=str(path), problem=str(error)) from None
    if (sound.rate, sound.channels, sound.sample_width) != (RATE, CHANNELS, SAMPLE_WIDTH):
        raise CampaignError("phone_sound_format", file=str(path),
                            problem=f"{sound.rate} Hz, {sound.channels} channel(s), {8 * sound.sample_width}-bit")
    if sound.seconds > MAX_SECONDS:
        raise CampaignError("phone_message_too_long", seconds=round(sound.seconds, 1), limit=int(MAX_SECONDS))
    return sound


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SpeechToolError(f"{name} is not installed (Debian: apt-get install {name}); "
                              f"`make test-deps` installs it")
    return found


def synthesise(text: str, output: Path, *, voice: str = VOICE, words_per_minute: int = WORDS_PER_MINUTE) -> Sound:
    """Speak ``text`` into ``output`` (8 kHz 16-bit mono WAV) and return its format and length.
    The length is not judged here: ``check_phone_message`` does that."""
    if not text.strip():
        raise ValueError("nothing to say: the text is empty")
    espeak, sox = _tool("espeak-ng"), _tool("sox")
    with tempfile.TemporaryDirectory(prefix="mailrobot-speech-") as tmp:
        raw = Path(tmp) / "raw.wav"
        # The text goes on stdin: a text starting with "-" would otherwise be read as an option.
        _run([espeak, "-v", voice, "-s", str(words_per_minute), "-w", str(raw), "--stdin"], text)
        _run([sox, str(raw), "-r", str(RATE), "-c", str(CHANNELS), "-b", str(8 * SAMPLE_WIDTH),
              "-e", "signed-integer", str(output), "pad", str(PAD[0]), str(PAD[1])])
    return read_sound(output)


def convert(source: Path, output: Path) -> Sound:
    """A recording (any format sox reads) as the line's WAV: 8 kHz, 16-bit, mono. CampaignError
    ``phone_sound_unreadable`` when sox cannot read it."""
    sox = _tool("sox")
    try:
        _run([sox, str(source), "-r", str(RATE), "-c", str(CHANNELS), "-b", str(8 * SAMPLE_WIDTH),
              "-e", "signed-integer", str(output)])
        return read_sound(output)
    except (SpeechToolError, wave.Error, EOFError) as error:
        raise CampaignError("phone_sound_unreadable", name=source.name, problem=str(error)[:300]) from None


def concatenate(parts: list[Path], output: Path) -> Sound:
    """Join WAVs of the line's format one after another into ``output``."""
    if not parts:
        raise ValueError("nothing to join")
    if len(parts) == 1:
        output.write_bytes(parts[0].read_bytes())
    else:
        _run([_tool("sox"), *(str(p) for p in parts), str(output)])
    return read_sound(output)


def _run(command: list[str], stdin: str | None = None) -> None:
    done = subprocess.run(command, input=stdin, capture_output=True, encoding="utf-8",
                          errors="replace", timeout=60, check=False)
    if done.returncode != 0:
        raise SpeechToolError(f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()[:500]}")
