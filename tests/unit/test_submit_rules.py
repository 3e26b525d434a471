"""Submit-time rules for paid models: repeats need confirming, uploads are checked before anything
is stored, budgets and caps hold, extensions need a live Veo video (SQLite + fakeredis; Veo is
configured but never called here)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select, update

from core.errors import BudgetError, ConfirmationRequired, NotFoundError, ValidationError
from core.models import Generation, GenerationInput, User
from core.services.generations import UploadedImage
from core.studio import Studio
from tests.support import LISTED_MODELS, embedded_studio, fifty_concurrent_submits, veo_form


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    with embedded_studio(
        tmp_path, listed=LISTED_MODELS, gemini_api_key="unused-key", veo_base_url="http://127.0.0.1:9"
    ) as studio:
        yield studio


@pytest.fixture
def user(studio: Studio) -> int:
    return studio.accounts.add_user("lena", "correct horse battery").id


paid = veo_form


def png(size: tuple[int, int] = (320, 180), colour: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def rows(studio: Studio, model: type = Generation) -> int:
    with studio.sessions() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def media_files(studio: Studio) -> list[Path]:
    return [p for p in Path(studio.store.root).rglob("*") if p.is_file()]


def test_veo_models_are_offered_when_veo_is_configured(studio: Studio):
    ids = [m.id for m in studio.generations.models()]
    assert "veo-3.1-generate-001" in ids and "offline-preview" in ids


def test_an_identical_paid_request_asks_before_paying_again(studio: Studio, user: int):
    first, _ = studio.generations.submit(user, paid())
    with pytest.raises(ConfirmationRequired) as asked:
        studio.generations.submit(user, paid())
    assert asked.value.existing_id == first.id
    assert "pays for another video" in str(asked.value)
    again, created = studio.generations.submit(user, paid(confirm_repeat=True))
    assert created and again.id != first.id
    studio.generations.submit(user, paid("A different heron"))  # a different request needs no confirmation


def test_free_requests_never_ask(studio: Studio, user: int):
    offline = {"model": "offline-preview", "resolution": "240p", "duration_seconds": 2}
    studio.generations.submit(user, paid(**offline))
    studio.generations.submit(user, paid(**offline))
    assert rows(studio) == 2


def test_a_bad_upload_is_refused_and_nothing_is_stored(studio: Studio, user: int):
    gif = b"GIF89a" + b"\x00" * 64
    form = paid(mode="image", images=(UploadedImage(role="first_frame", name="cat.png", data=gif),))
    with pytest.raises(ValidationError) as refused:
        studio.generations.submit(user, form)
    assert refused.value.field == "first_frame"
    assert "cat.png is not a PNG, JPEG or WebP image" in str(refused.value)
    assert rows(studio) == 0 and media_files(studio) == []


def test_a_good_upload_is_cleaned_stored_and_linked(studio: Studio, user: int):
    form = paid(
        mode="frames",
        images=(
            UploadedImage(role="first_frame", name="start.png", data=png()),
            UploadedImage(role="last_frame", name="end.png", data=png(colour="orange")),
        ),
    )
    view, _ = studio.generations.submit(user, form)
    assert view.input_roles == ["first_frame", "last_frame"]
    with studio.sessions() as s:
        inputs = s.execute(select(GenerationInput).order_by(GenerationInput.index)).scalars().all()
    assert [(i.width, i.height, i.mime_type) for i in inputs] == [(320, 180, "image/png")] * 2
    assert studio.generations.input_bytes(user, view.id, 1)[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_stranger_cannot_read_an_uploaded_image(studio: Studio, user: int):
    form = paid(mode="image", images=(UploadedImage(role="first_frame", name="a.png", data=png()),))
    view, _ = studio.generations.submit(user, form)
    other = studio.accounts.add_user("mia", "another long secret").id
    with pytest.raises(NotFoundError):
        studio.generations.input_bytes(other, view.id, 0)


def test_mode_rules_name_what_is_missing(studio: Studio, user: int):
    with pytest.raises(ValidationError, match="Upload a last-frame image"):
        studio.generations.submit(user, paid(mode="frames", images=(UploadedImage("first_frame", "a.png", png()),)))
    refs = tuple(UploadedImage("reference", f"r{i}.png", png()) for i in range(4))
    with pytest.raises(ValidationError, match="1 to 3 reference images"):
        studio.generations.submit(user, paid(mode="reference", duration_seconds=8, images=refs))
    with pytest.raises(ValidationError, match="Reference images need 8 s"):
        studio.generations.submit(user, paid(mode="reference", images=refs[:1]))
    with pytest.raises(ValidationError, match="does not offer"):
        studio.generations.quote(paid(model="veo-3.1-lite-generate-001", mode="reference", images=refs[:1]))
    with pytest.raises(
        ValidationError, match=r"shut down by Google on 2026-10-22\. Use Gemini Omni Flash 1\.1 instead"
    ):
        studio.generations.submit(user, paid(model="veo-3.1-lite-generate-preview"))
    with pytest.raises(ValidationError, match="1080p needs 8 s"):
        studio.generations.submit(user, paid(resolution="1080p"))
    assert rows(studio) == 0 and media_files(studio) == []


def test_only_a_finished_veo_video_can_be_extended(studio: Studio, user: int):
    source, _ = studio.generations.submit(user, paid())
    with pytest.raises(ValidationError, match="Only a finished video can be extended"):
        studio.generations.submit(user, paid(mode="extend", duration_seconds=8, extend_of_id=source.id))
    with pytest.raises(NotFoundError):
        studio.generations.submit(user, paid(mode="extend", duration_seconds=8, extend_of_id=uuid.uuid4().hex))


def test_the_price_of_an_extension_is_the_seconds_it_adds(studio: Studio):
    assert studio.generations.quote(paid(mode="extend", duration_seconds=8, extend_of_id="x" * 32)) == Decimal("0.70")


def test_budget_and_cap_messages_say_what_is_left(studio: Studio, user: int):
    with studio.engine.begin() as conn:
        conn.execute(update(User).where(User.id == user).values(monthly_budget_usd=Decimal("0.50")))
    studio.generations.submit(user, paid("one"))
    with pytest.raises(BudgetError, match=r"costs \$0\.40, but only \$0\.10 of your \$0\.50 budget"):
        studio.generations.submit(user, paid("two"))
    budget = studio.generations.budget(user)
    assert (budget.committed_usd, budget.remaining_usd, budget.open_generations) == (
        Decimal("0.40"),
        Decimal("0.10"),
        1,
    )
    with studio.engine.begin() as conn:
        conn.execute(update(User).where(User.id == user).values(monthly_budget_usd=None, max_open_generations=1))
    with pytest.raises(BudgetError, match="1 unfinished generations; the limit is 1"):
        studio.generations.submit(user, paid("three"))


def test_concurrent_submits_on_sqlite_never_overspend(studio: Studio, user: int):
    """The embedded default too: write transactions take SQLite's lock at BEGIN."""
    from concurrent.futures import ThreadPoolExecutor

    with studio.engine.begin() as conn:
        conn.execute(update(User).where(User.id == user).values(monthly_budget_usd=Decimal("1.20")))

    def attempt(i: int) -> bool:
        try:
            studio.generations.submit(user, paid(f"race {i}"))
        except BudgetError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(attempt, range(20))) == 3  # $1.20 / $0.40


def test_fifty_concurrent_submits_in_one_process_are_all_answered(studio: Studio):
    fifty_concurrent_submits(studio, paid, Decimal("0.40"))
