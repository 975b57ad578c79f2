"""The one settings object of nichewatch.

Every knob comes from the environment with the ``NICHEWATCH_`` prefix (or a ``.env``
file); the composition root builds :class:`Settings` once and passes it down. Nothing
else in the code base reads the environment.

``KAFKA_BOOTSTRAP_SERVERS`` is honoured as well as ``NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS``
so that one variable points every tool (tests, demo, worker) at an existing cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

ENV_PREFIX = "NICHEWATCH_"


class ConfigError(Exception):
    """Configuration that cannot work; the message says which setting to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    # --- Kafka connection -------------------------------------------------------------
    kafka_bootstrap_servers: str = Field(
        default="localhost:9092",
        validation_alias=AliasChoices("NICHEWATCH_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
        description="Comma-separated host:port list of the Kafka cluster.",
    )
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_key_password: SecretStr | None = None

    # --- Topics -----------------------------------------------------------------------
    topic_posts: str = "posts.raw"
    topic_snapshots: str = "accounts.snapshots"
    topic_niches: str = "niches.config"
    topic_alerts: str = "alerts.follower-spike"
    topic_influencers: str = "influencers"
    topic_dlq: str = "posts.dlq"
    topic_niche_tags: str = "niches.tags"
    topic_cohort_contributions: str = "niches.cohort-contributions"
    topic_cohorts: str = "niches.cohorts"
    topic_tag_observations: str = "niches.tag-observations"
    topic_partitions: int = Field(default=4, ge=1, le=1024)
    topic_replication_factor: int = Field(default=1, ge=1, le=16)

    # --- Worker -----------------------------------------------------------------------
    app_id: str = Field(default="nichewatch", min_length=1, description="Faust app id = consumer group.")
    store: str = Field(default="memory://", description="Table store: memory:// or rocksdb://")
    data_dir: Path = Field(default=Path(".nichewatch/data"), description="Worker state directory.")
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)
    metrics_port: int = Field(default=9108, ge=0, le=65535, description="0 disables the /metrics server.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    tag_report_interval_s: float = Field(
        default=30.0, gt=0, description="Seconds between publications of changed niche tag reports."
    )
    mention_lookback_s: float = Field(
        default=6 * 86_400.0, gt=0,
        description="How far back (broker time) a starting worker reads posts for the mentions they carry.",
    )
    settle_interval_s: float = Field(
        default=10.0, gt=0, description="Seconds between checks of published scores against the cluster's cohorts."
    )
    settle_accounts_per_pass: int = Field(
        default=20_000, gt=0,
        description="Accounts checked per settle pass (round-robin): bounds its CPU however many accounts a worker owns.",
    )

    # --- Collectors (`nichewatch collect ...`) -------------------------------------------
    collector_state_dir: Path = Field(
        default=Path(".nichewatch/collectors"),
        description="Where collectors keep their cursors and tracked posts (one JSON file per source).",
    )
    collector_metrics_port: int = Field(default=9110, ge=0, le=65535, description="0 disables it.")
    collector_poll_interval_s: float = Field(default=60.0, gt=0, description="Seconds between discovery passes.")
    collector_reobserve_after_s: str = Field(
        default="3600,21600,86400,259200",
        description="Comma-separated ages (seconds after publication) at which posts are observed again.",
    )
    collector_profile_interval_s: float = Field(default=21600.0, gt=0, description="Profile snapshot cadence.")
    collector_request_timeout_s: float = Field(default=20.0, gt=0)
    collector_max_attempts: int = Field(default=6, ge=1, le=20, description="Tries per request (timeouts, 5xx).")
    collector_backoff_cap_s: float = Field(default=60.0, gt=0, description="Longest wait between two tries.")
    mastodon_access_token: SecretStr | None = Field(
        default=None, description="Bearer token for servers whose public timelines need one."
    )
    bluesky_jetstream_url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    bluesky_appview_url: str = "https://public.api.bsky.app"

    # --- Local tooling (`nichewatch kafka ...`) ------------------------------------------
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "nichewatch",
        description="Where the Kafka jars are cached and the local broker keeps its data.",
    )

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _servers_are_host_port(cls, value: str) -> str:
        servers = [s.strip() for s in value.split(",") if s.strip()]
        if not servers:
            raise ValueError("needs at least one host:port")
        for server in servers:
            host, sep, port = server.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"{server!r} is not host:port")
        return ",".join(servers)

    @field_validator("store")
    @classmethod
    def _store_is_known(cls, value: str) -> str:
        if value not in ("memory://", "rocksdb://"):
            raise ValueError("must be memory:// or rocksdb://")
        return value

    @model_validator(mode="after")
    def _security_is_complete(self) -> Settings:
        protocol = self.kafka_security_protocol
        if protocol.startswith("SASL"):
            missing = [
                name
                for name, value in (
                    ("KAFKA_SASL_MECHANISM", self.kafka_sasl_mechanism),
                    ("KAFKA_SASL_USERNAME", self.kafka_sasl_username),
                    ("KAFKA_SASL_PASSWORD", self.kafka_sasl_password),
                )
                if value is None
            ]
            if missing:
                names = ", ".join(ENV_PREFIX + m for m in missing)
                raise ValueError(f"{ENV_PREFIX}KAFKA_SECURITY_PROTOCOL={protocol} also needs {names}")
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError(
                f"{ENV_PREFIX}KAFKA_SSL_CERTFILE and {ENV_PREFIX}KAFKA_SSL_KEYFILE go together"
            )
        for name in ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{ENV_PREFIX}{name.upper()}={path} is not a readable file")
        return self

    @field_validator("collector_reobserve_after_s")
    @classmethod
    def _reobserve_ages_are_positive(cls, value: str) -> str:
        try:
            ages = [float(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise ValueError("must be comma-separated numbers of seconds") from None
        if not ages or any(age <= 0 for age in ages) or ages != sorted(ages):
            raise ValueError("must be increasing positive numbers of seconds")
        return value

    @property
    def reobserve_ages_s(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.collector_reobserve_after_s.split(",") if part.strip())

    @property
    def bootstrap_list(self) -> list[str]:
        return self.kafka_bootstrap_servers.split(",")

    @property
    def uses_ssl(self) -> bool:
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning validation errors into one readable :class:`ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        name = f"{ENV_PREFIX}{field.upper()}" if field else "settings"
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{name}: {message}" if field else message)
    return "invalid configuration: " + "; ".join(problems)
