"""The worker steps on SQLite + fakeredis with the real offline renderer: safe to run twice,
resumable after a crash, clear about corrupt media, and reconciled from the database."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.admission import Admission
from core.models import Generation, LedgerEntry, Video
from core.pipeline import Pipeline
from core.providers.base import GenerationRequest, OperationState, ProviderVideo
from core.providers.offline import OfflineProvider
from core.queue import POLL_JOB, job_id
from core.reconciler import Reconciler
from core.services import ledger
from core.services.generations import GenerationForm
from core.status import Status
from core.studio import Studio, build_studio


class CountingProvider(OfflineProvider):
    """The real offline renderer, counting its submissions."""

    def __init__(self) -> None:
        super().__init__()
        self.submissions = 0

    def submit(self, request: GenerationRequest) -> str:
        self.submissions += 1
        return super().submit(request)


class PaidProvider(CountingProvider):
    """Like a paid provider: submitting twice would cost twice."""

    idempotent_submit = False


class TruncatingProvider(CountingProvider):
    """Delivers only the first half of each rendered file, like a download cut short."""

    def fetch(self, video: ProviderVideo, dest: Path) -> None:
        super().fetch(video, dest)
        data = dest.read_bytes()
        dest.write_bytes(data[: len(data) // 2])


class FilteringProvider(CountingProvider):
    def poll(self, operation_name: str) -> OperationState:
        return OperationState(kind="filtered", reasons=("Your prompt could not be turned into a video.",))


def pipeline_with(studio: Studio, provider: OfflineProvider) -> Pipeline:
    return Pipeline(
        settings=studio.settings,
        sessions=studio.sessions,
        queue=studio.queue,
        store=studio.store,
        providers=lambda *_: provider,
    )


def submit(studio: Studio, user: int, samples: int = 1) -> str:
    form = GenerationForm(
        model="offline-preview",
        prompt="A paper boat in the rain",
        duration_seconds=2,
        resolution="240p",
        sample_count=samples,
        idempotency_key=uuid.uuid4().hex,
    )
    return studio.generations.submit(user, form)[0].id


def row(studio: Studio, gid: str) -> Generation:
    with studio.sessions() as s:
        return s.execute(select(Generation).where(Generation.id == gid)).scalar_one()


def test_full_run_stores_videos_and_settles(studio: Studio, alice: int):
    provider = CountingProvider()
    p = pipeline_with(studio, provider)
    gid = submit(studio, alice, samples=2)
    p.start(gid, 0)
    assert row(studio, gid).status == "running"
    p.poll(gid, row(studio, gid).job_seq)
    view = studio.generations.get_generation(alice, gid)
    assert view.status is Status.SUCCEEDED
    assert [v.index for v in view.videos] == [0, 1]
    assert view.videos[0].sha256 != view.videos[1].sha256
    for v in view.videos:
        assert studio.store.exists(v.storage_key) and studio.store.exists(v.thumbnail_key)
        assert (v.width, v.height, v.codec, v.has_audio) == (426, 240, "h264", False)
        assert abs(v.duration_seconds - 2) < 0.05
    with studio.sessions() as s:
        assert ledger.generation_balance(session=s, generation_id=gid) == 0
        kinds = sorted(s.execute(select(LedgerEntry.kind).where(LedgerEntry.generation_id == gid)).scalars())
    assert kinds == ["reserve", "settle"]
    assert provider.submissions == 1


def test_start_twice_submits_once(studio: Studio, alice: int):
    provider = PaidProvider()
    p = pipeline_with(studio, provider)
    gid = submit(studio, alice)
    p.start(gid, 0)
    p.start(gid, 0)  # the same job delivered again: its token is stale now
    assert provider.submissions == 1
    # A rerun that holds the current token resumes polling instead of resubmitting.
    current = row(studio, gid).job_seq
    with studio.sessions() as s, s.begin():
        s.execute(update(Generation).where(Generation.id == gid).values(job_seq=current + 1))
    p.start(gid, current + 1)
    assert provider.submissions == 1
    assert row(studio, gid).operation_name


def test_poll_twice_processes_once(studio: Studio, alice: int):
    p = pipeline_with(studio, CountingProvider())
    gid = submit(studio, alice)
    p.start(gid, 0)
    seq = row(studio, gid).job_seq
    p.poll(gid, seq)
    p.poll(gid, seq)
    with studio.sessions() as s:
        assert len(s.execute(select(Video).where(Video.generation_id == gid)).all()) == 1
        assert len(s.execute(select(LedgerEntry).where(LedgerEntry.generation_id == gid)).all()) == 2


def test_crash_after_fetch_resumes_without_refetching(studio: Studio, alice: int):
    provider = CountingProvider()
    p = pipeline_with(studio, provider)
    gid = submit(studio, alice)
    p.start(gid, 0)
    seq = row(studio, gid).job_seq
    # The worker dies right after storing the file: the row is left in `processing`.
    with studio.sessions() as s, s.begin():
        s.execute(
            update(Generation)
            .where(Generation.id == gid)
            .values(status="fetching", provider_videos=[f"{row(studio, gid).operation_name}#0"])
        )
    p._fetch_all(gid, seq)
    assert row(studio, gid).status == "processing"
    stored = studio.store.local_path(f"{alice}/{gid}/0.mp4")
    assert stored is not None
    before = stored.stat().st_mtime_ns
    p.poll(gid, seq)  # the reconciler's rerun
    assert row(studio, gid).status == "succeeded"
    assert stored.stat().st_mtime_ns == before


def test_submitting_row_of_a_paid_provider_is_never_resubmitted(studio: Studio, alice: int):
    provider = PaidProvider()
    p = pipeline_with(studio, provider)
    gid = submit(studio, alice)
    with studio.sessions() as s, s.begin():
        s.execute(update(Generation).where(Generation.id == gid).values(status="submitting"))
    p.start(gid, 0)
    r = row(studio, gid)
    assert provider.submissions == 0
    assert r.status == "failed" and r.error_code == "SUBMIT_OUTCOME_UNKNOWN"
    assert "not sent again" in (r.error_message or "")


def test_truncated_video_fails_with_a_clear_message_and_no_charge(studio: Studio, alice: int):
    p = pipeline_with(studio, TruncatingProvider())
    gid = submit(studio, alice)
    p.start(gid, 0)
    p.poll(gid, row(studio, gid).job_seq)
    r = row(studio, gid)
    assert r.status == "failed"
    assert "corrupt or truncated" in (r.error_message or "")
    assert not studio.store.exists(f"{alice}/{gid}/0.mp4")
    with studio.sessions() as s:
        assert ledger.generation_balance(session=s, generation_id=gid) == 0


def test_safety_filter_records_reasons_and_releases(studio: Studio, alice: int):
    p = pipeline_with(studio, FilteringProvider())
    gid = submit(studio, alice)
    p.start(gid, 0)
    p.poll(gid, row(studio, gid).job_seq)
    view = studio.generations.get_generation(alice, gid)
    assert view.status is Status.FILTERED
    assert view.safety_reasons == ["Your prompt could not be turned into a video."]
    assert view.cost_usd == 0


def _age(studio: Studio, gid: str, seconds: float) -> None:
    with studio.sessions() as s, s.begin():
        r = s.get(Generation, gid)
        s.execute(
            update(Generation).where(Generation.id == gid).values(updated_at=r.updated_at - timedelta(seconds=seconds))
        )


def test_reconcile_requeues_the_poll_after_a_flushed_redis(studio: Studio, alice: int):
    p = pipeline_with(studio, CountingProvider())
    gid = submit(studio, alice)
    p.start(gid, 0)  # running, its first poll scheduled in Redis
    studio.redis.flushall()
    sched = Reconciler(p)
    assert sched.reconcile().requeued == []  # fresh rows are left alone for a while
    _age(studio, gid, 60)
    assert sched.reconcile().requeued == [gid]
    seq = row(studio, gid).job_seq
    job = studio.queue.queue.fetch_job(job_id(gid, seq))
    assert job.func_name == POLL_JOB
    p.poll(gid, seq - 1)  # the lost job, if it ever came back, is fenced off
    assert row(studio, gid).status == "running"
    p.poll(gid, seq)
    assert row(studio, gid).status == "succeeded"


def test_reconcile_leaves_live_jobs_and_queued_rows_alone(studio: Studio, alice: int):
    p = pipeline_with(studio, CountingProvider())
    queued = submit(studio, alice)
    started = submit(studio, alice)
    p.start(started, 0)
    _age(studio, queued, 60)
    _age(studio, started, 60)
    assert Reconciler(p).reconcile().requeued == []  # admission owns queued rows; the poll is scheduled


def test_an_interrupted_paid_submit_is_never_resent_and_keeps_its_reservation(studio: Studio, alice: int):
    provider = PaidProvider()
    p = pipeline_with(studio, provider)
    gid = submit(studio, alice)
    with studio.sessions() as s, s.begin():  # the scheduler died between marking and storing the name
        s.execute(update(Generation).where(Generation.id == gid).values(status="submitting"))
    _age(studio, gid, 60)
    Reconciler(p).reconcile()
    r = row(studio, gid)
    assert provider.submissions == 0
    assert (r.status, r.error_code) == ("failed", "SUBMIT_OUTCOME_UNKNOWN")
    with studio.sessions() as s:
        assert ledger.generation_balance(session=s, generation_id=gid) == r.price_usd


def test_an_interrupted_free_submit_is_queued_again(studio: Studio, alice: int):
    p = pipeline_with(studio, CountingProvider())
    gid = submit(studio, alice)
    with studio.sessions() as s, s.begin():
        s.execute(update(Generation).where(Generation.id == gid).values(status="submitting"))
    _age(studio, gid, 60)
    Reconciler(p).reconcile()
    assert row(studio, gid).status == "queued"
    assert Admission(p).admit() == [gid]


def test_reconcile_fails_generations_past_the_deadline(studio: Studio, alice: int):
    p = pipeline_with(studio, CountingProvider())
    gid = submit(studio, alice)
    with studio.sessions() as s, s.begin():
        r = s.get(Generation, gid)
        s.execute(update(Generation).where(Generation.id == gid).values(created_at=r.created_at - timedelta(hours=2)))
    assert Reconciler(p).reconcile().expired == [gid]
    r = row(studio, gid)
    assert r.status == "failed" and "did not finish within 30 minutes" in (r.error_message or "")


@pytest.mark.parametrize("kind", ["video", "thumbnail", "poster"])
def test_media_bytes_are_served_to_the_owner(studio: Studio, alice: int, kind: str):
    p = pipeline_with(studio, CountingProvider())
    gid = submit(studio, alice)
    p.start(gid, 0)
    p.poll(gid, row(studio, gid).job_seq)
    data = studio.generations.media_bytes(alice, gid, 0, kind)
    assert data[4:8] == b"ftyp" if kind == "video" else data[:2] == b"\xff\xd8"


def test_delete_removes_row_and_files_but_keeps_spend_history(studio: Studio, alice: int):
    p = pipeline_with(studio, CountingProvider())
    gid = submit(studio, alice)
    p.start(gid, 0)
    p.poll(gid, row(studio, gid).job_seq)
    folder = studio.store.local_path(f"{alice}/{gid}/0.mp4").parent
    assert folder.exists()
    studio.generations.delete(alice, gid)
    assert not folder.exists()
    with studio.sessions() as s:
        assert s.get(Generation, gid) is None
        assert sorted(s.execute(select(LedgerEntry.kind).where(LedgerEntry.user_id == alice)).scalars()) == [
            "reserve",
            "settle",
        ]


def test_pipeline_works_with_non_local_storage(studio: Studio, alice: int):
    in_memory = studio.settings.model_copy(update={"media_url": f"memory://veogen-{uuid.uuid4().hex}"})
    studio = build_studio(in_memory, redis=studio.redis)  # the same database and Redis, media in memory
    p = pipeline_with(studio, CountingProvider())
    gid = submit(studio, alice)
    p.start(gid, 0)
    p.poll(gid, row(studio, gid).job_seq)
    view = studio.generations.get_generation(alice, gid)
    assert view.status is Status.SUCCEEDED
    assert studio.store.local_path(view.videos[0].storage_key) is None
    assert studio.generations.media_bytes(alice, gid, 0)[4:8] == b"ftyp"
