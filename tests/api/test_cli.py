"""``veogen generate`` and ``veogen batch`` against the API served on loopback over the embedded studio."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from api.commands import EXIT_BAD_INPUT, EXIT_NOT_CONFIRMED, EXIT_OK, EXIT_REFUSED
from core.cli import main
from core.media import probe_video
from core.models import Generation, LedgerEntry
from core.studio import Studio
from tests.api.loopback import served, working
from tests.support import VEO_MODEL, VEO_PRICE


@pytest.fixture
def api_url(studio: Studio) -> Iterator[str]:
    with served(studio) as url:
        yield url


def veogen(*argv: str, url: str, token: str) -> int:
    return main([*argv, "--api-url", url, "--token", token])


def test_generate_waits_and_writes_a_playable_mp4_of_the_asked_length(
    api_url: str, studio: Studio, alice: int, alice_token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = tmp_path / "clip.mp4"
    with working(studio):
        code = veogen(
            "generate", "A paper boat on a pond", "--model", "offline-preview", "--seconds", "3",
            "--resolution", "240p", "--out", str(out), url=api_url, token=alice_token,
        )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == EXIT_OK, printed
    assert "Price: $0.00" in printed and "succeeded" in printed
    facts = probe_video(out)
    assert facts.duration_seconds == pytest.approx(3, abs=0.1)
    (row,) = studio.generations.list_generations(alice).items
    assert row.status.value == "succeeded" and facts.sha256 == row.videos[0].sha256


def test_generate_shows_the_price_and_a_repeat_asks_for_confirmation(
    api_url: str, studio: Studio, alice: int, alice_token: str, capsys: pytest.CaptureFixture[str]
):
    args = ("generate", "A heron over a misty lake", "--model", VEO_MODEL, "--seconds", "4", "--resolution", "720p")
    assert veogen(*args, url=api_url, token=alice_token) == EXIT_OK
    assert f"Price: ${VEO_PRICE:,.2f}" in capsys.readouterr().out
    assert veogen(*args, url=api_url, token=alice_token) == EXIT_NOT_CONFIRMED  # no terminal to ask, no --yes
    captured = capsys.readouterr()
    assert "Confirm" in captured.out or "moments ago" in captured.out or "again" in captured.out
    assert "--yes" in captured.err
    assert studio.generations.list_generations(alice).total == 1
    assert veogen(*args, "--yes", url=api_url, token=alice_token) == EXIT_OK
    assert studio.generations.budget(alice).committed_usd == 2 * VEO_PRICE


def write_batch(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["prompt", "model", "seconds", "resolution", "aspect_ratio"])
        writer.writeheader()
        writer.writerows(rows)
    return path


BATCH = [
    {"prompt": "A lighthouse in a storm", "model": VEO_MODEL, "seconds": "4", "resolution": "720p", "aspect_ratio": ""},
    {"prompt": "A kite over a beach", "model": VEO_MODEL, "seconds": "4", "resolution": "720p", "aspect_ratio": "9:16"},
    {"prompt": "A paper boat", "model": "offline-preview", "seconds": "2", "resolution": "240p", "aspect_ratio": ""},
]


def test_a_batch_shows_the_total_submits_with_yes_and_never_pays_twice(
    api_url: str, studio: Studio, alice: int, alice_token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    prompts = write_batch(tmp_path / "prompts.csv", BATCH)
    assert veogen("batch", str(prompts), url=api_url, token=alice_token) == EXIT_NOT_CONFIRMED
    assert f"Total: ${2 * VEO_PRICE:,.2f}" in capsys.readouterr().out
    assert studio.generations.list_generations(alice).total == 0

    report = tmp_path / "report.csv"
    assert veogen("batch", str(prompts), "--yes", "--report", str(report), url=api_url, token=alice_token) == EXIT_OK
    first = list(csv.DictReader(report.open()))
    assert [r["note"] for r in first] == ["made"] * 3
    assert {r["id"] for r in first} == {g.id for g in studio.generations.list_generations(alice).items}
    assert [Decimal(r["price_usd"]) for r in first] == [VEO_PRICE, VEO_PRICE, 0]

    assert veogen("batch", str(prompts), "--yes", "--report", str(report), url=api_url, token=alice_token) == EXIT_OK
    second = list(csv.DictReader(report.open()))
    assert [r["id"] for r in second] == [r["id"] for r in first]
    assert [r["note"] for r in second] == ["made before"] * 3
    with studio.sessions() as session:
        assert len(session.scalars(select(Generation.id)).all()) == 3
        assert len(session.scalars(select(LedgerEntry.id).where(LedgerEntry.kind == "reserve")).all()) == 3
    assert studio.generations.budget(alice).committed_usd == 2 * VEO_PRICE


def test_a_batch_waits_and_reports_the_status(
    api_url: str, studio: Studio, alice_token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    prompts = write_batch(tmp_path / "p.csv", [BATCH[2], {**BATCH[2], "prompt": "A second paper boat"}])
    report = tmp_path / "r.csv"
    with working(studio):
        code = veogen("batch", str(prompts), "--yes", "--wait", "--report", str(report), url=api_url, token=alice_token)
    assert code == EXIT_OK, capsys.readouterr()
    assert [r["status"] for r in csv.DictReader(report.open())] == ["succeeded", "succeeded"]


@pytest.mark.parametrize(
    ("row", "named"),
    [
        ({"seconds": "four"}, "p.csv, row 2: seconds must be a whole number, not 'four'."),
        ({"prompt": ""}, "p.csv, row 2: the prompt is empty."),
        ({"seconds": "1"}, "p.csv, row 2: "),  # the model's rule, in the page's words
        ({"model": "no-such-model"}, "p.csv, row 2: "),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_submitted(
    api_url: str,
    studio: Studio,
    alice: int,
    alice_token: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    row: dict[str, str],
    named: str,
):
    prompts = write_batch(tmp_path / "p.csv", [BATCH[2], {**BATCH[2], **row}, BATCH[0]])
    assert veogen("batch", str(prompts), "--yes", url=api_url, token=alice_token) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert named in " ".join(err.split()), err
    assert studio.generations.list_generations(alice).total == 0


def test_a_wrong_token_is_refused_in_plain_words(api_url: str, capsys: pytest.CaptureFixture[str]):
    code = veogen("generate", "x", "--model", "offline-preview", url=api_url, token="veogen_pat_wrong")
    assert code == EXIT_REFUSED
    assert "refused (401)" in capsys.readouterr().err


def test_generate_sends_images_by_role_as_the_create_page_takes_them(
    api_url: str, studio: Studio, alice: int, alice_token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from tests.api.test_uploads import inputs_of, png

    first, last = tmp_path / "first.png", tmp_path / "last.png"
    first.write_bytes(png(noise=False))
    last.write_bytes(png(128, 72, noise=False))
    code = veogen(
        "generate", "The kite lifts off", "--model", VEO_MODEL, "--seconds", "4", "--resolution", "720p",
        "--image", f"first_frame={first}", "--image", f"last_frame={last}", url=api_url, token=alice_token,
    )  # fmt: skip
    assert code == EXIT_OK, capsys.readouterr()
    (made,) = studio.generations.list_generations(alice).items
    assert made.params.mode == "frames"
    assert [row[1] for row in inputs_of(studio, made.id)] == ["first_frame", "last_frame"]
    bad = veogen("generate", "x", "--model", VEO_MODEL, "--image", "cover=x.png", url=api_url, token=alice_token)
    assert bad == EXIT_BAD_INPUT and "ROLE=PATH" in capsys.readouterr().err


def test_a_row_over_the_budget_is_reported_refused_and_the_rest_are_made(
    api_url: str, studio: Studio, alice: int, alice_token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from sqlalchemy import update

    from core.models import User

    with studio.engine.begin() as conn:
        conn.execute(update(User).where(User.id == alice).values(monthly_budget_usd=Decimal("0.50")))
    prompts = write_batch(tmp_path / "p.csv", BATCH)
    report = tmp_path / "r.csv"
    assert veogen("batch", str(prompts), "--yes", "--report", str(report), url=api_url, token=alice_token) == (
        EXIT_REFUSED
    )
    lines = list(csv.DictReader(report.open()))
    assert [line["status"] for line in lines] == ["queued", "not submitted", "queued"]
    assert "budget" in lines[1]["note"]
    assert studio.generations.budget(alice).committed_usd == VEO_PRICE


def test_the_token_comes_from_veogen_token_and_a_missing_one_or_api_is_said_plainly(
    api_url: str, studio: Studio, alice: int, alice_token: str, monkeypatch: pytest.MonkeyPatch, capsys
):
    from api.commands import EXIT_UNREACHABLE

    args = ["generate", "A boat", "--model", "offline-preview", "--seconds", "2", "--resolution", "240p"]
    monkeypatch.delenv("VEOGEN_TOKEN", raising=False)
    assert main([*args, "--api-url", api_url]) == EXIT_BAD_INPUT
    assert "VEOGEN_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("VEOGEN_TOKEN", alice_token)
    assert main([*args, "--api-url", api_url]) == EXIT_OK
    assert studio.generations.list_generations(alice).total == 1
    assert main([*args, "--api-url", "http://127.0.0.1:9"]) == EXIT_UNREACHABLE
    assert "did not answer" in capsys.readouterr().err
