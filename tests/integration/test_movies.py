"""A 10-shot film against the stand-in (Gemini Omni Flash, real google-genai client) on PostgreSQL + Redis,
with workers SIGKILLed over and over and the scheduler killed once: no shot is submitted twice, the film
completes, and the ledger balances shot by shot. Two shots start from the shot before them (one continues
from its last frame, the next extends it): the scheduler process lets them go when that shot is done."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from core.config import Settings
from core.models import Generation, LedgerEntry
from core.services import ledger
from core.services.movie_views import ShotView
from core.services.storyboard import MovieDraft, ShotDraft
from core.status import FINAL, Status
from core.studio import Studio
from standin import VeoStandIn
from tests.support import REDIS_URL, Processes, make_settings, wait_until

pytestmark = pytest.mark.integration

OMNI = "gemini-omni-1.1-flash"
SHOT_PRICE = Decimal("0.40")
"""4 s of Omni at 720p."""


@pytest.fixture
def standin() -> Iterator[VeoStandIn]:
    with VeoStandIn(api_key="test-key") as server:  # Google's lineup of December 2026
        yield server


@pytest.fixture
def settings(tmp_path: Path, pg_url: str, standin: VeoStandIn) -> Settings:
    return make_settings(
        tmp_path,
        database_url=pg_url,
        redis_url=REDIS_URL,
        gemini_api_key="test-key",
        veo_base_url=standin.url,
        max_concurrent_operations=50,
        submits_per_minute=1000,
        user_max_concurrent=4,
    )


def takes_final(studio: Studio, movie_id: str) -> bool:
    with studio.sessions() as s:
        statuses = s.execute(select(Generation.status).where(Generation.movie_id == movie_id)).scalars().all()
    return bool(statuses) and all(Status(v) in FINAL for v in statuses)


def stuck(shots: list[ShotView], position: int) -> bool:
    """Whether the shot can get no video without the creator: every take ended without one, or it waits
    for a shot that is stuck itself."""
    takes = shots[position].takes
    if any(t.waits_for_shot_id is not None for t in takes):
        return stuck(shots, position - 1)
    return bool(takes) and all(t.is_final and t.status is not Status.SUCCEEDED for t in takes)


def settled(studio: Studio, user: int, movie_id: str) -> bool:
    """Every take is final, or waits for a shot that is stuck (its reservation kept until that shot is fixed)."""
    shots = studio.movies.get(user, movie_id).shots
    return all(
        t.is_final or (t.waits_for_shot_id is not None and stuck(shots, s.position - 1)) for s in shots for t in s.takes
    )


def test_a_ten_shot_film_survives_killed_workers_and_scheduler_paying_each_shot_once(
    studio: Studio, standin: VeoStandIn, processes: Processes
):
    standin.configure(latency_seconds=1.0, polls_before_done=1)
    user = studio.accounts.add_user("fern", "a long enough password").id
    movie = studio.movies.create(
        user, MovieDraft(title="Ten", style="cinematic", aspect_ratio="16:9", resolution="720p", target_seconds=40)
    )
    joins = {4: "continue", 5: "extend"}  # shot 5 continues from shot 4's last frame; shot 6 extends shot 5
    shots = [
        ShotDraft(prompt=f"shot {n}: the tide comes in", duration_seconds=4, model=OMNI, join=joins.get(n, "cut"))
        for n in range(10)
    ]
    studio.movies.set_storyboard(user, movie.id, shots)
    takes = studio.movies.start(user, movie.id)
    assert len(takes) == 10

    workers = [processes.worker(), processes.worker()]
    scheduler = processes.scheduler()
    rng = random.Random(7)
    kills, scheduler_killed = 0, False
    started = time.monotonic()
    while time.monotonic() - started < 25 and not takes_final(studio, movie.id):
        time.sleep(rng.uniform(0.4, 1.2))
        victim = rng.randrange(len(workers))
        workers[victim].kill()
        workers[victim].wait()
        workers[victim] = processes.worker()
        kills += 1
        if not scheduler_killed and time.monotonic() - started > 3:
            scheduler.kill()
            scheduler.wait()
            scheduler = processes.scheduler()  # takes over once the dead leader's lock expires
            scheduler_killed = True
    assert kills >= 5 and scheduler_killed
    # A take waiting for a shot whose submission was lost (below) waits on, reserved, until that shot is fixed.
    assert wait_until(lambda: settled(studio, user, movie.id), timeout=180, interval=0.5)

    # A shot whose submission the scheduler was killed in the middle of is never sent again (it may or may
    # not have reached Google): it fails with its price kept for an administrator, and is re-rendered.
    view = studio.movies.get(user, movie.id)
    waiting = [s for s in view.shots if s.takes[0].waits_for_shot_id is not None]
    unknown = [s for s in view.shots if s.takes[0].error_code == "SUBMIT_OUTCOME_UNKNOWN"]
    assert len(unknown) <= 1, [(s.position, s.takes[0].error_message) for s in unknown]
    assert all(s.position - 1 in [u.position for u in unknown + waiting] for s in waiting)
    assert all(s.takes[0].status is Status.SUCCEEDED for s in view.shots if s not in unknown + waiting), [
        (s.position, [(t.status, t.error_message) for t in s.takes]) for s in view.shots
    ]
    assert 10 - len(unknown) - len(waiting) <= standin.stats().interactions_created <= 10  # none sent twice
    for shot in unknown:
        studio.movies.rerender(user, movie.id, shot.id)
    assert wait_until(lambda: takes_final(studio, movie.id), timeout=120, interval=0.5)

    view = studio.movies.get(user, movie.id)
    assert all(s.chosen_id is not None for s in view.shots)  # the film completes
    continued, extended = view.shots[4], view.shots[5]
    assert continued.takes[-1].mode == "image" and continued.takes[-1].input_roles == ["first_frame"]
    assert extended.takes[-1].extend_of_id == continued.chosen_id  # linked by the scheduler process
    assert standin.stats().interactions_created <= 10 + len(unknown)  # each take sent at most once
    with studio.sessions() as s:
        for shot in view.shots:
            for take in shot.takes:
                kinds = sorted(
                    s.execute(select(LedgerEntry.kind).where(LedgerEntry.generation_id == take.id)).scalars()
                )
                balance = ledger.generation_balance(session=s, generation_id=take.id)
                if take.error_code == "SUBMIT_OUTCOME_UNKNOWN":
                    assert (kinds, balance) == (["reserve"], SHOT_PRICE)  # kept for an administrator
                else:
                    assert (kinds, balance) == (["reserve", "settle"], SHOT_PRICE)
