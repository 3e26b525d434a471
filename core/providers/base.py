"""The Protocol every video backend implements, and the plain data it exchanges.

Imports nothing heavy: the web process loads this, never a provider's SDK.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal, Protocol

from core.params import GenerationParams


@dataclass(frozen=True)
class ImageInput:
    """An uploaded image, already checked and re-encoded by core.images."""

    role: Literal["first_frame", "last_frame", "reference"]
    data: bytes
    mime_type: str


@dataclass(frozen=True, kw_only=True)
class GenerationRequest(GenerationParams):
    """What a provider is asked to render: a validated generation's parameters, its images and source."""

    images: tuple[ImageInput, ...] = ()
    extend_video_uri: str | None = None
    """Veo ``mode="extend"``: where the provider still holds the video to extend."""
    source_interaction: str | None = None
    """Omni ``extend`` or ``edit``: the id of the stored interaction that made the source video."""

    def to_dict(self) -> dict[str, object]:
        """The scalar fields (images are bytes and stay out)."""
        data = asdict(self)
        data.pop("images")
        return data

    def image(self, role: str) -> ImageInput | None:
        """The first image with this role, if any."""
        return next((i for i in self.images if i.role == role), None)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> GenerationRequest:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})  # type: ignore[arg-type]


@dataclass(frozen=True)
class ProviderVideo:
    """A produced video still held by the provider."""

    uri: str
    mime_type: str = "video/mp4"


@dataclass(frozen=True)
class OperationState:
    """The outcome of one poll."""

    kind: Literal["pending", "succeeded", "filtered", "failed"]
    videos: tuple[ProviderVideo, ...] = ()
    reasons: tuple[str, ...] = ()
    code: str = ""
    message: str = ""
    retryable: bool = False
    retry_after_seconds: float | None = None


class VideoProvider(Protocol):
    """A backend that turns a request into videos through a long-running operation."""

    name: str
    label: str
    idempotent_submit: bool
    """True when submitting the same request twice costs nothing (offline); False for paid providers."""

    def submit(self, request: GenerationRequest) -> str:
        """Start an operation and return its name."""
        ...

    def poll(self, operation_name: str) -> OperationState:
        """Ask once how the operation is doing."""
        ...

    def fetch(self, video: ProviderVideo, dest: Path) -> None:
        """Write the video's bytes to ``dest``."""
        ...


@dataclass(frozen=True)
class ProposedShot:
    """One shot a text model proposes for a script: a self-contained visual prompt and its length, if given."""

    prompt: str
    duration_seconds: int | None = None


class PromptHelper(Protocol):
    """A text model that rewrites a prompt into a better one, or a script into a shot list."""

    model: str
    """The text model's id, for saying where a proposal came from."""

    def improve_prompt(self, prompt: str) -> str:
        """Return an improved version of ``prompt``."""
        ...

    def propose_shots(self, script: str, *, max_shots: int) -> list[ProposedShot]:
        """Return at most ``max_shots`` shots for ``script``, in story order (one request, never repeated)."""
        ...
