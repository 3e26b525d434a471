"""Generation services on SQLite: submit, idempotency, ownership, listing, cancel, delete, ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.errors import NotFoundError, ValidationError
from core.models import Event, Generation, LedgerEntry
from core.services import ledger
from core.status import Status
from core.studio import Studio
from tests.support import offline_form as form


def count(studio: Studio, model: type) -> int:
    with studio.sessions() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_submit_writes_row_reservation_and_event_and_leaves_the_start_to_admission(studio: Studio, alice: int):
    view, created = studio.generations.submit(alice, form())
    assert created and view.status is Status.QUEUED
    assert count(studio, Generation) == 1
    with studio.sessions() as s:
        kinds = s.execute(select(LedgerEntry.kind).where(LedgerEntry.generation_id == view.id)).scalars().all()
        events = s.execute(select(Event.to_status).where(Event.generation_id == view.id)).scalars().all()
    assert kinds == ["reserve"]
    assert events == ["queued"]
    assert studio.queue.queue.get_job_ids() == []  # the scheduler's admission pass submits it
    assert studio.admission.admit() == [view.id]
    assert studio.generations.get_generation(alice, view.id).status is Status.RUNNING


def test_same_idempotency_key_returns_the_same_generation(studio: Studio, alice: int):
    f = form()
    first, created1 = studio.generations.submit(alice, f)
    second, created2 = studio.generations.submit(alice, f)
    assert (created1, created2) == (True, False)
    assert first.id == second.id
    assert count(studio, Generation) == 1
    assert count(studio, LedgerEntry) == 1


def test_invalid_input_stores_nothing(studio: Studio, alice: int):
    for bad in (form(""), form(duration_seconds=11), form(resolution="4k"), form("ok", negative_prompt="x" * 501)):
        with pytest.raises(ValidationError):
            studio.generations.submit(alice, bad)
    assert count(studio, Generation) == 0
    assert count(studio, LedgerEntry) == 0
    assert studio.queue.queue.get_job_ids() == []


def test_a_stranger_cannot_read_cancel_delete_or_remix(studio: Studio, alice: int, bob: int):
    view, _ = studio.generations.submit(alice, form("alice's secret idea"))
    with pytest.raises(NotFoundError):
        studio.generations.get_generation(bob, view.id)
    with pytest.raises(NotFoundError):
        studio.generations.timeline(bob, view.id)
    with pytest.raises(NotFoundError):
        studio.generations.cancel(bob, view.id)
    with pytest.raises(NotFoundError):
        studio.generations.delete(bob, view.id)
    with pytest.raises(NotFoundError):
        studio.generations.media_bytes(bob, view.id, 0)
    with pytest.raises(NotFoundError):
        studio.generations.submit(bob, form(remix_of_id=view.id))
    assert studio.generations.list_generations(bob).total == 0
    assert studio.generations.get_generation(alice, view.id).status is Status.QUEUED


def test_list_is_newest_first_filtered_searched_and_paginated(studio: Studio, alice: int):
    prompts = [f"scene {i} with a {'red' if i % 2 else 'blue'} balloon" for i in range(30)]
    ids = [studio.generations.submit(alice, form(p)).__getitem__(0).id for p in prompts]
    page1 = studio.generations.list_generations(alice, page=1)
    assert page1.total == 30 and page1.pages == 3 and len(page1.items) == 12
    assert page1.items[0].id == ids[-1]
    page3 = studio.generations.list_generations(alice, page=3)
    assert len(page3.items) == 6 and page3.items[-1].id == ids[0]
    assert studio.generations.list_generations(alice, page=99).page == 3
    red = studio.generations.list_generations(alice, search="RED balloon")
    assert red.total == 15 and all("red" in g.prompt for g in red.items)
    assert studio.generations.list_generations(alice, search="100%").total == 0
    studio.generations.cancel(alice, ids[0])
    canceled = studio.generations.list_generations(alice, statuses=["canceled"])
    assert [g.id for g in canceled.items] == [ids[0]]
    assert studio.generations.list_generations(alice, models=["offline-preview"]).total == 30
    assert studio.generations.list_generations(alice, models=["veo-3.1-generate-preview"]).total == 0


def test_cancel_releases_the_reservation_once(studio: Studio, alice: int):
    view, _ = studio.generations.submit(alice, form())
    studio.generations.cancel(alice, view.id)
    with pytest.raises(ValidationError, match="Only a queued generation"):
        studio.generations.cancel(alice, view.id)
    with studio.sessions() as s:
        kinds = sorted(s.execute(select(LedgerEntry.kind).where(LedgerEntry.generation_id == view.id)).scalars())
        assert kinds == ["release", "reserve"]
        assert ledger.generation_balance(session=s, generation_id=view.id) == 0


def test_delete_refuses_work_in_progress(studio: Studio, alice: int):
    view, _ = studio.generations.submit(alice, form())
    with pytest.raises(ValidationError, match="still in progress"):
        studio.generations.delete(alice, view.id)
    assert count(studio, Generation) == 1


def test_ledger_settle_and_release_happen_at_most_once(studio: Studio, alice: int):
    view, _ = studio.generations.submit(alice, form())
    with studio.sessions() as s, s.begin():
        row = s.get(Generation, view.id)
        row.price_usd = Decimal("3.20")
        ledger.settle(session=s, generation=row, cost=Decimal("3.20"))
        ledger.settle(session=s, generation=row, cost=Decimal("3.20"))
        ledger.release(session=s, generation=row)
    with studio.sessions() as s:
        assert count(studio, LedgerEntry) == 2
        # The database refuses a second settle even if the code forgot to check.
        s.add(LedgerEntry(generation_id=view.id, user_id=alice, kind="settle", amount_usd=Decimal(1)))
        with pytest.raises(Exception, match=r"(?i)unique"):
            s.flush()
