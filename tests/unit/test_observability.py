"""Metrics and logs: counted once a change commits (never after a rollback), one JSON line per
generation event with its id, and the exporter's gauges read from the database and Redis."""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from core import metrics
from core.exporter import EXPORTER_METRIC_NAMES, build_registry
from core.logs import EVENTS_LOGGER, configure_logging
from core.models import Generation
from core.services.lifecycle import transition
from core.status import Status
from core.studio import Studio
from tests.support import offline_form


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_status_change_is_counted_once_it_commits_and_not_after_a_rollback(studio: Studio, alice: int):
    before = sample("veogen_generation_transitions_total", provider="offline", status="canceled")
    gid = studio.generations.submit(alice, offline_form())[0].id
    with pytest.raises(RuntimeError), studio.sessions.begin() as s:
        transition(session=s, generation=s.get(Generation, gid), to=Status.CANCELED)  # type: ignore[arg-type]
        raise RuntimeError("roll it back")
    assert sample("veogen_generation_transitions_total", provider="offline", status="canceled") == before
    studio.generations.cancel(alice, gid)
    assert sample("veogen_generation_transitions_total", provider="offline", status="canceled") == before + 1


def test_a_finished_generation_counts_its_provider_calls_jobs_and_media_time(studio: Studio, alice: int):
    finished = ("veogen_generations_finished_total", {"provider": "offline", "model": "offline-preview"})
    ok_before = sample(finished[0], **finished[1], status="succeeded")
    submits = sample("veogen_provider_requests_total", provider="offline", call="submit", outcome="ok")
    media = sample("veogen_media_processing_seconds_count", provider="offline")
    gid = studio.generations.submit(alice, offline_form())[0].id
    studio.pipeline.start(gid, 0)
    studio.pipeline.poll(gid, 1)
    assert studio.generations.get_generation(alice, gid).status is Status.SUCCEEDED
    assert sample(finished[0], **finished[1], status="succeeded") == ok_before + 1
    assert sample("veogen_provider_requests_total", provider="offline", call="submit", outcome="ok") == submits + 1
    assert sample("veogen_media_processing_seconds_count", provider="offline") == media + 1


def test_web_counts_submissions_and_logins(studio: Studio, alice: int):
    accepted = sample("veogen_submissions_total", provider="offline", outcome="accepted")
    returned = sample("veogen_submissions_total", provider="offline", outcome="returned")
    failed = sample("veogen_logins_total", outcome="failed")
    form = offline_form()
    studio.generations.submit(alice, form)
    studio.generations.submit(alice, form)  # a double click: the same generation comes back
    studio.accounts.login("alice", "wrong password", "10.0.0.1")
    assert sample("veogen_submissions_total", provider="offline", outcome="accepted") == accepted + 1
    assert sample("veogen_submissions_total", provider="offline", outcome="returned") == returned + 1
    assert sample("veogen_logins_total", outcome="failed") == failed + 1


def test_json_logs_give_one_line_per_event_with_the_generation_id(
    studio: Studio, alice: int, capsys: pytest.CaptureFixture[str]
):
    configure_logging(level="INFO", fmt="json", process="worker")
    try:
        gid = studio.generations.submit(alice, offline_form())[0].id
        studio.generations.cancel(alice, gid)
    finally:
        configure_logging(level="WARNING", fmt="text", process="tests")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    events = [line for line in lines if line["logger"] == EVENTS_LOGGER]
    assert len(events) == 1
    event = events[0]
    assert event["generation_id"] == gid and event["status"] == "canceled" and event["event"] == "status"
    assert event["process"] == "worker" and event["level"] == "INFO"
    assert "queued → canceled" in event["message"] and event["ts"]


def test_text_logs_name_the_process(capsys: pytest.CaptureFixture[str]):
    configure_logging(level="INFO", fmt="text", process="scheduler")
    try:
        logging.getLogger(EVENTS_LOGGER).info("hello")
    finally:
        configure_logging(level="WARNING", fmt="text", process="tests")
    assert " scheduler veogen.events INFO hello" in capsys.readouterr().err


def test_the_exporter_reads_the_studio_at_scrape_time(studio: Studio, alice: int):
    registry = build_registry(studio)

    def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = generate_latest(registry).decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    first = scrape()
    assert first[("veogen_generations", (("status", "queued"),))] == 0
    studio.generations.submit(alice, offline_form())
    studio.generations.submit(alice, offline_form())
    studio.redis.set("veogen:worker-alive:w1", 1, ex=10)
    second = scrape()
    assert second[("veogen_generations", (("status", "queued"),))] == 2
    assert second[("veogen_workers_alive", ())] == 1
    assert second[("veogen_queue_jobs", (("queue", "veogen"), ("state", "queued")))] == 0
    assert second[("veogen_exporter_scrape_errors_total", (("source", "redis"),))] == 0
    names = {name for name, _labels in second}
    missing = {n for n in EXPORTER_METRIC_NAMES if n not in names and f"{n}_total" not in names}
    assert missing == {"veogen_provider_errors_last_hour"}  # no failures yet: no code to label


def test_metric_names_follow_the_style():
    for name in (*metrics.PROCESS_METRIC_NAMES, *EXPORTER_METRIC_NAMES):
        assert name.startswith("veogen_") and name == name.lower()
    for name in metrics.PROCESS_METRIC_NAMES:
        assert name.endswith(("_total", "_seconds")), name


def test_a_429_is_counted_under_googles_name_whatever_form_it_came_in():
    def quota() -> float:
        return sample("veogen_provider_errors_total", provider="veo", call="submit", code="RESOURCE_EXHAUSTED")

    before = quota()
    metrics.record_provider_call("veo", "submit", "RESOURCE_EXHAUSTED")
    metrics.record_provider_call("veo", "submit", "429")
    assert quota() == before + 2
