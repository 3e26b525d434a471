"""AppTest tests of the login gate and the Create, Gallery and Generation pages."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from streamlit.commands import page_config
from streamlit.testing.v1 import AppTest

from core import catalog
from core.models import User
from core.services import generations as gen_service
from core.status import Status
from pages._ui.widgets import WORD_JOINER
from tests.ui.support import ROOT, UiEnv, button, log_in, new_app, open_page, texts, unescape

pytestmark = pytest.mark.ui

CREATE = "pages/create.py"
GALLERY = "pages/gallery.py"
DETAIL = "pages/generation.py"


def errors(at: AppTest) -> list[str]:
    return [unescape(str(e.value)) for e in at.error]


def fill_prompt(at: AppTest, text: str) -> AppTest:
    return at.text_area(key="create_prompt").input(text).run()


# -- login ------------------------------------------------------------------------


def test_login_with_the_right_password_shows_the_create_page(ui_env: UiEnv) -> None:
    at = log_in("alice")
    assert not at.exception
    assert [t.value for t in at.title] == ["Create a video"]
    assert "Signed in as **alice**" in [m.value for m in at.sidebar.markdown]
    assert at.session_state["veogen_current_user"].id == ui_env.alice.id


@pytest.mark.parametrize(("username", "password"), [("alice", "not-her-password"), ("mallory", "whatever-password")])
def test_failed_login_says_the_same_thing_for_unknown_user_and_wrong_password(
    ui_env: UiEnv, username: str, password: str
) -> None:
    at = log_in(username, password)
    assert errors(at) == ["Wrong username or password."]
    assert "Create a video" not in texts(at)
    assert "password_hint" not in at.session_state


def test_without_a_session_only_the_login_form_is_shown(ui_env: UiEnv) -> None:
    at = new_app().run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.text_area and not at.selectbox and not at.error
    assert "Create a video" not in texts(at) and "Gallery" not in texts(at)


@pytest.mark.parametrize("page", [CREATE, GALLERY, DETAIL])
def test_a_page_run_without_a_session_stops_at_the_guard(ui_env: UiEnv, page: str) -> None:
    ui_env.submit(ui_env.alice, "a private prompt")
    at = AppTest.from_file(str(ROOT / page), default_timeout=30).run()
    assert errors(at) == ["Please log in to use VeoGen."]
    assert "private prompt" not in texts(at)
    assert not at.button and not at.text_area


def test_a_disabled_user_is_logged_out_on_the_next_run(ui_env: UiEnv) -> None:
    at = log_in("alice")
    with ui_env.studio.sessions() as session, session.begin():
        session.execute(update(User).where(User.id == ui_env.alice.id).values(disabled=True))
    at.run()
    assert "This account is disabled. Ask an administrator." in errors(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert "veogen_current_user" not in at.session_state


def test_logout_returns_to_the_login_form(ui_env: UiEnv) -> None:
    at = log_in("alice")
    at.sidebar.button(key="veogen-logout").click().run()
    assert [s.value for s in at.success] == ["You are logged out."]
    assert not at.title  # nothing of the studio is drawn any more
    at.run()  # what the cookie component's rerun does in a browser
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert "veogen_current_user" not in at.session_state


# -- create ---------------------------------------------------------------------------


def test_empty_prompt_is_refused_naming_the_prompt(ui_env: UiEnv) -> None:
    at = log_in("alice")
    button(at, "Generate").click().run()
    assert any(e.startswith("Prompt is empty") for e in errors(at))
    assert ui_env.count(ui_env.alice) == 0


def test_over_long_prompt_is_refused_with_the_limit(ui_env: UiEnv) -> None:
    at = fill_prompt(log_in("alice"), "x" * (catalog.MAX_PROMPT_CHARS + 1))
    assert f"{catalog.MAX_PROMPT_CHARS + 1} / {catalog.MAX_PROMPT_CHARS} characters" in texts(at)
    button(at, "Generate").click().run()
    assert any(f"the limit is {catalog.MAX_PROMPT_CHARS}" in e for e in errors(at))
    assert ui_env.count(ui_env.alice) == 0


def test_control_character_in_prompt_is_refused(ui_env: UiEnv) -> None:
    at = fill_prompt(log_in("alice"), "a cat\x07 on a roof")
    button(at, "Generate").click().run()
    assert any("control character (U+0007)" in e for e in errors(at))
    assert ui_env.count(ui_env.alice) == 0


def test_price_is_shown_before_submitting(ui_env: UiEnv) -> None:
    at = fill_prompt(log_in("alice"), "a lighthouse in a storm")
    assert "**Price: $0.00 — free, rendered locally**" in [m.value for m in at.markdown]
    assert ui_env.count(ui_env.alice) == 0


def test_options_offered_are_exactly_the_chosen_models(ui_env: UiEnv) -> None:
    at = log_in("alice")
    spec = catalog.MODELS[at.selectbox(key="create_model").value]
    assert at.selectbox(key="create_model").options == [spec.label for spec in ui_env.studio.generations.models()]
    assert at.selectbox(key="create_duration").options == [f"{d} s" for d in spec.durations]
    assert at.selectbox(key="create_resolution").options == list(spec.resolutions)
    assert at.selectbox(key="create_aspect").options == list(spec.aspect_ratios)
    assert at.selectbox(key="create_samples").options == [str(n) for n in range(1, spec.max_samples + 1)]
    assert spec.notes in texts(at)


def test_submit_creates_one_generation_and_a_second_click_returns_it(ui_env: UiEnv) -> None:
    at = fill_prompt(log_in("alice"), "a paper boat on a river")
    button(at, "Generate").click().run()
    assert not errors(at)
    assert ui_env.count(ui_env.alice) == 1
    first = at.session_state["veogen_last_generation"]
    assert "Waiting for a worker" in texts(at)

    button(at, "Generate").click().run()  # a double click / a rerun with the same idempotency key
    assert ui_env.count(ui_env.alice) == 1
    assert at.session_state["veogen_last_generation"] == first
    assert any("already submitted" in i.value for i in at.info)

    fill_prompt(at, "a paper boat on a lake")  # a changed request is a new one
    button(at, "Generate").click().run()
    assert ui_env.count(ui_env.alice) == 2


def test_fixed_seed_goes_into_the_generation(ui_env: UiEnv) -> None:
    at = fill_prompt(log_in("alice"), "waves on a beach")
    at.checkbox(key="create_fixed_seed").check().run()
    at.number_input(key="create_seed").set_value(1234).run()
    at.selectbox(key="create_resolution").select("240p").run()
    button(at, "Generate").click().run()
    [view] = ui_env.studio.generations.list_generations(ui_env.alice.id).items
    assert (view.seed, view.resolution) == (1234, "240p")


def test_create_shows_the_video_once_the_generation_is_done(ui_env: UiEnv) -> None:
    at = fill_prompt(log_in("alice"), "a red kite over green hills")
    at.selectbox(key="create_resolution").select("240p").run()
    button(at, "Generate").click().run()
    ui_env.finish(at.session_state["veogen_last_generation"])
    at.run()
    assert "Done" in texts(at)
    assert len(at.get("video")) == 1


def test_remix_prefills_the_form(ui_env: UiEnv) -> None:
    source = ui_env.submit(ui_env.alice, "a neon city at night", negative_prompt="people", seed=77, sample_count=2)
    at = open_page(log_in("alice"), CREATE, remix=source.id)
    assert at.text_area(key="create_prompt").value == "a neon city at night"
    assert at.text_input(key="create_negative").value == "people"
    assert at.number_input(key="create_seed").value == 77
    assert at.selectbox(key="create_samples").value == 2
    assert "Remixing “a neon city at night”" in texts(at)
    button(at, "Generate").click().run()
    newest = ui_env.studio.generations.list_generations(ui_env.alice.id).items[0]
    assert newest.id != source.id and newest.remix_of_id == source.id


def test_remix_of_someone_elses_generation_is_refused(ui_env: UiEnv) -> None:
    theirs = ui_env.submit(ui_env.bob, "bob's secret garden")
    at = open_page(log_in("alice"), CREATE, remix=theirs.id)
    assert "No such generation to remix." in errors(at)
    assert at.text_area(key="create_prompt").value == ""
    assert "secret garden" not in texts(at)


# -- gallery ----------------------------------------------------------------------------


def test_gallery_lists_only_the_users_generations(ui_env: UiEnv) -> None:
    ui_env.submit(ui_env.alice, "alice's mountain lake")
    ui_env.submit(ui_env.bob, "bob's desert road")
    at = open_page(log_in("alice"), GALLERY)
    shown = texts(at)
    assert "alice's mountain lake" in shown
    assert "desert road" not in shown
    assert "Page 1 of 1 · 1 generation" in shown


def test_gallery_empty_state_links_to_create(ui_env: UiEnv) -> None:
    at = open_page(log_in("alice"), GALLERY)
    assert "No generations yet — create one." in [i.value for i in at.info]
    assert not at.get("image")


def test_gallery_search_and_status_filters_narrow(ui_env: UiEnv) -> None:
    ui_env.submit(ui_env.alice, "a purple octopus")
    done = ui_env.submit(ui_env.alice, "a golden retriever")
    ui_env.finish(done.id)
    at = open_page(log_in("alice"), GALLERY)
    assert "Page 1 of 1 · 2 generations" in texts(at)

    at.text_input(key="gallery_search").input("OCTOPUS").run()
    assert "a purple octopus" in texts(at) and "golden retriever" not in texts(at)

    at.text_input(key="gallery_search").input("").run()
    at.multiselect(key="gallery_status").select(Status.SUCCEEDED.value).run()
    shown = texts(at)
    assert "a golden retriever" in shown and "octopus" not in shown
    assert len(at.get("image")) == 1  # the thumbnail of the finished one


def test_gallery_pages_through_generations(ui_env: UiEnv) -> None:  # page size is 3 in these tests
    for n in range(5):
        ui_env.submit(ui_env.alice, f"scene number {n}")
    at = open_page(log_in("alice"), GALLERY)
    assert "Page 1 of 2 · 5 generations" in texts(at)
    assert "scene number 4" in texts(at) and "scene number 1" not in texts(at)  # newest first
    button(at, "Next").click().run()
    assert "Page 2 of 2 · 5 generations" in texts(at)
    assert "scene number 1" in texts(at) and "scene number 0" in texts(at) and "scene number 4" not in texts(at)
    assert button(at, "Next").disabled
    button(at, "Previous").click().run()
    assert "Page 1 of 2 · 5 generations" in texts(at)


def test_gallery_cancel_a_queued_generation(ui_env: UiEnv) -> None:
    view = ui_env.submit(ui_env.alice, "a slow train")
    at = open_page(log_in("alice"), GALLERY)
    button(at, "Cancel").click().run()
    assert ui_env.studio.generations.get_generation(ui_env.alice.id, view.id).status is Status.CANCELED
    assert "Generation canceled; nothing was charged." in texts(at)


def test_gallery_open_goes_to_the_detail_page(ui_env: UiEnv) -> None:
    view = ui_env.submit(ui_env.alice, "a windmill in fog")
    at = open_page(log_in("alice"), GALLERY)
    button(at, "Open").click().run()
    assert at.query_params["id"] == view.id
    assert [t.value for t in at.title] == ["Generation"]
    assert "a windmill in fog" in texts(at)


def test_gallery_search_over_the_limit_says_so_and_shows_no_sql(ui_env: UiEnv) -> None:
    ui_env.submit(ui_env.alice, "a purple octopus")
    at = open_page(log_in("alice"), GALLERY)
    at.text_input(key="gallery_search").input("x" * 50_000).run()  # SQLite: "LIKE or GLOB pattern too complex"
    assert not at.exception
    limit = gen_service.MAX_SEARCH_CHARS
    assert errors(at) == [f"Search is 50000 characters long; the limit is {limit}."]
    shown = texts(at)
    assert "SELECT" not in shown and "sqlite" not in shown.lower() and "a purple octopus" not in shown
    assert str(limit) in at.text_input(key="gallery_search").help  # said before anyone types that much


# -- detail -------------------------------------------------------------------------------


def test_detail_of_another_users_generation_says_no_such_generation(ui_env: UiEnv) -> None:
    theirs = ui_env.submit(ui_env.bob, "bob's hidden waterfall")
    at = open_page(log_in("alice"), DETAIL, id=theirs.id)
    assert errors(at) == ["No such generation."]
    assert "hidden waterfall" not in texts(at)
    assert not at.get("video") and not at.table and not at.main.button


def test_detail_of_an_unknown_id_says_no_such_generation(ui_env: UiEnv) -> None:
    at = open_page(log_in("alice"), DETAIL, id="0" * 32)
    assert errors(at) == ["No such generation."]


def test_detail_of_a_finished_generation_shows_video_facts_and_timeline(ui_env: UiEnv) -> None:
    view = ui_env.submit(ui_env.alice, "a blue whale under the sea", seed=5)
    done = ui_env.finish(view.id)
    assert done.status is Status.SUCCEEDED
    at = open_page(log_in("alice"), DETAIL, id=view.id)
    assert not at.exception
    assert len(at.get("video")) == 1
    [download] = at.get("download_button")
    assert download.proto.label == "Download MP4"
    shown = texts(at)
    video = done.videos[0]
    assert f"{video.width}×{video.height}" in shown and video.sha256 in shown
    tables = {tuple(t.value.columns): t.value for t in at.table}
    timeline, parameters = tables[("Time", "Change", "Detail")], tables[("Setting", "Value")]
    changes = list(timeline["Change"])
    assert changes[0] == "new → queued" and changes[-1] == "processing → succeeded"
    values = [unescape(v) for v in parameters["Value"]]
    assert "a blue whale under the sea" in values and "Offline preview renderer (local, not AI)" in values


def test_detail_delete_needs_confirmation_and_removes_row_and_files(ui_env: UiEnv) -> None:
    view = ui_env.finish(ui_env.submit(ui_env.alice, "a candle flickering").id)
    folder = Path(ui_env.studio.settings.resolved_media_url()) / str(ui_env.alice.id) / view.id
    assert folder.is_dir() and any(folder.iterdir())
    at = open_page(log_in("alice"), DETAIL, id=view.id)
    button(at, "Delete").click().run()
    assert ui_env.count(ui_env.alice) == 1  # one click only asks
    button(at, "Confirm delete").click().run()
    assert ui_env.count(ui_env.alice) == 0
    assert not folder.exists()
    assert "Generation deleted." in texts(at)


def test_detail_remix_button_goes_to_create_prefilled(ui_env: UiEnv) -> None:
    view = ui_env.submit(ui_env.alice, "autumn leaves falling")
    at = open_page(log_in("alice"), DETAIL, id=view.id)
    button(at, "Remix").click().run()
    assert [t.value for t in at.title] == ["Create a video"]
    assert at.text_area(key="create_prompt").value == "autumn leaves falling"


def test_prompt_markdown_is_shown_as_text_not_rendered(ui_env: UiEnv) -> None:
    prompt = "see [click](http://evil.example) ![px](http://evil.example/p.png) $x^2$ :red[alarm]"
    view = ui_env.submit(ui_env.alice, prompt)
    at = open_page(log_in("alice"), DETAIL, id=view.id)
    [cell] = [v for t in at.table for v in t.value.get("Value", []) if "evil" in v]
    assert not re.search(r"(?<!\\)[\[\]()$:!]", cell)  # every Markdown character is escaped
    assert unescape(cell).replace(WORD_JOINER, "") == prompt  # the joiners keep "http://" from being linked
    at = open_page(at, CREATE, remix=view.id)
    [remixing] = [i.value for i in at.info if "Remixing" in i.value]
    assert "](http" not in remixing and "\\]\\(http" in remixing


# -- user and provider text is shown as text -----------------------------------------------

URL_TEXT = "see https://evil.example/x and www.evil.example"
PROVIDER_TEXT = "Quota exceeded; read https://evil.example/quota or write to abuse@evil.example"
AUTOLINK = re.compile(r"(?i)(?:https?|ftp)://|(?<![\w.-])www\.|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\]\(|<a[\s>]")
"""What Streamlit's GitHub-flavoured Markdown turns into a link: bare URLs, www., emails, [text](url), <a>."""

PLAIN_ELEMENTS = {"text", "code", "dataframe"}
"""Element types that show their strings as they are; every other element renders Markdown somewhere."""


INPUT_FIELDS = {"value", "default"}
"""Proto fields that hold what a text box contains: edited as plain text, never rendered."""


def _strings(message: Any) -> Iterator[str]:
    for descriptor, value in message.ListFields():
        if descriptor.name in INPUT_FIELDS:
            continue
        values = value if descriptor.is_repeated else [value]
        for item in values:
            if descriptor.type == descriptor.TYPE_STRING:
                yield item
            elif descriptor.type == descriptor.TYPE_MESSAGE:
                yield from _strings(item)


def markdown_links(at: AppTest) -> list[str]:
    """Every string of the last run that Streamlit renders as Markdown and that would become a link."""
    found = []
    for node in at._tree:
        if node.type in PLAIN_ELEMENTS or getattr(node, "proto", None) is None:
            continue
        if node.type == "table":
            strings: Iterator[str] = (str(cell) for cell in node.value.to_numpy().ravel())
        else:
            strings = _strings(node.proto)
        found += [s for s in strings if AUTOLINK.search(unescape(s))]
    return found


def plain_texts(at: AppTest) -> str:
    return "\n".join([str(t.value) for t in at.text] + [df.value.to_string() for df in at.dataframe])


def fail_with_provider_message(env: UiEnv, prompt: str) -> str:
    view = env.submit(env.alice, prompt)
    env.studio.pipeline.fail(view.id, None, PROVIDER_TEXT, code="RESOURCE_EXHAUSTED")
    return view.id


def test_urls_in_prompts_and_provider_messages_are_not_links_on_gallery_and_detail(ui_env: UiEnv) -> None:
    generation_id = fail_with_provider_message(ui_env, URL_TEXT)
    at = open_page(log_in("alice"), GALLERY)
    assert not at.exception
    assert URL_TEXT in plain_texts(at)
    assert markdown_links(at) == []

    at = open_page(at, DETAIL, id=generation_id)
    assert not at.exception
    assert URL_TEXT in plain_texts(at)
    assert "Quota exceeded" in texts(at)  # the provider's words are shown, without their links
    assert markdown_links(at) == []

    at = open_page(at, CREATE, remix=generation_id)
    assert at.text_area(key="create_prompt").value == URL_TEXT
    assert markdown_links(at) == []


def test_urls_in_provider_messages_are_not_links_on_the_queue_page(ui_env: UiEnv) -> None:
    ui_env.studio.accounts.add_user("root", "root-password-for-tests", role="admin")
    fail_with_provider_message(ui_env, URL_TEXT)
    at = open_page(log_in("root", "root-password-for-tests"), "pages/admin_queue.py")
    assert not at.exception
    assert PROVIDER_TEXT in plain_texts(at)
    assert markdown_links(at) == []


def test_a_username_that_looks_like_a_web_address_is_not_a_link(ui_env: UiEnv) -> None:
    ui_env.studio.accounts.add_user("www.evil.example", "www-password-for-tests")
    at = log_in("www.evil.example", "www-password-for-tests")
    assert not at.exception
    assert markdown_links(at) == []
    assert "www.evil.example" in unescape(at.sidebar.markdown[0].value).replace(WORD_JOINER, "")


def test_the_favicon_is_served_by_the_studio_itself(ui_env: UiEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Material icon as favicon makes every browser fetch it from fonts.gstatic.com; many installs are offline."""
    sent: list[str] = []
    original = page_config._get_favicon_string

    def recording(page_icon: Any) -> str:
        sent.append(original(page_icon))
        return sent[-1]

    monkeypatch.setattr(page_config, "_get_favicon_string", recording)
    at = log_in("alice")
    assert not at.exception and sent
    for favicon in sent:  # an inline image: no request at all, to us or anyone else
        assert favicon.startswith("data:image/"), favicon[:80]


# -- structure ------------------------------------------------------------------------------

FORBIDDEN_IN_PAGES = ("sqlalchemy", "rq", "redis", "google", "cv2", "av", "workers")


@pytest.mark.parametrize(
    "path", ["streamlit_app.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").rglob("*.py"))]
)
def test_pages_import_only_streamlit_and_core(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text(), filename=path)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    roots = {name.split(".")[0] for name in imported}
    assert not roots & set(FORBIDDEN_IN_PAGES), f"{path} imports {sorted(roots & set(FORBIDDEN_IN_PAGES))}"
