from decimal import Decimal

import pytest

from core import catalog
from core.errors import ValidationError

OFFLINE = catalog.MODELS[catalog.OFFLINE_MODEL]


def test_offline_model_is_free_and_says_it_is_not_ai():
    assert "not AI" in OFFLINE.label
    for res in OFFLINE.resolutions:
        assert catalog.price_usd(OFFLINE, duration_seconds=8, resolution=res, sample_count=4) == 0


def test_price_is_seconds_times_rate_times_videos():
    spec = catalog.ModelSpec(
        id="x",
        label="X",
        provider="p",
        durations=(8,),
        resolutions=("720p",),
        aspect_ratios=("16:9",),
        max_samples=2,
        audio=True,
        usd_per_second={"720p": Decimal("0.40")},
        price_read_on="2026-09-20",
    )
    assert catalog.price_usd(spec, duration_seconds=8, resolution="720p", sample_count=2) == Decimal("6.40")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"duration_seconds": 5}, "duration_seconds", "5 s is not one of them"),
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
