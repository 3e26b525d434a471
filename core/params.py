"""A generation's parameters: the one statement of what a generation asks a model for.

``GenerationParams`` is embedded (as the base class) in the Create form
(``GenerationForm``), the view pages show (``GenerationView``) and the request a
provider renders (``GenerationRequest``); :meth:`GenerationParams.of` reads it
back from anything that carries the same names (the ORM row, a view, a form),
and :meth:`GenerationParams.columns` writes it into the row. Adding a parameter
is: a field here, a column with its migration, and a widget on the Create page.
Imports nothing but the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class GenerationParams:
    """What one generation asks for; validated against the model by ``core.catalog.validate_params``."""

    model: str
    prompt: str
    negative_prompt: str = ""
    duration_seconds: int = 4
    aspect_ratio: str = "16:9"
    resolution: str = "720p"
    seed: int | None = None
    sample_count: int = 1
    mode: str = "text"
    """text, image, frames, reference or extend (see ``core.catalog.MODES``)."""

    @classmethod
    def of(cls, source: Any) -> GenerationParams:
        """The parameters of ``source`` (a row, a view, a form: anything with these attribute names)."""
        return GenerationParams(**{f.name: getattr(source, f.name) for f in fields(GenerationParams)})

    def columns(self) -> dict[str, Any]:
        """The parameters as column values (for the row, or to build a form, view or request from them)."""
        return {f.name: getattr(self, f.name) for f in fields(GenerationParams)}

    @property
    def params(self) -> GenerationParams:
        """Just the parameters, without what a subclass adds (images, ids, status)."""
        return GenerationParams.of(self)


@dataclass(frozen=True)
class VideoFacts:
    """What a probe learns about a produced video: the one statement of a video's facts.

    ``core.media.probe_video`` returns it, the ``videos`` row stores it
    (:meth:`columns`), and ``VideoView`` embeds it (as its base class).
    """

    duration_seconds: float
    fps: float
    width: int
    height: int
    codec: str
    has_audio: bool
    size_bytes: int
    sha256: str

    @classmethod
    def of(cls, source: Any) -> VideoFacts:
        """The facts of ``source`` (a row, a view: anything with these attribute names)."""
        return VideoFacts(**{f.name: getattr(source, f.name) for f in fields(VideoFacts)})

    def columns(self) -> dict[str, Any]:
        """The facts as column values."""
        return {f.name: getattr(self, f.name) for f in fields(VideoFacts)}
