"""One settings object, read from the environment and an optional ``.env`` file.

Tests build their own ``Settings(...)`` and pass it down; nothing reads the environment
behind the caller's back except :func:`get_settings`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shop.errors import ConfigError

DEFAULT_EMBEDDER = "multilingual"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SHOPAGENT_", env_file=".env", extra="ignore", populate_by_name=True
    )

    home: Path = Field(default=Path(".shopagent"), description="Folder for the SQLite file and Chroma data.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite under home.")
    chroma_url: str | None = Field(default=None, description="URL of a Chroma server instead of embedded.")
    model: str | None = Field(default=None, description="offline | openai:MODEL | langchain:PROVIDER:MODEL")
    embedder: str = Field(
        default=DEFAULT_EMBEDDER, description="Embedder name or sentence-transformers path."
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "SHOPAGENT_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "SHOPAGENT_OPENAI_BASE_URL")
    )
    merchant: str = Field(default="demo", description="Merchant id used when none is given.")
    prompt_token_budget: int = Field(default=4000, ge=500, le=200_000)
    max_steps: int = Field(default=8, ge=1, le=50, description="Model calls per shopper turn.")
    turn_timeout_s: float = Field(default=60.0, gt=0, le=600)
    model_timeout_s: float = Field(default=30.0, gt=0, le=600)
    model_retries: int = Field(default=3, ge=0, le=10)
    guards: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Per-turn retrieval and reply checks for weak models (agent/turn_guard.py); "
        "auto: on for openai: and langchain: models, off for the offline engine and test doubles.",
    )
    stream_drafts: bool = Field(
        default=False,
        description="With guards on, stream the model's draft as it is written (it may still be "
        "corrected by the reply checks); off: stream the reply once it has been checked.",
    )
    max_output_tokens: int = Field(
        default=800,
        ge=16,
        le=32_768,
        description="Cap on the tokens of one model reply (a small model may never stop).",
    )
    tool_choice: Literal["guided", "auto"] = Field(
        default="guided",
        description="guided: send tool_choice required/none when the agent knows which it needs; "
        "auto: never send tool_choice (for servers that reject it).",
    )
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_rows: int = Field(default=200_000, ge=1)
    max_cell_chars: int = Field(default=20_000, ge=100)
    max_message_chars: int = Field(default=4_000, ge=100)
    cors_origins: list[str] = Field(default_factory=list)
    rate_limit_per_session: int = Field(
        default=30, ge=1, description="Chat turns and cart writes per session per minute."
    )
    rate_limit_per_address: int = Field(
        default=300, ge=1, description="The same, per client address per minute."
    )
    lookup_limit_per_session: int = Field(
        default=10, ge=1, description="Order lookups and privacy requests per session per hour."
    )
    lookup_limit_per_address: int = Field(
        default=30, ge=1, description="The same, per client address per hour."
    )
    chat_concurrency: int = Field(
        default=64, ge=1, le=1024, description="Agent turns running at once in the server."
    )
    log_level: str = Field(default="INFO", description="DEBUG | INFO | WARNING | ERROR")
    payment_provider: str = Field(default="manual", description="manual | test | stripe")
    stripe_api_key: SecretStr | None = None

    # -- channels and integrations (docs/channels.md) -------------------------------------
    channel_merchant: str | None = Field(
        default=None, description="Merchant the messaging bots serve; default: SHOPAGENT_MERCHANT."
    )
    public_url: str | None = Field(
        default=None, description="Public https base URL of this server, for absolute image links."
    )
    telegram_bot_token: SecretStr | None = Field(default=None, description="Bot API token from @BotFather.")
    telegram_secret_token: SecretStr | None = Field(
        default=None, description="secret_token given to setWebhook; checked on every update."
    )
    telegram_api_url: str = Field(default="https://api.telegram.org")
    whatsapp_token: SecretStr | None = Field(default=None, description="Cloud API access token.")
    whatsapp_phone_number_id: str | None = Field(default=None, description="The sending phone number's id.")
    whatsapp_app_secret: SecretStr | None = Field(
        default=None, description="Meta app secret: checks X-Hub-Signature-256."
    )
    whatsapp_verify_token: SecretStr | None = Field(
        default=None, description="Token you enter when subscribing the webhook."
    )
    whatsapp_followup_template: str | None = Field(
        default=None,
        description="Approved template (one body parameter) for replies after the 24-hour window.",
    )
    whatsapp_template_language: str = Field(default="en", description="Language code of that template.")
    messenger_page_token: SecretStr | None = Field(default=None, description="Page access token.")
    messenger_app_secret: SecretStr | None = Field(
        default=None, description="Meta app secret: checks X-Hub-Signature-256."
    )
    messenger_verify_token: SecretStr | None = Field(
        default=None, description="Token you enter when subscribing the webhook."
    )
    graph_api_url: str = Field(default="https://graph.facebook.com/v21.0")
    handoff_wait_minutes: int = Field(
        default=30,
        ge=0,
        le=7 * 24 * 60,
        description="Minutes the assistant stays silent after a handoff nobody took (0: until released).",
    )
    webhook_allow_private: bool = Field(
        default=False, description="Allow webhook URLs on loopback or private networks."
    )
    webhook_max_attempts: int = Field(default=8, ge=1, le=30, description="Delivery attempts per event.")
    webhook_backoff_s: float = Field(
        default=10.0, gt=0, le=3600, description="Wait before the first retry; doubles each attempt."
    )
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
    webhook_tolerance_s: int = Field(
        default=300, ge=10, le=3600, description="Replay window of signed requests (seconds)."
    )
    worker_poll_s: float = Field(default=2.0, gt=0, le=300, description="Worker idle poll interval.")

    # -- returning shoppers, cart reminders (docs/retention.md) ---------------------------
    remember_days: int = Field(
        default=365, ge=1, le=3650, description="Lifetime of a remembered shopper's cookie (days)."
    )
    cart_reminder_minutes: int = Field(
        default=60,
        ge=0,
        le=30 * 24 * 60,
        description="Idle minutes before a cart with items gets its one reminder (0: no reminders).",
    )
    cart_reminder_max_age_hours: int = Field(
        default=72, ge=1, le=90 * 24, description="Carts idle longer than this are never reminded."
    )
    smtp_host: str | None = Field(default=None, description="Mail server for reminder emails.")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = Field(default=None, description="Sender address, e.g. shop@example.com.")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="starttls (port 587) | ssl (port 465) | none (a local relay)"
    )
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=120)

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value == "offline" or value.startswith(("openai:", "langchain:", "scripted", "fake")):
            return value
        raise ValueError(
            f"unknown model {value!r}: use 'offline', 'openai:MODEL' or 'langchain:PROVIDER:MODEL'"
        )

    @property
    def resolved_model(self) -> str:
        """The model to use: explicit setting, else OpenAI when a key is set, else offline."""
        if self.model:
            return self.model
        return "openai:gpt-4o-mini" if self.openai_api_key else "offline"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'shopagent.db').resolve()}"

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into a message that says what to set."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            lines.append(f"SHOPAGENT_{name.upper()}: {err['msg']}")
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
