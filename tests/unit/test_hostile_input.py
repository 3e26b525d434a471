"""Hostile input through the services, all together: every case gets a clear message and stores nothing.

Prompts, negative prompts, the other fields of a request, user names, searches and uploads
are fed what an attacker or a careless paste sends: very long strings, NUL bytes, control
characters, right-to-left overrides and zero-width characters, decompression bombs, huge
claimed dimensions, fake and truncated images, polyglots and oversized files. A refusal must
say what is wrong (naming the field or the limit), and leave no row, no file and no ledger
entry behind. The single rules are tested where they live (test_images.py, test_catalog.py,
test_submit_rules.py, test_accounts.py); this suite goes through ``Studio`` as a page or a
script would. A paid Veo model is configured (never called) so that a reservation would show.
"""

from __future__ import annotations

import io
import random
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
from PIL import Image
from sqlalchemy import func, select

from core import catalog
from core.config import Settings
from core.db import upgrade_database
from core.errors import NotFoundError, ValidationError
from core.images import MAX_IMAGE_BYTES
from core.models import Event, Generation, GenerationInput, LedgerEntry, User
from core.services.generations import MAX_SEARCH_CHARS, GenerationForm, UploadedImage
from core.services.users import MAX_NAME_CHARS
from core.studio import Studio, build_studio
from tests.support import LISTED_MODELS, VEO_MODEL, list_models_as, make_settings, veo_form

PAID = VEO_MODEL

LONG = "a" * 50_000
"""About the size that made SQLite give up on a LIKE pattern (and far past every limit)."""

INVISIBLE = {
    "NUL": "\x00",
    "bell": "\x07",
    "escape (ANSI colours)": "\x1b[31m",
    "carriage return": "\r",
    "delete": "\x7f",
    "C1 control": "\x85",
    "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "byte-order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "lone surrogate": "\ud800",
    "private use": "\ue000",
    "unassigned": "\u0378",
}
"""Characters that hide, reorder or break text; each must be refused wherever free text is accepted."""


def settings_in(folder: Path) -> Settings:
    return make_settings(folder, gemini_api_key="unused-key", veo_base_url="http://127.0.0.1:9")


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with the user lena, made once: each test starts from a copy of it."""
    settings = settings_in(tmp_path_factory.mktemp("template"))
    upgrade_database(settings.resolved_database_url())
    studio = build_studio(settings, redis=fakeredis.FakeRedis())
    studio.accounts.add_user("lena", "correct horse battery")
    studio.engine.dispose()
    return settings.data_dir / "veogen.db"


@pytest.fixture
def studio(tmp_path: Path, migrated: Path) -> Iterator[Studio]:
    settings = settings_in(tmp_path)
    settings.data_dir.mkdir(parents=True)
    shutil.copyfile(migrated, settings.data_dir / "veogen.db")
    s = build_studio(settings, redis=fakeredis.FakeRedis())
    list_models_as(s, LISTED_MODELS)
    yield s
    s.engine.dispose()


@pytest.fixture
def user(studio: Studio) -> int:
    return studio.accounts.by_username("lena").id


form = veo_form


def count(studio: Studio, model: type) -> int:
    with studio.sessions() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def media_files(studio: Studio) -> list[Path]:
    return [p for p in Path(studio.store.root).rglob("*") if p.is_file()]


def assert_nothing_stored(studio: Studio) -> None:
    """No generation, input, ledger entry or generation event in the database, and no file in storage."""
    with studio.sessions() as s:
        events = s.execute(select(func.count()).select_from(Event).where(Event.generation_id.is_not(None)))
        assert events.scalar_one() == 0
    assert [count(studio, m) for m in (Generation, GenerationInput, LedgerEntry)] == [0, 0, 0]
    assert media_files(studio) == []


def refused(studio: Studio, user: int, request: GenerationForm) -> ValidationError:
    with pytest.raises(ValidationError) as err:
        studio.generations.submit(user, request)
    assert_nothing_stored(studio)
    assert len(str(err.value)) < 400, "the message repeats the input back instead of naming the rule"
    return err.value


# -- prompts and negative prompts -------------------------------------------------------------


@pytest.mark.parametrize("field", ["prompt", "negative_prompt"])
@pytest.mark.parametrize("length", [50_000, 1_000_000])
def test_a_very_long_prompt_is_refused_naming_the_limit(studio: Studio, user: int, field: str, length: int):
    limit = catalog.MAX_PROMPT_CHARS if field == "prompt" else catalog.MAX_NEGATIVE_PROMPT_CHARS
    error = refused(studio, user, form(**{field: "a" * length}))
    assert error.field == field and f"the limit is {limit}" in str(error)


def test_combining_marks_count_toward_the_limit(studio: Studio, user: int):
    """'Zalgo' text: one letter under thousands of accents is thousands of characters, not one."""
    error = refused(studio, user, form("a" + "\u0301" * (catalog.MAX_PROMPT_CHARS + 1)))
    assert error.field == "prompt" and f"the limit is {catalog.MAX_PROMPT_CHARS}" in str(error)


@pytest.mark.parametrize("field", ["prompt", "negative_prompt"])
@pytest.mark.parametrize("what", INVISIBLE)
def test_invisible_and_control_characters_in_prompts_are_refused(studio: Studio, user: int, field: str, what: str):
    error = refused(studio, user, form(**{field: f"a red fox{INVISIBLE[what]} in the snow"}))
    assert error.field == field and "invisible or control character (U+" in str(error)


@pytest.mark.parametrize("blank", ["", "   ", "\n\t\n", "\u3000"])
def test_a_blank_prompt_is_refused_as_empty(studio: Studio, user: int, blank: str):
    error = refused(studio, user, form(blank))
    assert error.field == "prompt" and "empty" in str(error)


def test_prompt_text_that_looks_like_code_is_kept_as_text(studio: Studio, user: int):
    """Markup, SQL and template syntax are not hostile to us: stored as typed, rendered as text by the pages."""
    prompt = "<script>alert(1)</script> '; DROP TABLE generations; -- {{7*7}} ${jndi:x} [a](http://evil.example)"
    view, created = studio.generations.submit(user, form(prompt))
    assert created and view.prompt == prompt


# -- the other fields of a request -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"model": "veo\x00"}, "model"),
        ({"aspect_ratio": "16:9\n"}, "aspect_ratio"),
        ({"resolution": "720p\u202e"}, "resolution"),
        ({"mode": "text\u202e"}, "mode"),
        ({"duration_seconds": 10**9}, "duration_seconds"),
        ({"duration_seconds": -4}, "duration_seconds"),
        ({"sample_count": 10**9}, "sample_count"),
        ({"sample_count": 0}, "sample_count"),
        ({"seed": -1}, "seed"),
        ({"seed": catalog.MAX_SEED + 1}, "seed"),
        ({"idempotency_key": LONG}, "idempotency_key"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_out_of_range_and_garbage_fields_are_refused(studio: Studio, user: int, fields: dict, field: str):
    error = refused(studio, user, form(**fields))
    assert error.field == field


@pytest.mark.parametrize("field", ["model", "mode"])
def test_an_unknown_model_or_mode_is_not_quoted_back_whole(studio: Studio, user: int, field: str):
    error = refused(studio, user, form(**{field: LONG}))
    assert error.field == field


@pytest.mark.parametrize("seed", ["42", 4.2, True, [1]])
def test_a_seed_that_is_not_an_integer_is_refused(studio: Studio, user: int, seed: object):
    error = refused(studio, user, form(seed=seed))
    assert error.field == "seed"


@pytest.mark.parametrize("source", ["remix_of_id", "extend_of_id"])
@pytest.mark.parametrize("value", [LONG, "0" * 31 + "\x00", "../../etc/passwd", "' OR 1=1 --"])
def test_a_hostile_source_id_is_no_such_generation(studio: Studio, user: int, source: str, value: str):
    fields: dict[str, object] = {source: value}
    if source == "extend_of_id":
        fields.update(mode="extend", duration_seconds=8)
    with pytest.raises(NotFoundError, match="No such generation"):
        studio.generations.submit(user, form(**fields))
    assert_nothing_stored(studio)


# -- names -------------------------------------------------------------------------------------


def users_now(studio: Studio) -> int:
    return count(studio, User)


@pytest.mark.parametrize(
    "username",
    [LONG, "", "a", "le\nna", "lena\x00", "le\u202ena", "l\u200bena", "аlice", "alice@evil", "<b>x</b>", "../root"],
    ids=["long", "empty", "one", "newline", "nul", "rtl", "zwsp", "cyrillic-a", "at", "html", "path"],
)
def test_a_hostile_username_is_refused_and_no_user_is_made(studio: Studio, username: str):
    before = users_now(studio)
    with pytest.raises(ValidationError) as err:
        studio.accounts.add_user(username, "correct horse battery")
    assert err.value.field == "username" and "Username must be" in str(err.value)
    assert users_now(studio) == before


def test_a_display_name_over_the_limit_is_refused(studio: Studio):
    before = users_now(studio)
    with pytest.raises(ValidationError) as err:
        studio.accounts.add_user("mia", "correct horse battery", name="M" * 50_000)
    assert (
        err.value.field == "name" and str(err.value) == f"Name is 50000 characters long; the limit is {MAX_NAME_CHARS}."
    )
    assert users_now(studio) == before


@pytest.mark.parametrize("what", INVISIBLE)
def test_invisible_and_control_characters_in_a_display_name_are_refused(studio: Studio, what: str):
    before = users_now(studio)
    with pytest.raises(ValidationError) as err:
        studio.accounts.add_user("mia", "correct horse battery", name=f"Mia{INVISIBLE[what]}Admin")
    assert err.value.field == "name" and "invisible or control character (U+" in str(err.value)
    assert users_now(studio) == before


def test_a_display_name_at_the_limit_is_kept(studio: Studio):
    assert (
        studio.accounts.add_user("mia", "correct horse battery", name="M" * MAX_NAME_CHARS).name == "M" * MAX_NAME_CHARS
    )


@pytest.mark.parametrize(
    "email",
    ["a@b.example\n", "<img src=x onerror=alert(1)>@evil.example", "a@b.example\x00", "x" * 50_000 + "@b.example"],
    ids=["newline", "html", "nul", "long"],
)
def test_a_hostile_email_is_refused_and_no_user_is_made(studio: Studio, email: str):
    before = users_now(studio)
    with pytest.raises(ValidationError) as err:
        studio.accounts.add_user("mia", "correct horse battery", email=email)
    assert err.value.field == "email" and len(str(err.value)) < 200
    assert users_now(studio) == before


@pytest.mark.parametrize("password", ["p" * 50_000, "é" * 40], ids=["long", "over-72-bytes"])
def test_a_password_too_long_for_bcrypt_is_refused_naming_the_limit(studio: Studio, password: str):
    before = users_now(studio)
    with pytest.raises(ValidationError, match="at most 72 bytes"):
        studio.accounts.add_user("mia", password)
    assert users_now(studio) == before


def test_a_hostile_login_username_gets_the_usual_answer_and_a_bounded_throttle_key(studio: Studio):
    result = studio.accounts.login("x" * 50_000 + "\u202e", "whatever-password", "203.0.113.9")
    assert result.user_id is None and result.error == "Wrong username or password."
    from core.models import LoginThrottle

    with studio.sessions() as s:
        keys = s.execute(select(LoginThrottle.key)).scalars().all()
    assert keys and all(len(key) <= 160 for key in keys)  # the column's width


# -- searches ------------------------------------------------------------------------------------


@pytest.fixture
def three(studio: Studio, user: int) -> int:
    for prompt in ("a purple octopus", "100% orange sunset", "under_score road"):
        studio.generations.submit(user, form(prompt, model="offline-preview", resolution="240p", duration_seconds=2))
    return user


@pytest.mark.parametrize("length", [MAX_SEARCH_CHARS + 1, 50_000, 1_000_000])
def test_a_search_over_the_limit_is_refused_naming_it(studio: Studio, three: int, length: int):
    with pytest.raises(ValidationError) as err:
        studio.generations.list_generations(three, search="x" * length)
    assert err.value.field == "search"
    assert str(err.value) == f"Search is {length} characters long; the limit is {MAX_SEARCH_CHARS}."


def test_a_search_at_the_limit_runs(studio: Studio, three: int):
    assert studio.generations.list_generations(three, search="x" * MAX_SEARCH_CHARS).total == 0


@pytest.mark.parametrize("what", INVISIBLE)
def test_invisible_and_control_characters_in_a_search_are_refused(studio: Studio, three: int, what: str):
    with pytest.raises(ValidationError, match=r"Search contains an invisible or control character \(U\+"):
        studio.generations.list_generations(three, search=f"octo{INVISIBLE[what]}pus")


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("%", ["100% orange sunset"]),
        ("_", ["under_score road"]),
        ("/", []),
        ("' OR '1'='1", []),
        ("  OCTOPUS ", ["a purple octopus"]),
    ],
)
def test_like_wildcards_and_quotes_in_a_search_are_plain_characters(
    studio: Studio, three: int, search: str, found: list[str]
):
    assert [v.prompt for v in studio.generations.list_generations(three, search=search).items] == found


# -- uploads -----------------------------------------------------------------------------------------


def encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def png(size: tuple[int, int] = (320, 180)) -> bytes:
    return encode(Image.new("RGB", size, "teal"), "PNG")


def png_claiming(width: int, height: int) -> bytes:
    """A real small PNG whose header (with a correct checksum) claims width × height."""
    data = bytearray(png((64, 64)))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("RGB", (64, 64), "navy"), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def noisy_png(size: tuple[int, int] = (256, 256)) -> bytes:
    rng = random.Random(3)
    return encode(Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3)), "PNG")


def pixel_bomb() -> bytes:
    """A real 25-megapixel PNG of one colour: a few kilobytes that would decode to 75 MB."""
    return encode(Image.new("L", (5000, 5000), 0), "PNG")


ZIP_PAYLOAD = b"PK\x03\x04" + b"\x00" * 26 + b"evil.sh" + b"#!/bin/sh\nrm -rf /\n"
HTML_PAYLOAD = b"<html><script>alert(document.cookie)</script></html>"

BAD_UPLOADS = {
    "decompression bomb": (pixel_bomb(), "megapixels"),
    "huge claimed PNG": (png_claiming(65_535, 65_535), "megapixels"),
    "huge claimed JPEG": (jpeg_claiming(65_000, 65_000), "megapixels"),
    "PNG header on random bytes": (b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(4096), "corrupt"),
    "PNG header on a script": (b"\x89PNG\r\n\x1a\n" + HTML_PAYLOAD, "corrupt"),
    "truncated PNG": (noisy_png()[:3000], "corrupt"),
    "truncated JPEG": (encode(Image.new("RGB", (256, 256), "red"), "JPEG")[:300], "corrupt"),
    "GIF/JavaScript polyglot": (b"GIF89a/*\x00\x00*/=alert(1);//" + b"\x00" * 32, "GIF"),
    "SVG with a script": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "not a PNG"),
    "HTML": (HTML_PAYLOAD, "not a PNG"),
    "ZIP": (ZIP_PAYLOAD, "not a PNG"),
    "empty": (b"", "empty"),
    "oversize": (b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_IMAGE_BYTES, "MB"),
    "too small": (png((8, 8)), "at least 64 pixels"),
}
"""Each bad upload and a word its refusal must contain."""


@pytest.mark.parametrize("what", BAD_UPLOADS)
def test_a_bad_upload_is_refused_and_nothing_is_stored(studio: Studio, user: int, what: str):
    data, word = BAD_UPLOADS[what]
    image = UploadedImage(role="first_frame", name="holiday.png", data=data)
    error = refused(studio, user, form(mode="image", images=(image,)))
    assert error.field == "first_frame" and "holiday.png" in str(error)
    assert word.lower() in str(error).lower(), str(error)


def test_one_bad_upload_among_good_ones_stores_none_of_them(studio: Studio, user: int):
    images = (
        UploadedImage(role="reference", name="a.png", data=png()),
        UploadedImage(role="reference", name="b.png", data=png((400, 225))),
        UploadedImage(role="reference", name="bomb.png", data=pixel_bomb()),
    )
    error = refused(studio, user, form(mode="reference", duration_seconds=8, images=images))
    assert "bomb.png" in str(error)


@pytest.mark.parametrize("payload", [ZIP_PAYLOAD, HTML_PAYLOAD], ids=["zip", "html"])
def test_a_polyglot_image_is_stored_only_as_its_re_encoded_pixels(studio: Studio, user: int, payload: bytes):
    """A valid PNG with a ZIP or an HTML page after its end: the pixels are kept, the payload is not."""
    image = UploadedImage(role="first_frame", name="poly.png", data=png() + payload)
    view, created = studio.generations.submit(user, form(mode="image", images=(image,)))
    assert created
    stored = studio.generations.input_bytes(user, view.id, 0)
    assert payload not in stored and b"<script" not in stored and b"PK\x03\x04" not in stored
    assert Image.open(io.BytesIO(stored)).size == (320, 180)


@pytest.mark.parametrize(
    "name",
    ["../../../etc/passwd", "evil\u202egnp.exe", "a\x00b.png", "x" * 50_000 + ".png", "<img src=x>.png"],
    ids=["traversal", "rtl", "nul", "long", "html"],
)
def test_a_hostile_file_name_never_reaches_storage_or_the_message(studio: Studio, user: int, name: str):
    image = UploadedImage(role="first_frame", name=name, data=png())
    view, _ = studio.generations.submit(user, form(mode="image", images=(image,)))
    [stored] = media_files(studio)
    assert stored.relative_to(Path(studio.store.root)).parts[:2] == (str(user), view.id)
    assert stored.name.startswith("input-") and "passwd" not in stored.name
    bad = UploadedImage(role="first_frame", name=name, data=b"GIF89a" + b"\x00" * 64)
    with pytest.raises(ValidationError) as err:
        studio.generations.submit(user, form("another heron", mode="image", images=(bad,)))
    message = str(err.value)
    assert len(message) < 400 and "\x00" not in message and "\u202e" not in message and "/etc/" not in message
