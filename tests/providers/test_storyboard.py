"""A script becomes a proposed storyboard: from the Gemini text model (through the real google-genai client
against the stand-in) when a key is set, else split by sentences; one request per proposal, never retried,
and a failing text model falls back to the split with a note. Nothing is stored or paid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from google import genai
from google.genai import types
from pydantic import BaseModel
from sqlalchemy import func, select

from core import catalog
from core.errors import ProviderError, ValidationError
from core.models import Generation, LedgerEntry
from core.movies import MAX_SCRIPT_CHARS, SENTENCE_SPLIT
from core.providers.base import ProposedShot
from core.providers.veo import GeminiPromptHelper, _proposed_shots
from core.studio import Studio
from standin import VeoStandIn, enhance_prompt
from tests.support import embedded_studio

OMNI = "gemini-omni-1.1-flash"
VEO = "veo-3.1-generate-001"
SCRIPT = "A boat leaves the harbour. Gulls follow it!  The sun sets behind the old stone lighthouse on the cliff."
SENTENCES = [
    "A boat leaves the harbour.",
    "Gulls follow it!",
    "The sun sets behind the old stone lighthouse on the cliff.",
]


@pytest.fixture
def standin() -> Iterator[VeoStandIn]:
    with VeoStandIn(api_key="test-key") as server:
        yield server


@pytest.fixture
def studio(tmp_path: Path, standin: VeoStandIn) -> Iterator[Studio]:
    with embedded_studio(tmp_path, gemini_api_key="test-key", veo_base_url=standin.url) as studio:
        yield studio


def text_posts(standin: VeoStandIn) -> int:
    return standin.stats().posts.get("generateContent", 0)


def nothing_paid(studio: Studio) -> bool:
    with studio.sessions() as s:
        return all(s.execute(select(func.count()).select_from(m)).scalar_one() == 0 for m in (Generation, LedgerEntry))


# --- the studio -------------------------------------------------------------------------------------


def test_with_a_key_the_text_model_proposes_the_shots_in_one_request(studio: Studio, standin: VeoStandIn):
    assert studio.movies.storyboard_help() is None
    board = studio.movies.propose_storyboard(SCRIPT, model=OMNI, duration_seconds=5)
    assert [s.prompt for s in board.shots] == [enhance_prompt(s) for s in SENTENCES]
    assert (board.source, board.note) == ("gemini-flash-latest", None)
    # The stand-in asks 4 + words // 3 s (5, 5, 7); Omni makes each of them.
    assert [s.duration_seconds for s in board.shots] == [5, 5, 7]
    assert all(s.duration_seconds in catalog.get_model(OMNI).durations and s.model == OMNI for s in board.shots)
    assert text_posts(standin) == 1 and standin.stats().generate_content_calls == 1
    assert nothing_paid(studio)


def test_proposed_lengths_snap_to_the_nearest_the_model_makes(studio: Studio):
    board = studio.movies.propose_storyboard(SCRIPT, model=VEO, duration_seconds=8)
    # Veo 3.1 makes 4, 6 or 8 s: 5 and 7 lie between two, and the shorter (cheaper) one is taken.
    assert [s.duration_seconds for s in board.shots] == [4, 4, 6]


def test_a_failing_text_model_is_asked_once_and_the_script_is_split_by_sentences(studio: Studio, standin: VeoStandIn):
    standin.configure(generate_content_fail=True)
    board = studio.movies.propose_storyboard(SCRIPT, model=OMNI, duration_seconds=5)
    assert [(s.prompt, s.duration_seconds) for s in board.shots] == [(s, 5) for s in SENTENCES]
    assert board.source == SENTENCE_SPLIT
    assert board.note is not None and "could not propose shots" in board.note and "503" in board.note
    assert text_posts(standin) == 1  # the SDK did not retry the 503


def test_without_a_key_the_script_is_split_by_sentences_and_no_text_model_is_offered(tmp_path: Path):
    with embedded_studio(tmp_path) as studio:
        help_text = studio.movies.storyboard_help()
        assert help_text is not None and "VEOGEN_GEMINI_API_KEY" in help_text and "each sentence" in help_text
        board = studio.movies.propose_storyboard(SCRIPT, model=catalog.OFFLINE_MODEL, duration_seconds=4)
    assert [(s.prompt, s.duration_seconds) for s in board.shots] == [(s, 4) for s in SENTENCES]
    assert (board.source, board.note) == (SENTENCE_SPLIT, None)


def test_an_over_long_or_empty_script_is_refused_before_anything_is_sent(studio: Studio, standin: VeoStandIn):
    with pytest.raises(ValidationError, match=f"the limit is {MAX_SCRIPT_CHARS}") as caught:
        studio.movies.propose_storyboard("A cat naps. " * 2000, model=OMNI, duration_seconds=5)
    assert caught.value.field == "script"
    with pytest.raises(ValidationError, match="The script is empty"):
        studio.movies.propose_storyboard("  \n ", model=OMNI, duration_seconds=5)
    assert text_posts(standin) == 0


def test_long_proposed_prompts_are_cut_to_the_prompt_limit(studio: Studio):
    sentence = "A very long shot " + "and more " * 400 + "ends."
    board = studio.movies.propose_storyboard(sentence, model=OMNI, duration_seconds=5)
    assert len(board.shots) == 1 and len(board.shots[0].prompt) <= catalog.MAX_PROMPT_CHARS


# --- the helper -------------------------------------------------------------------------------------


def test_the_helper_keeps_at_most_max_shots(standin: VeoStandIn):
    helper = GeminiPromptHelper(api_key="test-key", base_url=standin.url)
    try:
        shots = helper.propose_shots(SCRIPT, max_shots=2)
    finally:
        helper.close()
    assert shots == [ProposedShot(enhance_prompt(SENTENCES[0]), 5), ProposedShot(enhance_prompt(SENTENCES[1]), 5)]
    assert text_posts(standin) == 1


def test_the_helper_sends_one_request_even_when_it_fails(standin: VeoStandIn):
    standin.configure(generate_content_fail=True)
    helper = GeminiPromptHelper(api_key="test-key", base_url=standin.url)
    try:
        with pytest.raises(ProviderError, match="Gemini answered 503") as caught:
            helper.propose_shots(SCRIPT, max_shots=10)
    finally:
        helper.close()
    assert caught.value.retryable and text_posts(standin) == 1


def test_the_answer_is_read_leniently():
    answer = (
        '[{"prompt": "  a boat \\n leaves  ", "duration_seconds": 6}, {"prompt": "   "}, {"duration_seconds": 5},'
        ' "not a shot", {"prompt": "gulls", "duration_seconds": 5.4}, {"prompt": "sunset", "duration_seconds": true},'
        ' {"prompt": "night", "duration_seconds": NaN}]'
    )
    assert _proposed_shots(answer) == [
        ProposedShot("a boat leaves", 6),
        ProposedShot("gulls", 5),
        ProposedShot("sunset", None),
        ProposedShot("night", None),
    ]
    assert _proposed_shots('{"shots": [{"prompt": "a boat"}]}') == [ProposedShot("a boat", None)]
    assert _proposed_shots("not json") == [] and _proposed_shots('{"prompt": "x"}') == []


# --- the stand-in's shot lists ----------------------------------------------------------------------


def test_the_standin_answers_a_shot_list_held_in_an_object(standin: VeoStandIn):
    class Shot(BaseModel):
        prompt: str
        seconds: int | None = None
        mood: str

    class Board(BaseModel):
        title: str
        shots: list[Shot]

    with genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=standin.url)) as client:
        resp = client.models.generate_content(
            model="gemini-2.5-flash",
            contents=SCRIPT,
            config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=Board),
        )
    board = resp.parsed
    assert isinstance(board, Board) and board.title == enhance_prompt(SCRIPT)
    assert [(s.prompt, s.seconds, s.mood) for s in board.shots] == [
        (enhance_prompt(s), seconds, enhance_prompt(s)) for s, seconds in zip(SENTENCES, [5, 5, 7], strict=True)
    ]
