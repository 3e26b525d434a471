"""ORM models: users, generations, videos, events, ledger entries, and the analytics rollups.

Services read and write these and hand plain dataclasses to callers; no page
ever sees an ORM row. Imports SQLAlchemy only.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

MONEY = Numeric(12, 4)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A 32-character hex id; safe as an RQ job id and in storage keys."""
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in UTC, aware on the way in and on the way out, on every database.

    PostgreSQL keeps the zone; SQLite keeps none and hands back naive values,
    which this reads as the UTC they were written in. No caller ever meets a
    naive datetime from the database.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    password_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16), default="creator")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    monthly_budget_usd: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    """Spend allowed per calendar month (UTC); empty means the studio default."""
    max_open_generations: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Generations this user may have unfinished at once; empty means the studio default."""
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Set by an initial or reset password: the next login goes to the password change first."""
    sessions_valid_after: Mapped[datetime | None] = mapped_column(nullable=True)
    """Login cookies issued before this moment are refused (logout, password change, reset, disable)."""
    invite_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    invite_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    personal_key_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The user's own Gemini API key (Fernet); only their generations use it."""
    last_login_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginThrottle(Base):
    """Failed logins per key (``user:<name>`` or ``client:<address>``), and the lock they lead to.

    Unknown usernames are counted too, so a lock never tells whether an account exists.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)


class AppSecret(Base):
    """Credentials an admin set in the UI, encrypted with Fernet (key from the environment)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class Generation(Base):
    __tablename__ = "generations"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_generations_user_idempotency"),
        Index("ix_generations_user_created", "user_id", "created_at"),
        Index("ix_generations_status", "status"),
        Index("ix_generations_created", "created_at"),
        Index("ix_generations_finished", "finished_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    prompt: Mapped[str] = mapped_column(Text)
    negative_prompt: Mapped[str] = mapped_column(Text, default="")
    duration_seconds: Mapped[int] = mapped_column(Integer)
    aspect_ratio: Mapped[str] = mapped_column(String(8))
    resolution: Mapped[str] = mapped_column(String(8))
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sample_count: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    remix_of_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    mode: Mapped[str] = mapped_column(String(16), default="text", server_default="text")
    """text, image, frames, reference, extend or edit (see core.catalog.MODES)."""
    extend_of_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    request_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    """sha256 of everything that makes two requests the same; finds repeats to confirm."""
    not_before: Mapped[datetime | None] = mapped_column(nullable=True)
    """The provider asked us to wait (429 retry delay): no submit before this time."""
    submitted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    provider_done_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """When the provider's part ended (the row left ``running``): time at the provider is this − submitted_at."""
    movie_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    """The movie this generation is a take of a shot of (core/movies.py), if any."""
    shot_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    waits_for_shot_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """Set while this take waits, queued and reserved, for a finished take of the shot before it
    (its shot continues from that take's last frame or extends it); admission skips it until then."""
    surface: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """Where the model was served: ``gemini`` (API key), ``vertex`` or ``local``; empty on rows made before 0.4."""
    operation_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The provider's handle: a Veo operation name or an Omni interaction id."""
    provider_videos: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    """URIs of the finished videos at the provider, kept so a fetch can resume."""
    job_seq: Mapped[int] = mapped_column(Integer, default=0)
    """Fencing token: only the job enqueued with the current value may advance the row."""
    poll_count: Mapped[int] = mapped_column(Integer, default=0)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    price_usd: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    cost_usd: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    safety_reasons: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)

    videos: Mapped[list[Video]] = relationship(
        back_populates="generation", cascade="all, delete-orphan", order_by="Video.index"
    )
    inputs: Mapped[list[GenerationInput]] = relationship(cascade="all, delete-orphan", order_by="GenerationInput.index")


class Movie(Base):
    """A creator's film: a style, a shape and an ordered list of shots, each rendered as generations (takes)."""

    __tablename__ = "movies"
    __table_args__ = (Index("ix_movies_user_created", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(120))
    style: Mapped[str] = mapped_column(String(16))
    """cinematic, realistic, animated, artistic (presets the creator may edit) or custom."""
    style_prompt: Mapped[str] = mapped_column(Text, default="")
    style_negative: Mapped[str] = mapped_column(Text, default="")
    aspect_ratio: Mapped[str] = mapped_column(String(8))
    resolution: Mapped[str] = mapped_column(String(8))
    target_seconds: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """When the film was first started (its shots reserved); the storyboard's shape is fixed from then on."""
    assembly_status: Mapped[str] = mapped_column(String(16), default="none")
    """none, queued, running, done or failed (see core.movies)."""
    assembly_seq: Mapped[int] = mapped_column(Integer, default=0)
    """Fencing token of the assembly job: only the job enqueued with the current value may write."""
    assembly_takes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    """The takes (generation ids) the current or last assembly joins, in shot order."""
    assembly_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    assembly_report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    assembled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    soundtrack_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    """Storage key of the music the creator uploaded for the film, if any."""
    soundtrack_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    soundtrack_mode: Mapped[str] = mapped_column(String(8), default="mix", server_default="mix")
    """replace (the shots' sound is dropped) or mix (the music under it)."""
    soundtrack_level: Mapped[float] = mapped_column(Float, default=0.5, server_default="0.5")
    """Linear gain on the music, 0–1."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    shots: Mapped[list[Shot]] = relationship(
        back_populates="movie", cascade="all, delete-orphan", order_by="Shot.position"
    )


class Shot(Base):
    """One shot of a movie: what to render, how long, with which model, and how it joins the previous one."""

    __tablename__ = "shots"
    __table_args__ = (UniqueConstraint("movie_id", "position", name="uq_shots_movie_position"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    movie_id: Mapped[str] = mapped_column(ForeignKey("movies.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text)
    duration_seconds: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(64))
    join: Mapped[str] = mapped_column(String(16), default="cut")
    """How it follows the previous shot: cut, crossfade, continue (its last frame) or extend (see JOINS)."""
    chosen_generation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """The take the film uses; None means the newest finished one."""
    character_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    """Characters in the shot: their reference images are sent with it (reference-images mode)."""
    start_image_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """The film's start image this shot starts from (first-frame mode), if any (``MovieImage``)."""
    match_colours: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Recolour the start image to the previous shot's last frame (histogram matching) before it is sent."""

    movie: Mapped[Movie] = relationship(back_populates="shots")


class Character(Base):
    """A character of a movie: a name, a description and reference images that keep its look steady."""

    __tablename__ = "characters"
    __table_args__ = (UniqueConstraint("movie_id", "name", name="uq_characters_movie_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    movie_id: Mapped[str] = mapped_column(ForeignKey("movies.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    images: Mapped[list[CharacterImage]] = relationship(
        back_populates="character", cascade="all, delete-orphan", order_by="CharacterImage.index"
    )


class CharacterImage(Base):
    """A reference image of a character: checked and re-encoded like any upload, stored under the character."""

    __tablename__ = "character_images"
    __table_args__ = (UniqueConstraint("character_id", "index", name="uq_character_images_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    character_id: Mapped[str] = mapped_column(ForeignKey("characters.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))

    character: Mapped[Character] = relationship(back_populates="images")


class MovieImage(Base):
    """A picture a creator uploaded for a film, for shots to start from: checked and re-encoded like any upload."""

    __tablename__ = "movie_images"
    __table_args__ = (UniqueConstraint("movie_id", "name", name="uq_movie_images_movie_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    movie_id: Mapped[str] = mapped_column(ForeignKey("movies.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    storage_key: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GenerationInput(Base):
    """An uploaded image a generation uses: checked, re-encoded and stored before the row is written."""

    __tablename__ = "generation_inputs"
    __table_args__ = (UniqueConstraint("generation_id", "index", name="uq_inputs_generation_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[str] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    """first_frame, last_frame or reference."""
    storage_key: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class Video(Base):
    __tablename__ = "videos"
    __table_args__ = (UniqueConstraint("generation_id", "index", name="uq_videos_generation_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[str] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(255))
    thumbnail_key: Mapped[str] = mapped_column(String(255))
    poster_key: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    duration_seconds: Mapped[float] = mapped_column(Float)
    fps: Mapped[float] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    codec: Mapped[str] = mapped_column(String(32))
    has_audio: Mapped[bool] = mapped_column(Boolean)
    provider_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Where the provider still holds this video (Veo keeps it two days; extensions need it)."""
    quality_flags: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    """What the OpenCV checks found in a film's shot (core/checks/): shown, never blocking."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    generation: Mapped[Generation] = relationship(back_populates="videos")


class Event(Base):
    """Every status change (and later, account events): the timeline and the audit log."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_generation_at", "generation_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[str | None] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    kind: Mapped[str] = mapped_column(String(32), default="status")
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerEntry(Base):
    """Money: reserve at submit, then exactly one of settle or release, enforced by a unique key."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("generation_id", "kind", name="uq_ledger_generation_kind"),
        Index("ix_ledger_user_created", "user_id", "created_at"),
        Index("ix_ledger_user_period", "user_id", "period"),
        Index("ix_ledger_kind_created", "kind", "created_at"),
        Index("ix_ledger_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[str | None] = mapped_column(ForeignKey("generations.id", ondelete="SET NULL"), nullable=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    """``reserve``, ``settle`` or ``release``."""
    period: Mapped[str] = mapped_column(String(7), default="", server_default="")
    """The UTC month (``YYYY-MM``) of the generation's submit; budgets sum one period."""
    amount_usd: Mapped[Decimal] = mapped_column(MONEY)
    """Signed change to the user's committed spend: reserve +price, settle cost−price, release −price.

    So a generation's entries sum to its price while open, its cost once settled,
    and zero once released; a user's entries sum to what they have committed.
    """
    model: Mapped[str] = mapped_column(String(64), default="", server_default="")
    """The generation's model, kept here so spend by model survives a deleted generation."""
    charged_usd: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    """On a ``settle`` entry, the generation's real cost (what the provider charges); empty otherwise."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RollupGenerations(Base):
    """Generations created on one sealed UTC day, by model and status (written by core.services.analytics).

    A day is sealed once it is over and every generation created on it is final, so
    its figures no longer change; the Analytics page reads these rows instead of the
    day's generations. A generation deleted after its day was sealed still counts here.
    """

    __tablename__ = "rollup_generations"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    generations: Mapped[int] = mapped_column(Integer)


class RollupDurations(Base):
    """Time in queue and at the provider of sealed generations, counted per log-spaced bucket.

    Bucket ``i`` holds durations in ``(γ^(i-1), γ^i]`` seconds (γ from
    core.services.rollups.ACCURACY), so the counts of any days add up and a
    percentile read from them stays within that accuracy. ``grain`` is ``day``
    (the day's generations) or ``month`` (``day`` is the 1st; the sum of the
    month's day rows, written once the whole month is sealed, so a year reads few rows).
    """

    __tablename__ = "rollup_durations"

    grain: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    """``queue`` (submitted_at − created_at) or ``provider`` (provider_done_at − submitted_at)."""
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    generations: Mapped[int] = mapped_column(Integer)


class RollupSpend(Base):
    """Real cost settled on one sealed UTC day (one that is over), by model: the settle entries' ``charged_usd``."""

    __tablename__ = "rollup_spend"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    charged_usd: Mapped[Decimal] = mapped_column(MONEY)
    settles: Mapped[int] = mapped_column(Integer)


class RollupBudget(Base):
    """Ledger entries made on one sealed UTC day, by user and budget period.

    Plain history: no foreign key, so nothing here holds up a change to the live tables.
    """

    __tablename__ = "rollup_budget"
    __table_args__ = (Index("ix_rollup_budget_period", "period", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    committed_usd: Mapped[Decimal] = mapped_column(MONEY)
    """Sum of the entries' ``amount_usd``: the change of the user's committed spend that day."""
    charged_usd: Mapped[Decimal] = mapped_column(MONEY)
    """Sum of the settle entries' ``charged_usd``: the real cost settled that day."""
    settles: Mapped[int] = mapped_column(Integer)


class ApiToken(Base):
    """A personal access token for the REST API: its SHA-256 (never the secret), owner, scopes and life.

    A token counts while it is not revoked, not expired, its owner is enabled and
    it was made after the owner's sessions were last ended (``User.sessions_valid_after``).
    See core/services/tokens.py.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_api_tokens_hash"),
        Index("ix_api_tokens_user", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64))
    """Hex SHA-256 of the whole secret."""
    hint: Mapped[str] = mapped_column(String(32))
    """The secret's first characters (``veogen_pat_AbCd``), so its owner can tell tokens apart."""
    scopes: Mapped[str] = mapped_column(String(64))
    """Space-separated, from ``read``, ``generate`` and ``admin``."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class WebhookEndpoint(Base):
    """A URL a user registered for outgoing webhooks: VeoGen POSTs their finished generations and films to it.

    The ``whsec_…`` signing secret is sealed with the studio's Vault (like the Google webhook's); it is shown
    once, when the endpoint is made. See core/services/outgoing.py.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_user", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(200), default="")
    secret_sealed: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event on its way to one endpoint: the payload, the attempts so far and the next one.

    ``status`` is ``pending`` (an attempt is due at ``next_attempt_at``), ``delivered`` (a 2xx answer) or
    ``failed`` (out of attempts, or the target refused); a replay is a new row with the same ``event_id``.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))
    """The Standard Webhooks ``webhook-id`` (``msg_…``): the same on every attempt and replay, for receivers
    to drop repeats."""
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)
