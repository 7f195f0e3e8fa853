"""Phone message sound (issue 9, R23): real espeak-ng and sox make an 8 kHz 16-bit mono WAV that
actually holds speech; a message over a minute, or a file the line cannot play, is refused."""

from __future__ import annotations

import array
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from robot.cli.main import app
from robot.informer.campaigns import CampaignError
from robot.informer.sound import (
    MAX_SECONDS,
    PAD,
    check_phone_message,
    read_sound,
    synthesise,
)

DEBT = ("Здравствуйте! Говорит автоинформатор электросетевой компании. За вами задолженность одна тысяча "
        "двести тридцать четыре рубля, пятьдесят шесть копеек. Оплатите её до пятнадцатого января две "
        "тысячи двадцать шестого года.")


def _samples(path: Path, start_s: float, end_s: float) -> array.array:
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        wav.setpos(int(start_s * rate))
        frames = wav.readframes(int((end_s - start_s) * rate))
    return array.array("h", frames)


def _peak(samples: array.array) -> int:
    return max((abs(s) for s in samples), default=0)


def test_speech_becomes_an_8khz_16bit_mono_wav_with_speech_in_it(tmp_path):
    path = tmp_path / "debt.wav"
    sound = synthesise(DEBT, path)
    assert sound == read_sound(path)
    assert (sound.rate, sound.channels, sound.sample_width) == (8000, 1, 2)
    assert 5 < sound.seconds < 30
    # The leading pad is silence; the middle is loud speech (not an empty or silent file).
    assert _peak(_samples(path, 0.0, PAD[0] - 0.05)) < 50
    assert _peak(_samples(path, PAD[0], sound.seconds - PAD[1])) > 3000
    assert check_phone_message(path) == sound


def test_a_longer_text_makes_a_longer_message(tmp_path):
    short = synthesise("Оплатите долг.", tmp_path / "short.wav")
    long = synthesise(DEBT, tmp_path / "long.wav")
    assert long.seconds > short.seconds + 3


def test_a_message_over_a_minute_is_refused_with_its_length(tmp_path):
    path = tmp_path / "long.wav"
    sound = synthesise(" ".join([DEBT] * 7), path)
    assert sound.seconds > MAX_SECONDS
    with pytest.raises(CampaignError) as refused:
        check_phone_message(path)
    assert refused.value.code == "phone_message_too_long"
    assert refused.value.params == {"seconds": round(sound.seconds, 1), "limit": 60}


def _write_wav(path: Path, *, rate: int, channels: int, width: int, seconds: float) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(b"\0" * int(rate * seconds) * channels * width)
    return path


@pytest.mark.parametrize(("rate", "channels", "width"), [(16000, 1, 2), (8000, 2, 2), (8000, 1, 1)])
def test_a_file_the_line_cannot_play_is_refused(tmp_path, rate, channels, width):
    path = _write_wav(tmp_path / "bad.wav", rate=rate, channels=channels, width=width, seconds=2)
    with pytest.raises(CampaignError) as refused:
        check_phone_message(path)
    assert refused.value.code == "phone_sound_format"


def test_the_limit_is_a_minute_exactly(tmp_path):
    ok = _write_wav(tmp_path / "ok.wav", rate=8000, channels=1, width=2, seconds=60)
    assert check_phone_message(ok).seconds == 60
    over = _write_wav(tmp_path / "over.wav", rate=8000, channels=1, width=2, seconds=60.1)
    with pytest.raises(CampaignError, match="phone_message_too_long"):
        check_phone_message(over)


def test_not_a_wav_is_refused(tmp_path):
    path = tmp_path / "message.wav"
    path.write_bytes(b"ID3 not a wave file")
    with pytest.raises(CampaignError, match="phone_sound_format"):
        check_phone_message(path)


def test_an_empty_text_is_refused(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        synthesise("  \n", tmp_path / "empty.wav")


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILROBOT_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(app, ["phone", "say", *args])


def test_phone_say_writes_a_file_for_listening(cli, tmp_path):
    result = cli(DEBT, "--output", str(tmp_path / "out.wav"))
    assert result.exit_code == 0, result.output
    sound = read_sound(tmp_path / "out.wav")
    assert (sound.rate, sound.channels, sound.sample_width) == (8000, 1, 2)
    assert f"{sound.seconds:.1f} s" in result.output


def test_phone_say_refuses_a_message_over_a_minute_in_russian(cli, tmp_path):
    result = cli(" ".join([DEBT] * 7), "--output", str(tmp_path / "out.wav"))
    assert result.exit_code == 1
    assert "можно не более 60 с (R23)" in result.output
    assert not (tmp_path / "out.wav").exists()
