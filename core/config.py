"""Settings: the one place configuration is read (environment and ``.env``).

Every field is documented in ``.env.example`` and the README's configuration
table; ``tests/unit/test_docs.py`` fails when one is missing. Imports no UI or
worker code.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import REFUSED_CONFIGURATION_EXIT, ConfigurationError

KNOWN_DEFAULT_SECRETS = {"some_key", "changeme", "change-me", "secret", "veogen", "default"}
"""Values that are never accepted as secrets outside development."""

MIN_DISTINCT_KEY_BYTES = 12
"""A Fernet key whose 32 bytes take fewer distinct values than this was typed, not generated."""


def _networks(spec: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Parse comma-separated addresses and CIDR networks (``10.0.0.5, 172.16.0.0/12``)."""
    return tuple(ip_network(item.strip(), strict=False) for item in spec.split(",") if item.strip())


class Settings(BaseSettings):
    """VeoGen's configuration. Empty means "use the embedded default"."""

    model_config = SettingsConfigDict(env_prefix="VEOGEN_", env_file=".env", extra="ignore", populate_by_name=True)

    env: Literal["development", "production"] = "development"
    """``production`` refuses generated secrets and requires explicit services."""

    data_dir: Path = Path("data")
    """Folder for the embedded default: SQLite file, bundled Redis, local media."""

    database_url: str = Field(default="", validation_alias=AliasChoices("DATABASE_URL", "VEOGEN_DATABASE_URL"))
    """SQLAlchemy URL; empty means SQLite at ``{data_dir}/veogen.db``."""

    redis_url: str = Field(default="", validation_alias=AliasChoices("REDIS_URL", "VEOGEN_REDIS_URL"))
    """Redis URL for RQ; empty means the bundled redis-server on a unix socket in ``data_dir``."""

    media_url: str = ""
    """Media root: a local folder or an fsspec URL (``s3://``, ``gs://``); empty means ``{data_dir}/media``."""

    provider: Literal["auto", "offline", "veo"] = "auto"
    """Default provider: ``auto`` is Veo when credentials are set, else the offline renderer."""

    gemini_api_key: str = Field(default="", validation_alias=AliasChoices("VEOGEN_GEMINI_API_KEY", "GEMINI_API_KEY"))
    """Gemini API key: Gemini Omni Flash (and any Veo id the key still lists) on the Gemini API."""

    veo_base_url: str = ""
    """Base URL of Google's APIs (Gemini and Vertex); empty means Google. Point it at the local stand-in for demos."""

    vertex_project: str = ""
    """Google Cloud project for Vertex AI (application-default credentials): Veo 3.1 and Omni 1.2; empty means none."""

    vertex_location: str = "us-central1"
    """Vertex AI region."""

    vertex_output_uri: str = ""
    """``gs://bucket/prefix`` where Vertex writes videos; empty means videos come back inline."""

    veo_timeout_seconds: float = Field(default=60.0, gt=0)
    """HTTP timeout of one call to Google (Veo, Omni, Files, models list), in seconds."""

    prompt_model: str = "gemini-flash-latest"
    """Gemini text model behind "Improve prompt"."""

    models_refresh_hours: float = Field(default=6.0, gt=0)
    """How often each credential's live model list is read again, in hours (also at start and after a 404)."""

    max_concurrent_operations: int = Field(default=10, ge=1)
    """Provider operations in flight at once, studio-wide (size it to the project's Veo quota)."""

    submits_per_minute: int = Field(default=10, ge=1)
    """Submissions to the provider per rolling minute, studio-wide (the project's RPM quota)."""

    user_max_concurrent: int = Field(default=3, ge=1)
    """Operations one user may have in flight at once, so nobody's queue starves another's."""

    default_monthly_budget_usd: Decimal = Field(default=Decimal("50"), ge=0)
    """Monthly budget of a user who has none set, in US dollars."""

    default_max_open_generations: int = Field(default=20, ge=1)
    """Unfinished generations a user may have at once when none is set for them."""

    duplicate_window_seconds: int = Field(default=600, ge=0)
    """An identical paid request within this many seconds asks the user to confirm."""

    admin_password: str = ""
    """Password for the first admin account; empty means generate one and print it once."""

    cookie_key: str = ""
    """Secret that signs login cookies; empty in development means a random key kept in ``data_dir``."""

    cookie_expiry_days: float = Field(default=1.0, gt=0)
    """Days a login cookie stays valid."""

    secret_key: str = ""
    """Fernet key that encrypts provider credentials stored in the database; empty in development means
    a random key kept in ``data_dir``."""

    login_max_failures: int = Field(default=5, ge=1)
    """Failed logins for one username before it is locked for a while."""

    login_lock_seconds: int = Field(default=900, ge=1)
    """How long a lock lasts, in seconds; locks always expire."""

    login_client_max_failures: int = Field(default=30, ge=1)
    """Failed logins from one client address within the window before it must wait."""

    login_window_seconds: int = Field(default=900, ge=1)
    """Window in which failed logins are counted, in seconds."""

    trusted_proxies: str = ""
    """Comma-separated addresses or CIDR networks of reverse proxies whose ``X-Forwarded-For`` names the
    client (e.g. ``172.16.0.0/12`` for compose's nginx), and whose ``X-Forwarded-Proto`` the REST API takes as
    the scheme of the links it gives; empty means the socket peer is the client and the scheme is the socket's."""

    min_password_chars: int = Field(default=10, ge=8, le=72)
    """Shortest password accepted."""

    self_registration: bool = False
    """Let people create their own creator account (only with an allowed email domain)."""

    registration_domains: str = ""
    """Comma-separated email domains allowed to register themselves, e.g. ``example.com,example.org``."""

    invite_ttl_hours: int = Field(default=72, ge=1)
    """How long an invitation link works, in hours."""

    public_url: str = "http://127.0.0.1:8501"
    """The studio's address as users reach it; invitation links start with it."""

    workers: int = Field(default=2, ge=1, le=32)
    """Worker processes started by ``veogen up``."""

    poll_interval_seconds: float = Field(default=5.0, ge=0)
    """Delay before the first provider poll; later polls back off from it."""

    poll_max_interval_seconds: float = Field(default=30.0, gt=0)
    """Upper bound of the poll backoff, in seconds."""

    operation_deadline_seconds: int = Field(default=1800, gt=0)
    """A generation not final this many seconds after it was sent (unsent: after it was made) is failed.

    A film's take waiting for the shot before it is not sent yet, so it never expires while it waits."""

    reconcile_interval_seconds: float = Field(default=15.0, gt=0)
    """How often the scheduler reconciles the database with the queue, in seconds."""

    stale_after_seconds: float = Field(default=30.0, gt=0)
    """A non-final generation untouched this long, with no live job, is re-enqueued, in seconds."""

    job_timeout_seconds: int = Field(default=600, gt=0)
    """RQ job timeout; jobs are short, this bounds a stuck render or download."""

    max_provider_retries: int = Field(default=5, ge=0)
    """Transient provider errors retried per generation before it fails."""

    page_size: int = Field(default=12, ge=1, le=100)
    """Generations per gallery page."""

    log_level: str = "INFO"
    """Python logging level for every process."""

    log_format: Literal["text", "json"] = "text"
    """``json`` writes one JSON object per line (for Loki/Promtail); ``text`` is for a terminal."""

    metrics_host: str = "127.0.0.1"
    """Address every process's ``/metrics`` listens on; keep it loopback or an internal network."""

    exporter_port: int = Field(default=9630, ge=0, le=65535)
    """Port of ``veogen exporter`` (gauges read from the database and Redis at scrape time)."""

    web_metrics_port: int = Field(default=9631, ge=0, le=65535)
    """Port of the web process's metrics; 0 turns them off."""

    scheduler_metrics_port: int = Field(default=9632, ge=0, le=65535)
    """Port of the scheduler's metrics; 0 turns them off."""

    worker_metrics_port: int = Field(default=9640, ge=0, le=65535)
    """First port of worker metrics: each worker on a host takes the first free one of the next 16; 0 turns
    them off."""

    stuck_after_seconds: int = Field(default=600, gt=0)
    """An unfinished generation (past the queue) untouched this long counts as stuck, in seconds."""

    webhook_host: str = "127.0.0.1"
    """Address the webhook receiver (``veogen webhooks serve``, started by ``veogen up``) listens on; put an
    HTTPS reverse proxy in front of it for Google."""

    webhook_port: int = Field(default=9650, ge=1, le=65535)
    """Port of the webhook receiver (``POST /webhooks/google``, ``GET /healthz``)."""

    webhook_metrics_port: int = Field(default=9633, ge=0, le=65535)
    """Port of the webhook receiver's metrics (``veogen_webhook_events_total``); 0 turns them off."""

    webhook_safety_poll_seconds: float = Field(default=60.0, gt=0)
    """Poll interval while webhooks are healthy, in seconds: polling slows down to this, never stops."""

    webhook_status_interval_seconds: float = Field(default=300.0, gt=0)
    """How often the scheduler reads Google's state of the webhook, in seconds; webhooks count as healthy
    only while the last answer is at most three intervals old."""

    outgoing_webhooks_allow_private: bool = False
    """Let users' outgoing webhooks reach loopback, private and link-local addresses (off: only public ones,
    checked at registration and again at each delivery, so no server-side request forgery)."""

    api_host: str = "127.0.0.1"
    """Address the REST API (``veogen api``, started by ``veogen up``) listens on; put an HTTPS reverse proxy in
    front of it to reach it from other machines."""

    api_port: int = Field(default=8600, ge=1, le=65535)
    """Port of the REST API (``/v1``, OpenAPI at ``/openapi.json``, interactive docs at ``/docs``)."""

    api_processes: int = Field(default=2, ge=1, le=64)
    """Uvicorn processes serving the REST API (``veogen api``), sharing one listening socket; one per CPU core is a
    good start. Nothing is kept in a process between requests (rate limits are in Redis), so any process answers
    any request; 1 serves from the ``veogen api`` process itself."""

    api_root_path: str = Field(default="", pattern=r"^(/[A-Za-z0-9._~-]+)*$")
    """The path prefix a reverse proxy serves the REST API under and strips before passing a request on (``/api``
    behind the compose file's nginx), so the docs, the OpenAPI document's server and links name their outside
    address; empty when the API is reached directly."""

    api_jwt_minutes: int = Field(default=15, ge=1, le=1440)
    """Minutes an access token from the API's password login (``POST /v1/token``, a JWT) stays valid; a logout,
    a password change or reset, or disabling the user ends it at once."""

    api_reads_per_minute: int = Field(default=600, ge=1)
    """Requests one API token may make in any minute to routes that read (every route but those that need the
    ``generate`` scope); one more answers 429 with ``Retry-After``. Counted in Redis, shared by every API process."""

    api_submits_per_minute: int = Field(default=30, ge=1)
    """Requests one API token may make in any minute to routes that need the ``generate`` scope (submitting);
    counted apart from reads."""

    dashboard_host: str = "127.0.0.1"
    """Address ``veogen dashboard`` (rq-dashboard) listens on."""

    dashboard_port: int = Field(default=9181, ge=1, le=65535)
    """Port of ``veogen dashboard``."""

    dashboard_username: str = "operator"
    """Basic-auth user of ``veogen dashboard``."""

    dashboard_password: str = ""
    """Basic-auth password of ``veogen dashboard``; empty in development means a random one kept in
    ``data_dir`` (printed at start); required in production."""

    @property
    def veo_configured(self) -> bool:
        """Whether Veo credentials (an API key or a Vertex project) are set."""
        return bool(self.gemini_api_key or self.vertex_project)

    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to SQLite under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'veogen.db').resolve()}"

    def resolved_redis_url(self) -> str:
        """Return the Redis URL, defaulting to the bundled server's socket under ``data_dir``."""
        return self.redis_url or f"unix://{(self.data_dir / 'redis' / 'redis.sock').resolve()}"

    def resolved_media_url(self) -> str:
        """Return the media root, defaulting to ``{data_dir}/media``."""
        return self.media_url or str((self.data_dir / "media").resolve())

    def resolved_cookie_key(self) -> str:
        """Return the cookie key; in development, create and keep a random one.

        Outside development the key must be set, at least 32 characters, and not a
        known default (streamlit-authenticator's own is the literal ``some_key``).
        """
        if self.cookie_key:
            if self.env == "production" and (
                len(self.cookie_key) < 32 or self.cookie_key.lower() in KNOWN_DEFAULT_SECRETS
            ):
                raise ConfigurationError("VEOGEN_COOKIE_KEY is too short or a known default; use 32+ random characters")
            return self.cookie_key
        if self.env == "production":
            raise ConfigurationError("VEOGEN_COOKIE_KEY must be set when VEOGEN_ENV=production")
        return self._generated("cookie_key", lambda: secrets.token_urlsafe(48))

    def resolved_secret_key(self) -> str:
        """Return the Fernet key for stored credentials; in development, create and keep one.

        A key that is set must be a Fernet key (32 url-safe base64 bytes) in every
        environment; in production it must be set and not a typed pattern.
        """
        if self.secret_key:
            try:
                raw = base64.urlsafe_b64decode(self.secret_key.encode())
            except ValueError:
                raw = b""
            if len(raw) != 32:
                raise ConfigurationError(
                    "VEOGEN_SECRET_KEY is not a Fernet key (32 url-safe base64 bytes); make one with "
                    '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`'
                )
            if self.env == "production" and len(set(raw)) < MIN_DISTINCT_KEY_BYTES:
                raise ConfigurationError("VEOGEN_SECRET_KEY is a weak key (repeated bytes); generate a random one")
            return self.secret_key
        if self.env == "production":
            raise ConfigurationError("VEOGEN_SECRET_KEY must be set when VEOGEN_ENV=production")
        return self._generated("secret_key", lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())

    def check_secrets(self) -> None:
        """Refuse to start with a missing, weak or default shared secret, naming every one at once.

        Every process calls this through ``build_studio``: web, worker, scheduler,
        exporter and ``veogen init``/``up``. In development a missing secret is
        generated and kept in ``data_dir`` instead.
        """
        problems = []
        for resolve in (self.resolved_cookie_key, self.resolved_secret_key):
            try:
                resolve()
            except ConfigurationError as exc:
                problems.append(str(exc))
        if problems:
            raise ConfigurationError("; ".join(problems))

    def resolved_dashboard_password(self) -> str:
        """Return the rq-dashboard password; in development, create and keep a random one."""
        if self.dashboard_password:
            if self.env == "production" and (
                len(self.dashboard_password) < 12 or self.dashboard_password.lower() in KNOWN_DEFAULT_SECRETS
            ):
                raise ConfigurationError(
                    "VEOGEN_DASHBOARD_PASSWORD is too short or a known default; use 12+ characters"
                )
            return self.dashboard_password
        if self.env == "production":
            raise ConfigurationError("VEOGEN_DASHBOARD_PASSWORD must be set when VEOGEN_ENV=production")
        return self._generated("dashboard_password", lambda: secrets.token_urlsafe(18))

    def prepare_data_dir(self) -> Path:
        """Create ``data_dir`` readable by this user only (0700), tightening it if it exists.

        The folder holds the database, media, Redis's files and generated secrets;
        whatever mode a file inside gets, nobody else can reach it through here.
        """
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.data_dir.stat().st_uid == os.getuid():  # a volume someone else owns is theirs to set
            self.data_dir.chmod(0o700)
        return self.data_dir

    def _generated(self, name: str, make: Callable[[], str]) -> str:
        path = self.data_dir / name
        if not path.exists():
            self.prepare_data_dir()
            path.write_text(make())
            path.chmod(0o600)
        return path.read_text().strip()

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        """Refuse an entry that is not an address or network at start, not at the first login."""
        _networks(value)
        return value

    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The trusted proxies as networks (a single address is a /32 or /128)."""
        return _networks(self.trusted_proxies)

    def allowed_registration_domains(self) -> set[str]:
        return {d.strip().lower().lstrip("@") for d in self.registration_domains.split(",") if d.strip()}


def setting_env_names() -> list[str]:
    """Return the environment variable name of every setting (for docs tests)."""
    prefix = Settings.model_config.get("env_prefix", "")
    names = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.append(str(alias.choices[0]))
        else:
            names.append(f"{prefix}{name}".upper())
    return names


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()


def settings_or_exit() -> Settings:
    """The process-wide settings, checked for a production start; on refusal, say why and exit.

    For process entries (worker, scheduler): the operator sees one plain line, not
    a traceback, and ``veogen up`` does not restart a process that exits this way.
    """
    settings = get_settings()
    try:
        settings.check_secrets()
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(REFUSED_CONFIGURATION_EXIT) from None
    return settings
