"""Settings from the environment and an optional ``.env`` file.

A bad value must stop the program with one line that names the variable, so
``load_settings`` turns pydantic's report into :class:`SettingsError`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

ProviderName = Literal["simulator", "twilio", "infobip", "cm"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
DB_SCHEMES = ("sqlite", "postgres", "postgresql", "asyncpg")
SECRET_FILE = ".trackly-secret"
DATABASE_FILE = "trackly.sqlite3"
# Everything Trackly writes while it runs (the SQLite database, the generated secret,
# uploaded CSVs) goes in one directory, so one line of .gitignore and one backup cover it.
DEFAULT_DATA_DIR = Path("trackly-data")
WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")


def proxy_networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """TRACKLY_TRUSTED_PROXIES (``"10.0.0.0/8, 35.191.0.0/16, 127.0.0.1"``) as networks;
    ValueError naming an entry that is not one."""
    found = []
    for entry in (e.strip() for e in spec.split(",")):
        if not entry:
            continue
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an address or network "
                             "(e.g. 10.0.0.0/8)") from None
    return tuple(found)


class SettingsError(Exception):
    """One line naming the variable and what is wrong with it."""


def _env(name: str) -> Any:
    return Field(None, validation_alias=AliasChoices(name))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # Empty means derived (see _derive): SQLite in the data directory, and for
    # public_url below, the address trackly run listens on.
    database_url: str = Field("", validation_alias=AliasChoices("TRACKLY_DATABASE_URL"))
    secret_key: SecretStr | None = _env("TRACKLY_SECRET_KEY")
    public_url: str = Field("", validation_alias=AliasChoices("TRACKLY_PUBLIC_URL"))
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("TRACKLY_HOST"))
    port: Annotated[int, Field(ge=0, le=65535)] = Field(
        8080, validation_alias=AliasChoices("TRACKLY_PORT")
    )
    log_level: LogLevel = Field("INFO", validation_alias=AliasChoices("TRACKLY_LOG_LEVEL"))
    # "json": one JSON object a line (time, level, logger, message, and the exception), for
    # a log collector; "text" for people.
    log_format: Literal["text", "json"] = Field(
        "text", validation_alias=AliasChoices("TRACKLY_LOG_FORMAT"))
    data_dir: Path = Field(DEFAULT_DATA_DIR, validation_alias=AliasChoices("TRACKLY_DATA_DIR"))
    tracking_domain: str | None = _env("TRACKLY_TRACKING_DOMAIN")
    # Addresses and networks (comma-separated) of the load balancers in front of the
    # web processes: only their X-Forwarded-For names a click's address.
    trusted_proxies: str = Field("", validation_alias=AliasChoices("TRACKLY_TRUSTED_PROXIES"))

    default_provider: ProviderName = Field(
        "simulator", validation_alias=AliasChoices("TRACKLY_DEFAULT_PROVIDER")
    )
    twilio_base_url: str = Field(
        "https://api.twilio.com", validation_alias=AliasChoices("TRACKLY_TWILIO_BASE_URL")
    )
    infobip_base_url: str = Field(
        "https://api.infobip.com", validation_alias=AliasChoices("TRACKLY_INFOBIP_BASE_URL")
    )
    cm_base_url: str = Field(
        "https://gw.messaging.cm.com", validation_alias=AliasChoices("TRACKLY_CM_BASE_URL")
    )
    # TUNE (HasOffers) network API; {network_id} is the connection's network.
    tune_api_url: str = Field(
        "https://{network_id}.api.hasoffers.com",
        validation_alias=AliasChoices("TRACKLY_TUNE_API_URL"))
    # Stripe (optional): with a key, accounts may choose the stripe payment gateway.
    stripe_api_key: SecretStr | None = _env("TRACKLY_STRIPE_API_KEY")
    stripe_webhook_secret: SecretStr | None = _env("TRACKLY_STRIPE_WEBHOOK_SECRET")
    stripe_api_base: str | None = _env("TRACKLY_STRIPE_API_BASE")
    simulator_latency_ms: Annotated[int, Field(ge=0, le=60_000)] = Field(
        20, validation_alias=AliasChoices("TRACKLY_SIMULATOR_LATENCY_MS")
    )
    simulator_failure_rate: Annotated[float, Field(ge=0, le=1)] = Field(
        0.0, validation_alias=AliasChoices("TRACKLY_SIMULATOR_FAILURE_RATE")
    )
    simulator_receipt_rate: Annotated[float, Field(ge=0, le=1)] = Field(
        1.0, validation_alias=AliasChoices("TRACKLY_SIMULATOR_RECEIPT_RATE")
    )
    simulator_reply_rate: Annotated[float, Field(ge=0, le=1)] = Field(
        0.0, validation_alias=AliasChoices("TRACKLY_SIMULATOR_REPLY_RATE")
    )

    executor_batch_size: Annotated[int, Field(ge=1, le=5000)] = Field(
        500, validation_alias=AliasChoices("TRACKLY_EXECUTOR_BATCH_SIZE"))
    executor_lanes: Annotated[int, Field(ge=1, le=64)] = Field(
        2, validation_alias=AliasChoices("TRACKLY_EXECUTOR_LANES"))
    executor_lease_seconds: Annotated[float, Field(ge=1, le=3600)] = Field(
        60, validation_alias=AliasChoices("TRACKLY_EXECUTOR_LEASE_SECONDS"))
    executor_unknown_grace_seconds: Annotated[float, Field(ge=1, le=86_400)] = Field(
        600, validation_alias=AliasChoices("TRACKLY_EXECUTOR_UNKNOWN_GRACE_SECONDS"))
    executor_poll_seconds: Annotated[float, Field(gt=0, le=60)] = Field(
        0.25, validation_alias=AliasChoices("TRACKLY_EXECUTOR_POLL_SECONDS"))
    # A scheduled run missed while the platform was down still runs when it comes back
    # within this window; later, it is recorded as skipped.
    schedule_grace_minutes: Annotated[int, Field(ge=0, le=10_080)] = Field(
        60, validation_alias=AliasChoices("TRACKLY_SCHEDULE_GRACE_MINUTES"))
    # A campaign launch renews its lease at every batch; when its process dies, the
    # scheduler leader takes the run up once the lease has run out. Shorter means a faster
    # takeover after a crash; a driver slower than this per batch may then meet a second
    # driver, which is safe (each batch moves the cursor conditionally) but wasteful.
    campaign_lease_seconds: Annotated[float, Field(ge=1, le=3600)] = Field(
        120, validation_alias=AliasChoices("TRACKLY_CAMPAIGN_LEASE_SECONDS"))
    # PostgreSQL: messages, their events and raw clicks older than this many whole months
    # are dropped a month at a time (detached, then dropped). Unset: kept forever.
    retention_months: Annotated[int, Field(ge=1, le=1200)] | None = _env(
        "TRACKLY_RETENTION_MONTHS")

    discord_token: SecretStr | None = _env("DISCORD_TOKEN")
    discord_guild_id: int | None = _env("DISCORD_GUILD_ID")
    discord_support_channel_id: int | None = _env("DISCORD_SUPPORT_CHANNEL_ID")
    discord_support_role_id: int | None = _env("DISCORD_SUPPORT_ROLE_ID")
    discord_oncall_role_id: int | None = _env("DISCORD_ONCALL_ROLE_ID")
    discord_owner_ids: list[int] = Field(
        default_factory=list, validation_alias=AliasChoices("DISCORD_OWNER_IDS")
    )
    discord_alert_poll_seconds: Annotated[float, Field(gt=0, le=300)] = Field(
        5, validation_alias=AliasChoices("TRACKLY_DISCORD_ALERT_POLL_SECONDS")
    )
    # How often a campaign's progress message in Discord is refreshed (an edit only when
    # the numbers changed): well inside Discord's 5 edits per 5 seconds per channel.
    discord_progress_seconds: Annotated[float, Field(gt=0, le=300)] = Field(
        5, validation_alias=AliasChoices("TRACKLY_DISCORD_PROGRESS_SECONDS")
    )
    support_max_open_tickets: Annotated[int, Field(ge=1, le=100)] = Field(
        3, validation_alias=AliasChoices("TRACKLY_SUPPORT_MAX_OPEN_TICKETS")
    )
    support_cooldown_minutes: Annotated[int, Field(ge=0, le=10_080)] = Field(
        10, validation_alias=AliasChoices("TRACKLY_SUPPORT_COOLDOWN_MINUTES")
    )

    _derived: frozenset[str] = PrivateAttr(frozenset())

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value:
            return value
        scheme = urlsplit(value).scheme
        if scheme not in DB_SCHEMES:
            raise ValueError("must start with sqlite:// or postgres://")
        if scheme != "sqlite" and not urlsplit(value).hostname:
            raise ValueError("a PostgreSQL URL needs a host, e.g. postgres://user@127.0.0.1/db")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        proxy_networks(value)  # raises ValueError naming the entry that is not a network
        return value

    @field_validator("public_url", "twilio_base_url", "infobip_base_url", "cm_base_url")
    @classmethod
    def _check_http_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("discord_owner_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        if isinstance(value, int):
            return [value]
        return value

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        """Fill the settings left unset from the ones they follow: a user who runs
        ``trackly run --port 9000`` gets short links and webhook addresses on :9000."""
        derived = set()
        if not self.database_url:
            self.database_url = f"sqlite://{self.data_dir / DATABASE_FILE}"
            derived.add("database_url")
        if not self.public_url:
            self.public_url = f"http://{_url_host(self.host)}:{self.port}"
            derived.add("public_url")
        self._derived = frozenset(derived)
        return self

    def is_derived(self, field: str) -> bool:
        """True when ``field`` was not set and follows other settings (``public_url``
        follows host and port, ``database_url`` the data directory)."""
        return field in self._derived

    @property
    def is_sqlite(self) -> bool:
        return urlsplit(self.database_url).scheme == "sqlite"

    @property
    def tracking_base(self) -> str:
        """Where short links point when an account has no tracking domain of its own."""
        if self.tracking_domain:
            return f"https://{self.tracking_domain}"
        return self.public_url

    def masked(self) -> dict[str, str]:
        """Every effective setting, secrets masked, keyed by environment variable."""
        out: dict[str, str] = {}
        for name, info in type(self).model_fields.items():
            alias = info.validation_alias
            env = alias.choices[0] if isinstance(alias, AliasChoices) else name.upper()
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                secret = value.get_secret_value()
                shown = "****" + secret[-4:] if len(secret) >= 12 else "********"
            elif env == "TRACKLY_DATABASE_URL":
                shown = mask_url_password(str(value))
            elif value is None:
                shown = "(not set)"
            else:
                shown = str(value)
            if name in self._derived:
                shown += f" (from {_FOLLOWS[name]})"
            out[str(env)] = shown
        return out


# DISCORD_OWNER_IDS="1,2" must not be parsed as JSON by pydantic-settings.
Settings.model_config["enable_decoding"] = False


_FOLLOWS = {"database_url": "TRACKLY_DATA_DIR", "public_url": "TRACKLY_HOST and TRACKLY_PORT"}


def _url_host(host: str) -> str:
    """The host of a URL that reaches a server listening on ``host``: a wildcard address
    is reached on this machine as 127.0.0.1 (elsewhere, set TRACKLY_PUBLIC_URL)."""
    if host in WILDCARD_HOSTS:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":****@", 1)
    return url


def load_settings(**overrides: Any) -> Settings:
    """Read settings; on a bad value raise SettingsError with one readable line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"][0] if err["loc"] else "settings"
        env = _env_name(str(loc))
        value = os.environ.get(env)
        shown = f" (got {value!r})" if value is not None and "SECRET" not in env else ""
        message = err["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{env}: {message}{shown}") from None


def _env_name(field_or_alias: str) -> str:
    info = Settings.model_fields.get(field_or_alias)
    if info is None:
        return field_or_alias
    alias = info.validation_alias
    return str(alias.choices[0]) if isinstance(alias, AliasChoices) else field_or_alias.upper()


def resolve_secret_key(settings: Settings) -> str:
    """The secret key: from the environment, or generated once for embedded (SQLite) use.

    The generated key lives in ``<data_dir>/.trackly-secret``, readable by the owner only.
    PostgreSQL deployments run many processes, which must share one key, so there it is
    required.
    """
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value()
        if len(key) < 16:
            raise SettingsError("TRACKLY_SECRET_KEY: must be at least 16 characters")
        return key
    if not settings.is_sqlite:
        raise SettingsError(
            "TRACKLY_SECRET_KEY: required with PostgreSQL (every process must share it)"
        )
    path = settings.data_dir / SECRET_FILE
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            logging.getLogger(__name__).warning(
                "%s is readable by others (mode %o); tightening to 600", path, mode
            )
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(48)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def check_data_dir(settings: Settings, *, workdir: Path = Path(".")) -> None:
    """Refuse to start beside the data of an earlier Trackly, which kept its database and
    secret in the working directory: a new, empty database and a new secret (which cannot
    open the stored provider credentials) would look like lost data."""
    if "data_dir" in settings.model_fields_set:
        return
    data_dir = settings.data_dir
    left = [name for name, applies in (
        (DATABASE_FILE, settings.is_derived("database_url")),
        (SECRET_FILE, settings.secret_key is None),
    ) if applies and (workdir / name).exists() and not (data_dir / name).exists()]
    if left:
        raise SettingsError(
            f"TRACKLY_DATA_DIR: {' and '.join(left)} in this directory are from an earlier "
            f"Trackly, which kept its data here; stop Trackly and move {DATABASE_FILE}*, "
            f"{SECRET_FILE} and imports/ (if any) into {data_dir}/, or set "
            "TRACKLY_DATA_DIR=. to keep them where they are")


def make_data_dir(settings: Settings) -> None:
    """Create the data directory, owner-only: it holds phone numbers and the secret key."""
    try:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(f"TRACKLY_DATA_DIR: cannot create {settings.data_dir} "
                            f"({exc.strerror})") from None
