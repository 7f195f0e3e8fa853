"""Typed settings: environment variables with the ``MAILROBOT_`` prefix and an optional file.

Settings are built once at a process edge (the CLI, a worker, a test) and passed in; nothing
reads the environment behind the caller's back.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
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
        10, ge=0, le=19,
        description="Scheduling niceness of workers: senders waiting for their answer (SMTP, web) get the CPU first.",
    )

    classifier_kind_threshold: float = Field(
        0.55, ge=0, le=1, description="Below this confidence in the kind, an appeal goes to triage by a human."
    )
    classifier_scope_threshold: float = Field(
        0.85, ge=0, le=1,
        description="From this confidence that an appeal is not the company's business, it gets the R9 reply; "
                    "below it, one read as not ours goes to triage.",
    )

    repeat_threshold: float = Field(
        0.8, ge=0, le=1,
        description="From this similarity to an appeal of the same customer already answered on the merits, "
        "a new one is a repeat with no new arguments (R7).",
    )

    auto_reply_limit: int = Field(
        50, ge=1,
        description="At most this many mails go to one address within `auto_reply_window_h`; beyond it the "
        "robot registers the appeal but sends no automatic reply (RFC 3834's last-resort loop guard; TMDA's "
        "MAX_AUTORESPONSES_PER_DAY default).",
    )
    auto_reply_window_h: int = Field(
        24, ge=1, description="The window (hours) of `auto_reply_limit`; also: one «added to your appeal» "
        "notice per appeal within it.",
    )
    bounce_hold_days: int = Field(
        14, ge=1, description="After a bounce, the robot sends the address no automatic mail for this many days.",
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

    imap_host: str | None = Field(
        None, description="IMAP server of an existing mailbox to read. Unset: no IMAP intake."
    )
    imap_port: int | None = Field(None, description="IMAP port. Unset: 993 with `tls`, else 143.")
    imap_tls: Literal["tls", "starttls", "none"] = Field(
        "tls", description="IMAP connection security: `tls` (implicit), `starttls` or `none` (loopback only)."
    )
    imap_user: str | None = Field(None, description="IMAP login.")
    imap_password: str | None = Field(None, description="IMAP password.")
    imap_folder: str = Field("INBOX", description="Folder the IMAP intake reads.")
    imap_processed_folder: str | None = Field(
        None, description="Folder a stored message is moved to. Unset: it is flagged \\Seen and left in place."
    )
    imap_poll_s: float = Field(
        30.0, gt=0, le=30,
        description="Longest wait between looks at the folder (IDLE pushes sooner; servers without IDLE are polled).",
    )

    outbound_smtp_host: str | None = Field(
        None, description="Relay for outgoing mail. Unset: outgoing mail is written to the outbox dir."
    )
    outbound_smtp_port: int = Field(25, description="Port of the outgoing relay.")
    outbound_timeout_s: float = Field(30.0, description="Timeout of one conversation with the relay.")
    mail_from: str = Field("robot@omskenergo.example", description="From address of the robot's mail.")
    mail_from_name: str = Field("Омскэнерго, Mail-робот", description="Display name of the robot's mail.")

    informer_rate_per_s: float = Field(
        20.0, gt=0, description="Auto-informer: most campaign messages handed to the relay per second, so a "
        "100,000-recipient campaign is spread out instead of flooding the relay.",
    )
    informer_link_base: str = Field(
        "http://127.0.0.1:8080", description="Public address of the web app that campaign mail links to "
        "(the customer's confirmation page).",
    )
    phone_account: str | None = Field(
        None, description="Phone auto-informer: the SIP account of the robot's lines, as baresip writes it "
        "(`<sip:robot@pbx.example>;auth_pass=…;outbound=\"sip:pbx.example\"`). Unset: no phone channel, "
        "`mailrobot up` starts no baresip.",
    )
    phone_dial_uri: str = Field(
        "sip:{number}@127.0.0.1:5070", description="The trunk: the SIP URI a contract's number is dialled as "
        "(`{number}` is +7XXXXXXXXXX, `{digits}` the same without +).",
    )
    phone_lines: int = Field(2, ge=1, le=64, description="baresip instances (one call each) for parallel calls.")
    phone_sip_port: int = Field(5060, description="SIP port of the first line; line N listens on this + 2N (baresip takes the next port for TLS).")
    phone_ctrl_port: int = Field(4444, description="ctrl_tcp port (loopback) of the first line; line N: this + N.")
    phone_rtp_port: int = Field(10000, description="First RTP port of the first line; each line takes 10.")
    phone_ringing_timeout_s: float = Field(
        30.0, gt=0, description="A call nobody answers within this long is hung up: no answer (negative).",
    )
    phone_operator_key: str = Field(
        "0", pattern=r"^[0-9*#]$", description="The DTMF key by which a customer asks for the operator.",
    )
    phone_operator: str | None = Field(
        None, description="The operator's number (+7…) or SIP URI the call is transferred to. Unset: the key "
        "does nothing.",
    )
    phone_max_attempts: int = Field(10, ge=1, description="Most calls to one recipient in one campaign (R23).")
    phone_sounds_dir: Path | None = Field(
        None, description="Pre-recorded sound files a phone scenario plays with `[[sound:NAME]]` (any format "
        "sox reads; NAME never leaves this directory). Unset: `phone/sounds` in the data dir.",
    )

    account_number_pattern: str = Field(
        r"\d{10,12}", description="A personal account number (лицевой счёт), as a regular expression."
    )

    web_host: str = Field("127.0.0.1", description="Address of the web app (the Internet reception, its API, the desk).")
    web_port: int = Field(8080, description="Port of the web app.")
    desk_session_hours: float = Field(12.0, gt=0, description="A desk login lasts this long (a working day).")
    desk_login_attempts: int = Field(
        5, ge=1, description="Failed desk logins allowed per login or address in 15 minutes; then refused."
    )
    web_attachment_max_bytes: int = Field(10 * 1024 * 1024, description="Largest file a web form or the API accepts.")
    web_attachment_max_count: int = Field(5, description="Most files one web submission may carry.")
    web_attachment_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [".pdf", ".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff", ".txt", ".rtf", ".doc",
                                 ".docx", ".odt", ".xls", ".xlsx", ".ods"],
        description="File name extensions a web submission may attach (comma-separated).",
    )
    web_confirmation_wait_s: float = Field(
        3.0, description="How long the confirmation page and the API's answer wait for the registration number "
        "before saying \"being registered\" (the page then refreshes itself).",
    )
    web_min_fill_s: float = Field(3.0, description="A form sent back sooner than this after it was shown is spam.")
    web_submit_limit: int = Field(10, description="Web submissions one client address may make per `web_limit_window_s`.")
    web_status_limit: int = Field(30, description="Status look-ups one client address may make per `web_limit_window_s`.")
    web_limit_window_s: int = Field(3600, description="The window of the per-address web limits, in seconds.")
    web_api_token: str | None = Field(
        None, description="Bearer token the company's site sends to the JSON API; it may then pass the customer's "
        "IP address. Unset: the API is open, limited per client address like the forms.",
    )
    web_trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose X-Forwarded-For names the client (comma-separated).",
    )
    timezone: str = Field("Asia/Omsk", description="The company's time zone; all deadlines use it.")
    workday_start: time = Field(time(8, 0), description="Working hours begin (R16); staff notifications wait for them.")
    workday_end: time = Field(
        time(17, 0), description="Working hours end; a deadline falls then (an hour earlier on a pre-holiday day)."
    )
    calendar_file: Path | None = Field(
        PROJECT_ROOT / "calendar.yaml",
        description="Company days off and working days on top of the production calendar, calendars for "
        "queues, changed answer limits; reloaded when the file changes.",
    )
    secret_key: str | None = Field(
        None, description="Key that signs reply tokens. Unset: generated once into the data dir."
    )
    templates_dir: Path = Field(PROJECT_ROOT / "templates", description="Jinja2 templates (Russian texts).")
    routing_rules: Path = Field(PROJECT_ROOT / "routing_rules.yaml",
                                description="Routing rules; reloaded when the file changes.")

    @field_validator("accept", "web_attachment_types", "web_trusted_proxies", mode="before")
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
    def effective_imap_port(self) -> int:
        if self.imap_port is not None:
            return self.imap_port
        return 993 if self.imap_tls == "tls" else 143

    @property
    def phone_sounds(self) -> Path:
        return self.phone_sounds_dir or self.data_dir / "phone" / "sounds"

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
