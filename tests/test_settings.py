"""Typed settings from the environment and an optional file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from robot.config import Settings


def test_defaults_are_the_embedded_single_machine_setup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.data_dir == Path("var")
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'var' / 'mailrobot.db'}"
    assert settings.redis_url is None
    assert (settings.smtp_host, settings.smtp_port) == ("127.0.0.1", 2525)
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8080)
    assert settings.timezone == "Asia/Omsk"
    assert settings.outbound_smtp_host is None  # → the local outbox
    assert settings.accepted_recipients == ["omskenergo.example"]


def test_environment_variables_with_prefix(monkeypatch):
    monkeypatch.setenv("MAILROBOT_SMTP_PORT", "2600")
    monkeypatch.setenv("MAILROBOT_ACCEPT", "info@grid.example, Grid2.Example")
    monkeypatch.setenv("MAILROBOT_DATABASE_URL", "postgresql+psycopg://u@db/mailrobot")
    settings = Settings()
    assert settings.smtp_port == 2600
    assert settings.accepted_recipients == ["info@grid.example", "grid2.example"]
    assert settings.effective_database_url == "postgresql+psycopg://u@db/mailrobot"


def test_accept_as_json_list(monkeypatch):
    monkeypatch.setenv("MAILROBOT_ACCEPT", '["a.example", "b.example"]')
    assert Settings().accept == ["a.example", "b.example"]


def test_config_file(tmp_path, monkeypatch):
    config = tmp_path / "mailrobot.env"
    config.write_text("MAILROBOT_SMTP_PORT=2700\nMAILROBOT_MAIL_FROM=robot@grid.example\n", encoding="utf-8")
    monkeypatch.setenv("MAILROBOT_CONFIG_FILE", str(config))
    monkeypatch.setenv("MAILROBOT_SMTP_PORT", "2800")  # the environment wins over the file
    settings = Settings.load()
    assert settings.smtp_port == 2800
    assert settings.accepted_recipients == ["grid.example"]


def test_missing_config_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILROBOT_CONFIG_FILE", str(tmp_path / "nope.env"))
    with pytest.raises(FileNotFoundError, match="nope.env"):
        Settings.load()


def test_bad_value_is_refused_clearly(monkeypatch):
    monkeypatch.setenv("MAILROBOT_SMTP_PORT", "twenty-five")
    with pytest.raises(ValidationError, match="smtp_port"):
        Settings()


def test_signing_key_is_created_once_and_kept(tmp_path):
    settings = Settings(data_dir=tmp_path)
    first = settings.signing_key()
    assert len(first) == 64
    assert Settings(data_dir=tmp_path).signing_key() == first


def test_readme_shows_every_setting():
    from robot.config import PROJECT_ROOT, settings_table

    # After changing a setting: .venv/bin/python scripts/update-readme-settings.py
    assert settings_table() in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
