"""The studio with only a Gemini API key, in one process against the stand-in (real google-genai client):
Omni is offered from the live model list and Veo is not; a retired model is refused naming its
replacement; an Omni video is made, extended and edited with exact money; one POST per paid request
under faults; safety blocks by category decide Retry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from core.errors import ValidationError
from core.models import Generation
from core.services import ledger
from core.services.generations import GenerationForm
from core.status import Status
from core.studio import Studio
from standin import VeoStandIn
from tests.support import drive, embedded_studio

OMNI = "gemini-omni-1.1-flash"


@pytest.fixture
def standin() -> Iterator[VeoStandIn]:
    with VeoStandIn(api_key="test-key") as server:  # Google's lineup of December 2026: no Veo on the Gemini API
        yield server


@pytest.fixture
def studio(tmp_path: Path, standin: VeoStandIn) -> Iterator[Studio]:
    with embedded_studio(tmp_path, gemini_api_key="test-key", veo_base_url=standin.url) as studio:
        yield studio


@pytest.fixture
def user(studio: Studio) -> int:
    return studio.accounts.add_user("omar", "correct horse battery").id


def omni_form(prompt: str = "A paper boat drifts down a gutter in the rain", **fields: object) -> GenerationForm:
    values: dict[str, object] = {"model": OMNI, "prompt": prompt, "duration_seconds": 4, "resolution": "720p"}
    values.update(fields)
    return GenerationForm(**values, idempotency_key=uuid.uuid4().hex)  # type: ignore[arg-type]


def balance(studio: Studio, gid: str) -> Decimal:
    with studio.sessions() as s:
        return ledger.generation_balance(session=s, generation_id=gid)


def test_a_gemini_key_offers_omni_and_no_veo_and_says_whose_key(studio: Studio, user: int):
    offers = {o.spec.id: o for o in studio.generations.offers(user)}
    assert set(offers) == {OMNI, "offline-preview"}
    assert (offers[OMNI].surface, offers[OMNI].credential) == ("gemini", "the server's Gemini API key")
    assert studio.generations.unavailable_reasons(user) == []


def test_a_retired_model_is_never_offered_and_is_refused_naming_its_replacement(studio: Studio, user: int):
    for retired in ("veo-3.1-generate-preview", "veo-3.0-generate-001", "gemini-omni-flash-preview"):
        assert retired not in [m.id for m in studio.generations.models(user)]
    with pytest.raises(
        ValidationError, match=r"shut down by Google on 2026-10-22\. Use Gemini Omni Flash 1\.1 instead"
    ):
        studio.generations.submit(user, omni_form(model="veo-3.1-fast-generate-preview", duration_seconds=8))
    with pytest.raises(ValidationError, match="not available with the credentials configured here"):
        studio.generations.submit(user, omni_form(model="veo-3.1-generate-001", duration_seconds=8))


def test_an_omni_video_is_made_end_to_end_with_its_exact_cost(studio: Studio, user: int, standin: VeoStandIn):
    standin.configure(polls_before_done=1)
    view, _ = studio.generations.submit(user, omni_form())
    assert view.price_usd == Decimal("0.40")  # 4 s × $0.10 at 720p
    row = drive(studio, view.id)
    assert (row.status, row.provider, row.surface) == (Status.SUCCEEDED.value, "omni", "gemini")
    done = studio.generations.get_generation(user, view.id)
    assert done.cost_usd == Decimal("0.40") and balance(studio, view.id) == Decimal("0.40")
    assert abs(done.videos[0].duration_seconds - 4) < 0.2
    assert standin.stats().posts.get("interactions.create") == 1


def test_extend_and_edit_continue_the_stored_interaction(studio: Studio, user: int, standin: VeoStandIn):
    source, _ = studio.generations.submit(user, omni_form(duration_seconds=8))
    drive(studio, source.id)
    assert [v.id for v in studio.generations.sources(user, OMNI)] == [source.id]
    longer, _ = studio.generations.submit(
        user, omni_form("the boat reaches a river", mode="extend", duration_seconds=6, extend_of_id=source.id)
    )
    assert longer.price_usd == Decimal("0.60")  # you pay for the 6 s added
    drive(studio, longer.id)
    extended = studio.generations.get_generation(user, longer.id)
    assert extended.status is Status.SUCCEEDED and abs(extended.videos[0].duration_seconds - 14) < 0.3
    with pytest.raises(ValidationError, match="An edit keeps the video's length: 8 s"):
        studio.generations.submit(user, omni_form("at dusk", mode="edit", duration_seconds=4, extend_of_id=source.id))
    edit, _ = studio.generations.submit(
        user, omni_form("make it dusk", mode="edit", duration_seconds=8, extend_of_id=source.id)
    )
    drive(studio, edit.id)
    (job,) = [j for j in standin.jobs() if j["prompt"].startswith("make it dusk")]
    with studio.sessions() as s:
        assert job["parameters"]["previous_interaction_id"] == s.get(Generation, source.id).operation_name
    chain = longer.id
    for seconds in (10, 10):  # 14 s → 24 s → 34 s
        step, _ = studio.generations.submit(
            user, omni_form("and on", mode="extend", duration_seconds=seconds, extend_of_id=chain)
        )
        drive(studio, step.id)
        chain = step.id
    with pytest.raises(ValidationError, match="up to 40 s in all; this one is 34 s, so add at most 6 s"):
        studio.generations.submit(user, omni_form("more", mode="extend", duration_seconds=10, extend_of_id=chain))


@pytest.mark.parametrize("status", [503, 409, 500])
def test_a_server_error_on_submit_is_one_post_never_resent_and_kept_for_an_admin(
    studio: Studio, user: int, standin: VeoStandIn, status: int
):
    standin.configure(interaction_fault_status=status, interaction_fault_count=10)
    view, _ = studio.generations.submit(user, omni_form())
    row = drive(studio, view.id)
    for _ in range(3):  # the reconciler and later admission passes never send it again
        studio.admission.admit()
        studio.reconciler.reconcile()
    assert (row.status, row.error_code) == (Status.FAILED.value, "SUBMIT_OUTCOME_UNKNOWN")
    assert balance(studio, view.id) == Decimal("0.40")  # reserved until an admin checks the bill
    assert standin.stats().posts.get("interactions.create") == 1


def test_a_quota_refusal_waits_and_sends_once_more(studio: Studio, user: int, standin: VeoStandIn):
    standin.configure(interaction_fault_status=429, interaction_fault_count=1, retry_delay_seconds=0)
    view, _ = studio.generations.submit(user, omni_form())
    studio.admission.admit()
    with studio.sessions() as s:
        row = s.get(Generation, view.id)
        assert row.status == Status.QUEUED.value and row.not_before is not None  # nothing was started
        row.not_before = None
        s.commit()
    row = drive(studio, view.id)
    assert row.status == Status.SUCCEEDED.value
    stats = standin.stats()
    assert stats.posts.get("interactions.create") == 2 and stats.interactions_created == 1


@pytest.mark.parametrize(
    ("code", "category", "retry"),
    [("29310472", "A well-known person", False), ("58061214", "Children", False), ("56562880", "Violence", True)],
)
def test_a_safety_block_names_its_category_is_not_charged_and_decides_retry(
    studio: Studio, user: int, code: str, category: str, retry: bool
):
    view, _ = studio.generations.submit(user, omni_form(f"a scene [[rai:{code}]]"))
    row = drive(studio, view.id)
    assert row.status == Status.FILTERED.value and balance(studio, view.id) == 0
    blocked = studio.generations.get_generation(user, view.id)
    assert [c.name for c in blocked.safety_categories] == [category]
    assert (blocked.retry_refusal() is None) == retry
    if retry:
        again, created = studio.generations.retry(user, view.id)
        assert created and again.status is Status.QUEUED
    else:
        with pytest.raises(ValidationError, match="the same request would be blocked again"):
            studio.generations.retry(user, view.id)


def test_a_model_google_retires_meanwhile_fails_free_and_leaves_the_offer(
    studio: Studio, user: int, standin: VeoStandIn
):
    view, _ = studio.generations.submit(user, omni_form())
    standin.configure(retired_models={OMNI: "gemini-omni-2-flash"}, gemini_models=[])  # Google moved on
    row = drive(studio, view.id)
    assert (row.status, row.error_code) == (Status.FAILED.value, "MODEL_RETIRED")
    assert "no longer available" in (row.error_message or "")
    assert balance(studio, view.id) == 0  # nothing was started: the reservation is released
    assert OMNI not in [m.id for m in studio.generations.models(user)]  # the list was read again
    still = studio.generations.get_generation(user, view.id)  # what was made before stays readable
    assert still.model_label == "Gemini Omni Flash 1.1"
