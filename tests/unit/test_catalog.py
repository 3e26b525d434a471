from dataclasses import replace
from decimal import Decimal

import pytest

from core import catalog
from core.errors import ValidationError
from core.models import Generation
from core.params import GenerationParams
from core.services import generations
from core.services.generations import GenerationForm, UploadedImage

OFFLINE = catalog.MODELS[catalog.OFFLINE_MODEL]


def test_offline_model_is_free_and_says_it_is_not_ai():
    assert "not AI" in OFFLINE.label
    for res in OFFLINE.resolutions:
        params = GenerationParams(OFFLINE.id, "p", duration_seconds=8, resolution=res, sample_count=4)
        assert catalog.price_usd(params) == 0


def test_price_is_seconds_times_rate_times_videos():
    spec = catalog.ModelSpec(
        id="x",
        label="X",
        provider="p",
        surfaces=("gemini",),
        durations=(8,),
        resolutions=("720p",),
        aspect_ratios=("16:9",),
        max_samples=2,
        audio=True,
        usd_per_second={"720p": Decimal("0.40")},
        price_read_on="2026-09-20",
    )
    params = GenerationParams("x", "p", duration_seconds=8, resolution="720p", sample_count=2)
    assert catalog.price_usd(params, spec=spec) == Decimal("6.40")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"duration_seconds": 11}, "duration_seconds", "11 s is not one of them"),
        ({"aspect_ratio": "4:3"}, "aspect_ratio", "not 4:3"),
        ({"resolution": "4k"}, "resolution", "not 4k"),
        ({"sample_count": 5}, "sample_count", "1 to 4 videos"),
        ({"sample_count": 0}, "sample_count", "1 to 4 videos"),
        ({"seed": -1}, "seed", "Seed must be between"),
        ({"seed": 2**32}, "seed", "Seed must be between"),
        ({"seed": "7"}, "seed", "Seed must be between"),
        ({"seed": 1.5}, "seed", "Seed must be between"),
        ({"seed": True}, "seed", "Seed must be between"),
        ({"sample_count": "2"}, "sample_count", "1 to 4 videos"),
        ({"sample_count": 2.0}, "sample_count", "1 to 4 videos"),
    ],
)
def test_model_limits_are_refused_with_the_rule_named(changes, field, words):
    request = {"duration_seconds": 4, "aspect_ratio": "16:9", "resolution": "360p", "sample_count": 1, "seed": None}
    request.update(changes)
    with pytest.raises(ValidationError) as err:
        catalog.validate_request(OFFLINE, **request)
    assert err.value.field == field
    assert words in str(err.value)


def test_8s_rule_is_named():
    spec = catalog.ModelSpec(
        id="x",
        label="Veo X",
        provider="p",
        surfaces=("gemini",),
        durations=(4, 8),
        resolutions=("720p", "1080p"),
        aspect_ratios=("16:9",),
        max_samples=1,
        audio=True,
        usd_per_second={"720p": Decimal(1), "1080p": Decimal(1)},
        price_read_on="d",
        needs_8s_for=("1080p",),
    )
    with pytest.raises(ValidationError, match="1080p needs 8 s"):
        catalog.validate_request(
            spec, duration_seconds=4, aspect_ratio="16:9", resolution="1080p", sample_count=1, seed=None
        )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "Prompt is empty"),
        ("   \n ", "Prompt is empty"),
        ("x" * (catalog.MAX_PROMPT_CHARS + 1), f"the limit is {catalog.MAX_PROMPT_CHARS}"),
        ("a cat\x00", "U+0000"),
        ("a cat\u202e", "U+202E"),
        ("bell\x07", "U+0007"),
    ],
)
def test_bad_prompts_get_a_clear_error(text, words):
    with pytest.raises(ValidationError) as err:
        catalog.clean_prompt(text, field_name="prompt", max_chars=catalog.MAX_PROMPT_CHARS, required=True)
    assert words in str(err.value)
    assert err.value.field == "prompt"


def test_good_prompt_is_trimmed_and_keeps_newlines_and_unicode():
    text = catalog.clean_prompt(
        "  Un café\tà Paris\nau matin — 夜  ", field_name="prompt", max_chars=100, required=True
    )
    assert text == "Un café\tà Paris\nau matin — 夜"


def test_unknown_model():
    with pytest.raises(ValidationError, match="Unknown model 'veo-9'"):
        catalog.get_model("veo-9")


def every_request() -> list[GenerationForm]:
    """Every request the catalog allows: each model, mode, resolution, duration and number of videos."""
    inputs = {
        "image": (("first_frame", 1),),
        "frames": (("first_frame", 1), ("last_frame", 1)),
        "reference": (("reference", 2),),
    }
    forms = []
    for spec in catalog.MODELS.values():
        for mode in spec.modes:
            images = tuple(
                UploadedImage(role=role, name=f"{role}.png", data=b"")
                for role, n in inputs.get(mode, ())
                for _ in range(n)
            )
            for resolution in spec.resolutions:
                for duration in spec.durations:
                    for samples in range(1, spec.max_samples + 1):
                        form = GenerationForm(
                            model=spec.id,
                            prompt="p",
                            mode=mode,
                            resolution=resolution,
                            duration_seconds=duration,
                            sample_count=samples,
                            aspect_ratio="16:9",
                            images=images,
                            extend_of_id="e" * 32 if mode in catalog.SOURCE_MODES else None,
                        )
                        try:
                            generations.quote(form)
                        except ValidationError:
                            continue  # a combination the model refuses (e.g. 1080p needs 8 s)
                        forms.append(form)
    return forms


def test_the_page_the_submit_and_the_settle_agree_on_every_price():
    """The page shows, the submit reserves and the settle charges the same amount, from one function."""
    requests = every_request()
    assert len({form.model for form in requests}) == len(catalog.MODELS)
    assert {form.mode for form in requests} == set(catalog.MODES)
    for form in requests:
        reserved = generations.quote(form)  # what submit_generation reserves; the page shows it too
        row = Generation(**form.params.columns())  # the row as submit writes it
        settled = catalog.price_usd(replace(GenerationParams.of(row), sample_count=form.sample_count))
        assert reserved == settled == catalog.price_usd(form.params), form
        if form.sample_count > 1 and settled > 0:  # a video the provider did not make is not charged
            fewer = catalog.price_usd(replace(GenerationParams.of(row), sample_count=form.sample_count - 1))
            assert fewer < settled
