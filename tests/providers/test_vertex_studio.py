"""The studio with only a Vertex AI project (application-default credentials from a service-account key
file whose tokens come from the stand-in), in one process, real google-genai client: Veo 3.1 GA and Omni
1.2 are offered from Vertex's live model list, four Veo videos come from one request and one POST, and
Omni 1.2 is reached at the global location."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from core.errors import ValidationError
from core.services import ledger
from core.services.generations import GenerationForm
from core.status import Status
from core.studio import Studio
from standin import VeoStandIn, service_account_file
from tests.support import drive, embedded_studio


@pytest.fixture
def standin() -> Iterator[VeoStandIn]:
    with VeoStandIn(api_key="unused-on-vertex") as server:
        yield server


@pytest.fixture
def studio(tmp_path: Path, standin: VeoStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[Studio]:
    key_file = service_account_file(tmp_path / "service-account.json", standin.url, project="film-team")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    with embedded_studio(tmp_path, vertex_project="film-team", veo_base_url=standin.url) as studio:
        yield studio


@pytest.fixture
def user(studio: Studio) -> int:
    return studio.accounts.add_user("vera", "correct horse battery").id


def form(model: str, **fields: object) -> GenerationForm:
    values: dict[str, object] = {"prompt": "Morning fog lifts off a harbour", "duration_seconds": 4}
    values.update(fields)
    return GenerationForm(model=model, idempotency_key=uuid.uuid4().hex, **values)  # type: ignore[arg-type]


def test_a_vertex_project_offers_veo_3_1_and_omni_1_2_and_says_whose(studio: Studio, user: int):
    offers = {o.spec.id: o for o in studio.generations.offers(user)}
    assert set(offers) == {
        "gemini-omni-1.2-flash",
        "veo-3.1-generate-001",
        "veo-3.1-fast-generate-001",
        "veo-3.1-lite-generate-001",
        "offline-preview",
    }
    assert offers["veo-3.1-generate-001"].credential == "the server's Vertex AI project film-team"
    assert {o.surface for o in offers.values()} == {"vertex", "local"}


def test_four_veo_videos_from_one_request_and_one_post(studio: Studio, user: int, standin: VeoStandIn):
    view, _ = studio.generations.submit(user, form("veo-3.1-fast-generate-001", sample_count=4))
    assert view.price_usd == Decimal("1.60")  # 4 videos × 4 s × $0.10
    row = drive(studio, view.id)
    assert (row.status, row.surface) == (Status.SUCCEEDED.value, "vertex")
    done = studio.generations.get_generation(user, view.id)
    assert len(done.videos) == 4 and done.cost_usd == Decimal("1.60")
    with studio.sessions() as s:
        assert ledger.generation_balance(session=s, generation_id=view.id) == Decimal("1.60")
    assert standin.stats().posts.get("predictLongRunning") == 1
    (job,) = standin.jobs()
    assert job["vertex"] and job["model"] == "veo-3.1-fast-generate-001"


def test_omni_1_2_on_vertex_is_served_from_the_global_location(studio: Studio, user: int, standin: VeoStandIn):
    view, _ = studio.generations.submit(user, form("gemini-omni-1.2-flash", duration_seconds=12))
    assert view.price_usd == Decimal("1.20")  # 12 s × $0.10 (Omni 1.2 makes up to 15 s)
    row = drive(studio, view.id)
    assert (row.status, row.provider, row.surface) == (Status.SUCCEEDED.value, "omni", "vertex")
    done = studio.generations.get_generation(user, view.id)
    assert abs(done.videos[0].duration_seconds - 12) < 0.3
    (job,) = standin.jobs()
    assert job["vertex"] and job["kind"] == "interaction"


def test_at_most_four_videos_per_request_on_vertex(studio: Studio, user: int):
    with pytest.raises(ValidationError, match="1 to 4 videos per request"):
        studio.generations.submit(user, form("veo-3.1-generate-001", sample_count=5))
