"""Service settings: every `IGNITE_*` variable, validated once at start-up.

Built once per process and turned into objects by the composition root (`wiring.py`), which passes plain values
down; no room below reads the environment itself.  Settings imports nothing above the store: a value that needs a
room's own rules to check (the intake sources) is read here as plain data and checked where it is built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from store.encryption import SETTING as ENCRYPTION_KEYS_SETTING
from store.encryption import Keyring, check_key


def default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'ignite-sync.db'}"


def default_local_crm_url() -> str:
    return f"sqlite:///{Path.cwd() / 'ignite-crm.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IGNITE_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="Service database (SQLAlchemy URL). SQLite file by default; postgresql+psycopg://… at scale.",
    )
    crm: Literal["local", "salesforce"] = Field(
        default="local", description="Which CRM to sync to: the embedded local CRM or a Salesforce org."
    )
    local_crm_url: str = Field(
        default_factory=default_local_crm_url, description="Where the embedded local CRM keeps its data."
    )
    local_state_country_picklists: bool = Field(
        default=True,
        description="Whether the local CRM (and the sandbox) is created with State and Country/Territory "
        "Picklists on, as a new org is; applies when its database is created.",
    )
    profile: Literal["npsp_pmm", "nonprofit_cloud", "salesforce_core"] = Field(
        default="npsp_pmm", description="Mapping profile: which CRM data model the org uses."
    )
    crm_min_respondents: int = Field(
        default=5, ge=1, description="Cohort outcome aggregates from fewer respondents are written blank."
    )
    crm_individual_responses: bool = Field(
        default=False, description="Send individual survey answers to the CRM (sensitive; off by default)."
    )
    crm_sync_health: bool = Field(
        default=True,
        description="Write an issue record to the CRM for every row it refuses or blocks (staff set Retry "
        "requested on it) and a record per run that wrote anything; off for orgs that do not want them.",
    )
    crm_sync_health_max_issues: int = Field(
        default=200,
        ge=1,
        description="At most this many issue records are written per run (200 = one Collections call); the rest "
        "follow in later runs.",
    )
    export_min_cell: int = Field(
        default=11,
        ge=3,
        description="Funder exports blank every count from 1 to this minus one, and statistics from fewer people.",
    )
    program_timezone: str = Field(
        default="America/New_York",
        description="IANA time zone of the program's calendar: grant periods begin and end at midnight there.",
    )
    sf_auth: Literal["password", "jwt", "session"] = Field(
        default="password",
        description="How to sign in to Salesforce: SOAP password login, JWT bearer, or a given session id.",
    )
    sf_username: str | None = Field(default=None, description="Salesforce username (password and jwt flows).")
    sf_password: SecretStr | None = Field(default=None, description="Salesforce password.")
    sf_security_token: SecretStr | None = Field(default=None, description="Salesforce security token.")
    sf_domain: str = Field(default="login", description="login, test, or a My Domain host prefix.")
    sf_api_version: str = Field(default="62.0", description="Salesforce REST API version.")
    sf_ca_bundle: Path | None = Field(default=None, description="CA bundle to trust (the sandbox's CA).")
    sf_consumer_key: str | None = Field(default=None, description="Connected app consumer key (jwt flow).")
    sf_private_key_file: Path | None = Field(
        default=None, description="Private key (PEM) matching the connected app's certificate (jwt flow)."
    )
    sf_session_id: SecretStr | None = Field(default=None, description="A ready session id (session flow).")
    sf_instance_url: str | None = Field(
        default=None, description="https:// URL of the instance the session id belongs to (session flow)."
    )
    sf_bulk_threshold: int = Field(
        default=2000, ge=1, description="Upserts of at least this many rows per object go through Bulk API 2.0."
    )
    sf_limit_pause_share: float = Field(
        default=0.9, gt=0, le=1, description="Writes pause when this share of the daily API allocation is used."
    )
    sf_timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for one Salesforce HTTP answer.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Log level.")
    # NoDecode: the value may be a file path, so settings.py reads it rather than pydantic-settings' JSON decoder.
    # Each source is checked where the sources are built (wiring.intake_sources), with the webhooks' own rules.
    intake_sources: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=dict,
        description="Intake webhook sources: a JSON object keyed by source name, or the path of a JSON file.",
    )
    intake_max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, le=1024 * 1024, description="Largest intake body accepted (413 above)."
    )
    intake_retention_days: int = Field(
        default=30, ge=1, description="Raw intake bodies of settled submissions are purged after this many days."
    )
    intake_quarantine_retention_days: int | None = Field(
        default=180,
        ge=1,
        description=(
            "Unreviewed quarantined intake submissions lose their bodies (and become discarded) after this many "
            "days, so spam and personal data are not kept for good; status and /metrics count what waits."
        ),
    )
    intake_batch_max: int = Field(
        default=256, ge=1, le=10_000, description="Most intake posts the writer commits in one transaction."
    )
    encryption_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description=(
            "Keys that encrypt intake submissions at rest: comma-separated, newest first (make one with "
            "`ignite-sync keys new`). The newest encrypts; every listed key still decrypts what it wrote."
        ),
    )
    env: Literal["development", "production"] = Field(
        default="development",
        description="`production` refuses to start the web service or the worker without IGNITE_ENCRYPTION_KEYS.",
    )
    intake_batch_wait_ms: float = Field(
        default=0.0,
        ge=0,
        le=1000,
        description="Longest the writer waits for more posts once it holds one (0: take what is already waiting).",
    )

    intake_form_key: SecretStr | None = Field(
        default=None,
        description=(
            "Key that signs the form tokens of browser intake sources (at least 32 random characters; "
            "`openssl rand -base64 32`). Unset: a random key per process, so tokens die with a restart and "
            "several workers must share one set here."
        ),
    )

    erasure_key: SecretStr | None = Field(
        default=None,
        description=(
            "Key (32+ characters, `openssl rand -base64 32`) of the keyed hashes an erasure record keeps "
            "(`ignite-sync forget`), so a dump cannot confirm who was forgotten. Never change it: earlier erasures "
            "would no longer be recognised at import. Unset: a development key, refused in production."
        ),
    )

    @field_validator("intake_form_key", "erasure_key")
    @classmethod
    def _long_form_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (openssl rand -base64 32)")
        return value

    @field_validator("intake_sources", mode="before")
    @classmethod
    def _read_intake_sources(cls, value: Any) -> dict[str, Any]:
        return read_json_object(value)

    @field_validator("encryption_keys", mode="before")
    @classmethod
    def _parse_encryption_keys(cls, value: Any) -> list[str]:
        """Comma-separated keys, each checked as a Fernet key; the error never echoes a key."""
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        keys = [v.get_secret_value() if isinstance(v, SecretStr) else str(v) for v in value or []]
        for key in keys:
            check_key(key)
        return keys

    @field_validator("database_url", "local_crm_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        """Refuse what can never work before anything connects: an unknown dialect or driver.  A server that is
        down, a missing database or a SQLite folder that does not exist (yet: the demo makes its own) are found
        at connect time and reported in one line by the CLI."""
        return check_database_url(value)

    @field_validator("program_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone name (for example America/Chicago)") from None
        return value


def read_json_object(value: Any) -> dict[str, Any]:
    """A mapping as given, or a JSON object from a string or from the file a string names (empty: {})."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            path = Path(text).expanduser()
            if not path.is_file():
                raise ValueError("must be a JSON object or the path of a file holding one (no such file)")
            text = path.read_text("utf-8")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object keyed by source name")
    return value


SUPPORTED_DATABASES = ("sqlite", "postgresql")


def check_database_url(value: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(
            "is not a database URL; use sqlite:///path/to/file.db or postgresql+psycopg://user@host:5432/db"
        ) from None
    dialect = url.get_backend_name()
    if dialect not in SUPPORTED_DATABASES:
        raise ValueError(
            f"{dialect}:// is not supported; use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db"
        )
    if dialect == "postgresql" and url.drivername == "postgresql":  # SQLAlchemy would pick psycopg2, not installed
        raise ValueError("write postgresql+psycopg://… (the installed driver is psycopg 3)")
    return value


class SettingsError(Exception):
    """Raised with one readable line per bad variable, so the CLI can print them without a traceback."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            name = "IGNITE_" + "_".join(str(p) for p in err["loc"]).upper()
            lines.append(f"{name}: {err['msg'].removeprefix('Value error, ')}")
        raise SettingsError(lines) from None


MISSING_KEYS = (
    f"{ENCRYPTION_KEYS_SETTING} is not set: intake submissions are stored unencrypted "
    "(make a key with `ignite-sync keys new`)"
)


def encryption_keyring(settings: Settings) -> Keyring | None:
    keys = [key.get_secret_value() for key in settings.encryption_keys]
    return Keyring(keys) if keys else None


def encryption_at_start(settings: Settings) -> str | None:
    """Checked when the web service or the worker starts: without a key that is a warning to log (returned),
    and in production (IGNITE_ENV=production) a SettingsError, so personal data is never stored in clear."""
    if settings.encryption_keys:
        return None
    if settings.env == "production":
        raise SettingsError([f"{MISSING_KEYS}; IGNITE_ENV=production refuses to start without it"])
    return MISSING_KEYS
