"""The Gemini text model proposes a storyboard (through the real google-genai client against the stand-in):
one request per proposal, never retried; the answer read leniently; the stand-in's shot lists."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google import genai
from google.genai import types
from pydantic import BaseModel

from core.errors import ProviderError
from core.providers.base import ProposedShot
from core.providers.veo import GeminiPromptHelper, _proposed_shots
from standin import VeoStandIn, enhance_prompt

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


def text_posts(standin: VeoStandIn) -> int:
    return standin.stats().posts.get("generateContent", 0)


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
