"""Pre-recorded sound files in a phone message (issue 9 item 1): ``[[sound:NAME]]`` between spoken
parts. Real sox converts a generated tone (44.1 kHz stereo) to the line's 8 kHz 16-bit mono and
joins it with real espeak-ng speech; names never leave the sounds directory; a missing or unreadable
file and a mix over a minute are refused at approval with the Russian reason; and the approval hash
follows the file's content."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from robot.informer import campaigns as life
from robot.informer import phone_message, phone_sounds
from robot.informer.planner import tick
from robot.informer.scenario import ScenarioError, load_scenario
from robot.informer.sound import read_sound, synthesise
from robot.informer.texts import refusal_text
from robot.informer.window import SendingWindow
from robot.storage.models import CampaignRecipient, Customer, User
from tests.campaign_support import add_manager
from tests.test_phone_campaigns import SCENARIO, approve_and_start, campaign, customers

SPOKEN = "Задолженность {{ amount | say_rub }}."


def tone(path: Path, seconds: float, frequency: int = 440) -> Path:
    """A tone in a format the line cannot play as it is (44.1 kHz, stereo), so it must be converted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", "-b", "16", str(path), "synth", str(seconds), "sine",
                    str(frequency), "vol", "0.5"], check=True, capture_output=True)
    return path


def samples(path: Path, start_s: float, end_s: float) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        wav.setpos(int(start_s * 8000))
        return np.frombuffer(wav.readframes(int((end_s - start_s) * 8000)), dtype="<i2").astype(np.float64)


def dominant_hz(chunk: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(chunk))
    return float(np.fft.rfftfreq(len(chunk), 1 / 8000)[int(np.argmax(spectrum))])


@pytest.fixture
def sounds(robot) -> Path:
    directory = robot.settings.data_dir / "phone" / "sounds"
    directory.mkdir(parents=True, exist_ok=True)
    # The hash is computed where only a campaign is at hand: this process's settings say where.
    assert phone_sounds.directory() == robot.settings.phone_sounds == directory
    return directory


def manager(robot) -> None:
    with robot.sessions() as session:
        if session.scalar(select(User).where(User.login == "boss")) is None:
            add_manager(robot)


def approve(robot, campaign_id: int) -> None:
    manager(robot)
    with robot.unit_of_work() as session:
        life.approve(session, life.get(session, campaign_id), manager="boss", now=robot.clock.now(),
                     window=SendingWindow(robot.calendar), rate_per_s=20)


def refused_approval(robot, campaign_id: int) -> life.CampaignError:
    manager(robot)
    with robot.unit_of_work() as session, pytest.raises(life.CampaignError) as refused:
        life.approve(session, life.get(session, campaign_id), manager="boss", now=robot.clock.now(),
                     window=SendingWindow(robot.calendar), rate_per_s=20)
    with robot.sessions() as session:
        assert life.get(session, campaign_id).state == "draft"
    return refused.value


def test_a_tone_and_speech_mix_into_one_line_wav_as_long_as_both(robot, tmp_path, sounds):
    tone(sounds / "jingle.wav", 1.5, 440)
    tone(sounds / "outro" / "bye.wav", 0.8, 1000)
    customers(robot, ["+79130000001"])
    campaign_id = campaign(robot, tmp_path, body=f"[[sound:jingle.wav]] {SPOKEN} [[sound:outro/bye.wav]]")
    approve(robot, campaign_id)  # both files are there and readable; the mix fits a minute
    with robot.sessions() as session:
        found = life.get(session, campaign_id)
        assert found.state == "approved"
        recipient = session.scalar(select(CampaignRecipient))
        customer = session.get(Customer, recipient.customer_id)
        parts = phone_message.message_parts(found, customer, recipient.variables, robot.settings.tz)
        assert parts == [("sound", "jingle.wav"), ("text", "Задолженность двадцать один рубль."),
                         ("sound", "outro/bye.wav")]
        mixed = phone_message.render(found, customer, recipient.variables, robot.settings.tz, tmp_path / "call.wav")
    speech = synthesise(parts[1][1], tmp_path / "speech.wav")
    assert (mixed.rate, mixed.channels, mixed.sample_width) == (8000, 1, 2)
    assert read_sound(tmp_path / "call.wav") == mixed
    assert mixed.seconds == pytest.approx(1.5 + speech.seconds + 0.8, abs=0.2)
    # In order: the 440 Hz jingle, then speech (loud, not a tone), then the 1000 Hz outro.
    assert dominant_hz(samples(mixed.path, 0.2, 1.3)) == pytest.approx(440, abs=10)
    spoken = samples(mixed.path, 1.5 + 0.4, 1.5 + speech.seconds - 0.8)
    assert np.max(np.abs(spoken)) > 3000 and abs(dominant_hz(spoken) - 440) > 10
    end = mixed.seconds
    assert dominant_hz(samples(mixed.path, end - 0.7, end - 0.1)) == pytest.approx(1000, abs=10)


def test_a_name_that_leaves_the_sounds_directory_is_refused_with_its_line(robot, tmp_path, sounds):
    path = tmp_path / "s.yaml"
    for name, reason in (("../secret.wav", "'..' would leave the sounds directory"),
                         ("jingles/../../secret.wav", "'..' would leave the sounds directory"),
                         ("/etc/hosts", "an absolute path is not allowed"),
                         (".hidden.wav", "not starting with a dot")):
        body = f"Здравствуйте.\n\n[[sound:{name}]] {SPOKEN}"
        path.write_text(SCENARIO.format(kind="debt", body=body.replace("\n", "\\n")), encoding="utf-8")
        with pytest.raises(ScenarioError) as refused:
            load_scenario(path, robot.settings.tz)
        (problem,) = refused.value.problems
        assert reason in problem.message and name in problem.message, problem
        assert problem.line == 5, problem
    # In a literal block the line is the marker's own.
    path.write_text(SCENARIO.format(kind="debt", body="").replace('body: ""', "body: |\n  Здравствуйте.\n\n"
                                                                  "  [[sound:../../etc/passwd]]\n  Текст."),
                    encoding="utf-8")
    with pytest.raises(ScenarioError) as refused:
        load_scenario(path, robot.settings.tz)
    assert [p.line for p in refused.value.problems] == [8]
    # The body is split at markers before Jinja: a marker inside a block is refused, not half-rendered.
    path.write_text(SCENARIO.format(kind="debt", body="{% if amount %}[[sound:a.wav]]{% endif %} Текст."),
                    encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"must stand outside \{% if %\}"):
        load_scenario(path, robot.settings.tz)
    # A marker is for calls only.
    path.write_text(SCENARIO.format(kind="debt", body="[[sound:jingle.wav]] Текст.").replace("channel: phone\n", "")
                    + "subject: Тема\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="e-mail campaign cannot have one"):
        load_scenario(path, robot.settings.tz)
    # A symbolic link inside the directory that points out of it is refused at approval too.
    tone(tmp_path / "outside.wav", 0.5)
    (sounds / "link.wav").symlink_to(tmp_path / "outside.wav")
    customers(robot, ["+79130000001"])
    campaign_id = campaign(robot, tmp_path, body=f"[[sound:link.wav]] {SPOKEN}")
    error = refused_approval(robot, campaign_id)
    assert error.code == "phone_sound_name" and "outside the sounds directory" in error.params["problem"]
    assert "«link.wav» нельзя проиграть" in refusal_text(robot, error)


def test_a_missing_or_unreadable_sound_file_is_refused_at_approval_with_the_reason(robot, tmp_path, sounds):
    customers(robot, ["+79130000001"])
    campaign_id = campaign(robot, tmp_path, body=f"[[sound:jingle.wav]] {SPOKEN}")
    error = refused_approval(robot, campaign_id)
    assert error.code == "phone_sound_missing" and error.params["name"] == "jingle.wav"
    text = refusal_text(robot, error)
    assert "Звукового файла «jingle.wav» нет в папке звуков обзвона" in text and str(sounds.resolve()) in text

    (sounds / "jingle.wav").write_bytes(b"RIFF this is not a sound at all" * 10)
    error = refused_approval(robot, campaign_id)
    assert error.code == "phone_sound_unreadable", error
    assert "«jingle.wav» не удалось прочитать как звук" in refusal_text(robot, error)

    tone(sounds / "jingle.wav", 1.0)
    approve(robot, campaign_id)


def test_the_minute_counts_the_whole_mix(robot, tmp_path, sounds):
    # 58 s of music alone fits a minute (R23); with the spoken part after it, the call does not.
    tone(sounds / "music.wav", 58.0)
    customers(robot, ["+79130000001"])
    only_music = campaign(robot, tmp_path, body="[[sound:music.wav]]")
    approve(robot, only_music)
    mixed = campaign(robot, tmp_path, body=f"[[sound:music.wav]] {SPOKEN}")
    error = refused_approval(robot, mixed)
    assert error.code == "phone_message_too_long"
    assert 60 < error.params["seconds"] < 58 + 6, error.params
    assert "не более 60 с" in refusal_text(robot, error)


def test_replacing_a_sound_file_changes_the_approved_hash_and_stops_the_calls(robot, tmp_path, sounds):
    jingle = tone(sounds / "jingle.wav", 1.0, 440)
    original = jingle.read_bytes()
    customers(robot, ["+79130000001"])
    campaign_id = campaign(robot, tmp_path, body=f"[[sound:jingle.wav]] {SPOKEN}")
    approve_and_start(robot, campaign_id)
    with robot.sessions() as session:
        found = life.get(session, campaign_id)
        approved = found.approved_hash
        assert life.campaign_hash(found) == approved and life.is_approved(found)
        tone(jingle, 1.0, 660)  # same name, same length, other content
        assert life.campaign_hash(found) != approved and not life.is_approved(found)
        jingle.write_bytes(original)  # the content, not the file's time, is what counts
        assert life.campaign_hash(found) == approved
        jingle.unlink()
        assert life.campaign_hash(found) != approved
    # Replaced while running: the tick puts the campaign back to draft and queues no call (R24).
    tone(jingle, 1.0, 660)
    ticked = tick(robot)
    assert ticked.revoked == [campaign_id] and ticked.planned == 0
    with robot.sessions() as session:
        assert life.get(session, campaign_id).state == "draft"
