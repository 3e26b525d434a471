"""Admission: quota caps, 429 delays and fairness between users (SQLite + fakeredis, real renderer)."""

from __future__ import annotations

from datetime import timedelta

from core.admission import Admission, fair_order
from core.errors import ProviderError
from core.models import utcnow
from core.pipeline import Pipeline
from core.providers.base import GenerationRequest
from core.studio import Studio
from tests.unit.test_pipeline import PaidProvider, row, submit


def admission_with(studio: Studio, provider: PaidProvider, **limits: object) -> Admission:
    settings = studio.settings.model_copy(update=limits)
    pipeline = Pipeline(
        settings=settings,
        sessions=studio.sessions,
        queue=studio.queue,
        store=studio.store,
        providers=lambda *_: provider,
    )
    return Admission(pipeline)


def test_fair_order_round_robins_between_users_least_busy_first():
    candidates = [("a1", 1, 0), ("a2", 1, 0), ("a3", 1, 0), ("b1", 2, 0), ("c1", 3, 0)]
    ordered = [gid for gid, _, _ in fair_order(candidates, {1: 0, 2: 0, 3: 0})]
    assert ordered == ["a1", "b1", "c1", "a2", "a3"]
    busy_a = [gid for gid, _, _ in fair_order(candidates, {1: 2})]
    assert busy_a[:2] == ["b1", "c1"]


def test_one_users_fifty_queued_do_not_starve_anothers_one(studio: Studio, alice: int, bob: int):
    provider = PaidProvider()
    sched = admission_with(studio, provider, max_concurrent_operations=4, user_max_concurrent=2, submits_per_minute=100)
    alice_ids = [submit(studio, alice) for _ in range(50)]
    bob_id = submit(studio, bob)  # submitted last, behind alice's fifty
    first = sched.admit()
    assert bob_id in first
    assert len(first) == 3  # alice capped at 2 of the 4 slots; bob gets his one
    assert sum(1 for gid in first if gid in alice_ids) == 2
    assert sched.admit() == []  # alice is at her cap; nothing more until something finishes


def test_studio_wide_concurrency_and_rate_caps_hold(studio: Studio, alice: int, bob: int):
    provider = PaidProvider()
    sched = admission_with(studio, provider, max_concurrent_operations=10, user_max_concurrent=10, submits_per_minute=3)
    for _ in range(6):
        submit(studio, alice)
    assert len(sched.admit()) == 3  # the per-minute cap
    assert sched.admit() == []
    assert provider.submissions == 3
    assert len(sched.admit(now=utcnow() + timedelta(seconds=61))) == 3


class QuotaProvider(PaidProvider):
    """Answers the first submit with a 429 that names a retry delay."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals = 1

    def submit(self, request: GenerationRequest) -> str:
        if self.refusals:
            self.refusals -= 1
            raise ProviderError("quota", code="RESOURCE_EXHAUSTED", retryable=True, retry_after_seconds=33)
        return super().submit(request)


def test_a_429_waits_the_servers_delay_and_is_not_counted_as_a_failure(studio: Studio, alice: int):
    provider = QuotaProvider()
    sched = admission_with(studio, provider, max_provider_retries=0)
    gid = submit(studio, alice)
    assert sched.admit() == [gid]
    r = row(studio, gid)
    assert (r.status, r.retry_count, r.operation_name) == ("queued", 0, None)
    wait = (r.not_before.replace(tzinfo=None) - utcnow().replace(tzinfo=None)).total_seconds()
    assert 30 < wait <= 33
    assert sched.admit() == []  # still waiting
    assert sched.admit(now=utcnow() + timedelta(seconds=34)) == [gid]
    assert row(studio, gid).status == "running"
    assert provider.submissions == 1


def test_a_refused_request_fails_at_once_with_the_providers_words(studio: Studio, alice: int):
    class Refusing(PaidProvider):
        def submit(self, request: GenerationRequest) -> str:
            raise ProviderError("Veo answered 400 INVALID_ARGUMENT: 1080p needs 8 s", code="INVALID_ARGUMENT")

    sched = admission_with(studio, Refusing())
    gid = submit(studio, alice)
    sched.admit()
    r = row(studio, gid)
    assert r.status == "failed" and "1080p needs 8 s" in (r.error_message or "")
    assert r.cost_usd == 0


def test_a_pass_stops_when_the_scheduler_loses_leadership(studio: Studio, alice: int):
    provider = PaidProvider()
    sched = admission_with(studio, provider, max_concurrent_operations=100, user_max_concurrent=100)
    for _ in range(5):
        submit(studio, alice)
    calls = []

    def between() -> bool:
        calls.append(1)
        return len(calls) < 2  # leadership lost after the second submission

    assert len(sched.admit(between=between)) == 2
    assert provider.submissions == 2


def test_a_429_while_polling_waits_and_polls_again_never_resubmitting(studio: Studio, alice: int):
    class BusyPolls(PaidProvider):
        def __init__(self) -> None:
            super().__init__()
            self.busy = 2

        def poll(self, operation_name: str):  # type: ignore[no-untyped-def]
            if self.busy:
                self.busy -= 1
                raise ProviderError("quota", code="RESOURCE_EXHAUSTED", retryable=True, retry_after_seconds=9)
            return super().poll(operation_name)

    provider = BusyPolls()
    sched = admission_with(studio, provider, max_provider_retries=0)
    gid = submit(studio, alice)
    sched.admit()
    for _ in range(2):
        seq = row(studio, gid).job_seq
        sched.pipeline.poll(gid, seq)
        job = studio.queue.queue.scheduled_job_registry.get_job_ids()
        assert f"{gid}-{seq + 1}" in job  # polled again later, not resubmitted
        assert row(studio, gid).status == "running"
    sched.pipeline.poll(gid, row(studio, gid).job_seq)
    assert row(studio, gid).status == "succeeded"
    assert provider.submissions == 1
