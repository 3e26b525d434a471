"""The Create form's pure helpers: which options a mode allows, upload checks, and the budget line."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from PIL import Image

from core import catalog
from core.images import CleanImage
from core.services.budgets import BudgetView
from pages._ui import create_form, submission

pytestmark = pytest.mark.ui

VEO = catalog.MODELS["veo-3.1-generate-001"]
VEO_3 = catalog.MODELS["veo-3.0-generate-001"]


@pytest.mark.parametrize(
    ("mode", "durations", "resolutions"),
    [
        ("text", VEO.durations, VEO.resolutions),
        ("image", VEO.durations, VEO.resolutions),
        ("reference", (8,), VEO.resolutions),
        ("extend", (8,), ("720p",)),
    ],
)
def test_durations_and_resolutions_follow_the_mode(mode: str, durations: tuple[int, ...], resolutions: tuple[str, ...]):
    assert create_form.durations_for(VEO, mode) == durations
    assert create_form.resolutions_for(VEO, mode) == resolutions


def test_aspect_ratios_follow_mode_and_resolution() -> None:
    assert create_form.aspect_ratios_for(VEO, "text", "720p") == ("16:9", "9:16")
    assert create_form.aspect_ratios_for(VEO, "reference", "720p") == ("16:9",)
    assert create_form.aspect_ratios_for(VEO_3, "text", "1080p") == ("16:9",)
    assert create_form.aspect_ratios_for(VEO_3, "text", "720p") == ("16:9", "9:16")


def test_every_mode_of_the_catalog_has_uploaders_declared() -> None:
    assert set(create_form.UPLOADS) == set(catalog.MODES)


def test_check_upload_returns_the_clean_copy_or_the_message() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (80, 64), (0, 0, 255, 128)).save(out, "PNG")
    clean = create_form.check_upload(out.getvalue(), name="blue.png", role="first_frame")
    assert isinstance(clean, CleanImage) and (clean.width, clean.height, clean.mime_type) == (80, 64, "image/png")
    refused = create_form.check_upload(b"%PDF-1.7 ...", name="scan.png", role="first_frame")
    assert refused == (
        "scan.png is not a PNG, JPEG or WebP image; it looks like a PDF document. Export it as PNG or JPEG and upload that."
    )


def test_budget_line() -> None:
    view = BudgetView(
        period="2026-11",
        budget_usd=Decimal("50"),
        committed_usd=Decimal("37.60"),
        open_generations=3,
        max_open_generations=20,
    )
    assert submission.budget_line(view) == "Budget for 2026-11: $12.40 of $50.00 left · 3 of 20 open generations"


def test_rules_line_names_the_models_limits() -> None:
    assert create_form.rules_line(VEO_3, "text") == (
        "1080p needs 8 s with this model. 1080p comes only in 16:9 with this model."
    )
    assert create_form.rules_line(catalog.MODELS[catalog.OFFLINE_MODEL], "text") == ""
    assert "adds 7 s" in create_form.rules_line(VEO, "extend")
