"""The studio with Veo configured, in one process against the stand-in: a prompt becomes a stored
Veo video with its real cost in the ledger; prompt help works, and says why when it cannot."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import fakeredis
import pytest

from core.db import upgrade_database
from core.errors import ProviderUnavailableError
from core.services import ledger
from core.services.generations import GenerationForm
from core.status import Status
from core.studio import Studio, build_studio
from standin import LEGACY_GEMINI_VEO, Behaviour, VeoStandIn, enhance_prompt
from tests.support import drive, embedded_studio, make_settings


@pytest.fixture
def standin() -> Iterator[VeoStandIn]:
    with VeoStandIn(api_key="test-key", behaviour=Behaviour(gemini_models=list(LEGACY_GEMINI_VEO))) as server:
        yield server


@pytest.fixture
def studio(tmp_path: Path, standin: VeoStandIn) -> Iterator[Studio]:
    with embedded_studio(tmp_path, gemini_api_key="test-key", veo_base_url=standin.url) as studio:
        yield studio


def test_a_prompt_becomes_a_stored_veo_video_with_its_real_cost(studio: Studio, standin: VeoStandIn):
    standin.configure(polls_before_done=2)
    user = studio.accounts.add_user("nora", "correct horse battery").id
    form = GenerationForm(
        model="veo-3.1-generate-001",
        prompt="A glass of water ripples as a train passes",
        duration_seconds=8,
        resolution="1080p",
        idempotency_key=uuid.uuid4().hex,
    )
    view, _ = studio.generations.submit(user, form)
    assert view.price_usd == Decimal("3.20")  # 8 s × $0.40
    drive(studio, view.id)
    done = studio.generations.get_generation(user, view.id)
    assert done.status is Status.SUCCEEDED
    assert done.cost_usd == Decimal("3.20")
    video = done.videos[0]
    assert abs(video.duration_seconds - 8) < 0.1 and video.has_audio
    assert studio.store.exists(video.storage_key)
    with studio.sessions() as s:
        assert ledger.committed_usd(session=s, user_id=user) == Decimal("3.20")
    assert standin.stats().submissions == 1
    assert studio.generations.sources(user) == []  # Veo extends 720p videos only; this one is 1080p


def test_improve_prompt_uses_the_text_model(studio: Studio):
    assert studio.generations.prompt_help_unavailable() is None
    assert studio.generations.improve_prompt("  a cat on a roof  ") == enhance_prompt("a cat on a roof")


def test_prompt_help_says_why_it_is_unavailable_without_a_key(tmp_path: Path):
    settings = make_settings(tmp_path)
    upgrade_database(settings.resolved_database_url())
    studio = build_studio(settings, redis=fakeredis.FakeRedis())
    assert studio.generations.prompt_help_unavailable() == "Prompt help needs a Gemini API key (VEOGEN_GEMINI_API_KEY)."
    with pytest.raises(ProviderUnavailableError):
        studio.generations.improve_prompt("a cat")
    assert all(m.provider == "offline" for m in studio.generations.models())
