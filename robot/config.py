"""Typed settings: environment variables with the ``MAILROBOT_`` prefix and an optional file.

Settings are built once at a process edge (the CLI, a worker, a test) and passed in; nothing
reads the environment behind the caller's back.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Where the project's data files live when running from a checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All settings of mailrobot; `settings_table()` renders them for the README."""

    model_config = SettingsConfigDict(
        env_prefix="MAILROBOT_",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    @classmethod
    def load(cls) -> Settings:
        """Settings of this process: the environment, over the file named by MAILROBOT_CONFIG_FILE."""
        config_file = os.environ.get("MAILROBOT_CONFIG_FILE")
        if config_file and not Path(config_file).is_file():
            raise FileNotFoundError(f"MAILROBOT_CONFIG_FILE names no file: {config_file}")
        return cls(_env_file=config_file or None)

    data_dir: Path = Field(Path("var"), description="Directory for the database, outbox, redis files.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL. Unset: a SQLite file `mailrobot.db` in the data dir (WAL)."
    )
    db_busy_timeout_ms: int = Field(5000, description="How long a SQLite writer waits for a lock.")
    redis_url: str | None = Field(
        None, description="Redis URL. Unset: `mailrobot up` starts a local redis-server in the data dir."
    )
    queue_name: str = Field("mailrobot", description="RQ queue that carries the robot's jobs.")
    workers: int = Field(2, ge=1, description="RQ worker processes that `mailrobot up` (and `mailrobot worker`) runs.")
    worker_nice: int = Field(
        0, ge=0, le=19,
        description="Scheduling niceness of workers (raise it to favour the gateway over processing).",
    )

    classifier_kind_threshold: float = Field(
        0.55, ge=0, le=1, description="Below this confidence in the kind, an appeal goes to triage by a human."
    )
    classifier_scope_threshold: float = Field(
        0.85, ge=0, le=1,
        description="From this confidence that an appeal is not the company's business, it gets the R9 reply.",
    )

    repeat_threshold: float = Field(
        0.8, ge=0, le=1,
        description="From this similarity to an appeal of the same customer already answered on the merits, "
        "a new one is a repeat with no new arguments (R7).",
    )

    smtp_host: str = Field("127.0.0.1", description="Address the SMTP gateway listens on.")
    smtp_port: int = Field(2525, description="Port of the SMTP gateway.")
    smtp_hostname: str = Field("mailrobot.local", description="Name the gateway announces in its banner.")
    max_message_size: int = Field(25 * 1024 * 1024, description="Larger messages get 552 after DATA.")
    min_free_disk_mb: int = Field(
        200, description="Below this much free space in the data dir the gateway answers 452 at MAIL FROM."
    )
    accept: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Recipient addresses or domains accepted (comma-separated); others get 550 at RCPT. "
        "Empty: the domain of `mail_from`.",
    )

    outbound_smtp_host: str | None = Field(
        None, description="Relay for outgoing mail. Unset: outgoing mail is written to the outbox dir."
    )
    outbound_smtp_port: int = Field(25, description="Port of the outgoing relay.")
    outbound_timeout_s: float = Field(30.0, description="Timeout of one conversation with the relay.")
    mail_from: str = Field("robot@omskenergo.example", description="From address of the robot's mail.")
    mail_from_name: str = Field("Омскэнерго, Mail-робот", description="Display name of the robot's mail.")

    web_host: str = Field("127.0.0.1", description="Address of the web app (the desk and forms, not served yet).")
    web_port: int = Field(8080, description="Port of the web app (not served yet).")
    timezone: str = Field("Asia/Omsk", description="The company's time zone; all deadlines use it.")
    secret_key: str | None = Field(
        None, description="Key that signs reply tokens. Unset: generated once into the data dir."
    )
    templates_dir: Path = Field(PROJECT_ROOT / "templates", description="Jinja2 templates (Russian texts).")
    routing_rules: Path = Field(PROJECT_ROOT / "routing_rules.yaml",
                                description="Routing rules; reloaded when the file changes.")

    @field_validator("accept", mode="before")
    @classmethod
    def _split_accept(cls, value: object) -> object:
        # A comma-separated environment variable reads more naturally than a JSON list; both work.
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [item.strip().lower() for item in value.split(",") if item.strip()]
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mailrobot.db').resolve()}"

    @property
    def accepted_recipients(self) -> list[str]:
        if self.accept:
            return [item.lower() for item in self.accept]
        return [self.mail_from.rpartition("@")[2].lower()]

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.outbox_dir.mkdir(parents=True, exist_ok=True)

    def signing_key(self) -> bytes:
        """The HMAC key for reply tokens: the setting, or a key kept in the data dir."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.ensure_dirs()
            # O_EXCL: two processes starting at once must agree on one key.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_hex(32))
        return path.read_text().strip().encode()


def settings_table() -> str:
    """The Markdown table of all settings that the README shows (a test keeps the two equal)."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = field.default_factory()
        else:
            default = field.default
        if isinstance(default, Path) and default.is_absolute():
            default = "./" + str(default.relative_to(PROJECT_ROOT))
        shown = "unset" if default in (None, []) else f"`{default}`"
        rows.append(f"| `MAILROBOT_{name.upper()}` | {shown} | {field.description} |")
    rows.append("| `MAILROBOT_CONFIG_FILE` | unset | A file of `MAILROBOT_…=value` lines; the environment wins over it. |")
    return "\n".join(rows)
