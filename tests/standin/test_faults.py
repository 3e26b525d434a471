"""Injected faults on interaction and webhook creation, and the per-route count of every POST received: enough
to see what the SDK's retries do on the wire (part 2 §2.7) and what a lost answer costs."""

from __future__ import annotations

import pytest
from google.genai import errors, types
from google.genai._gaos.lib import compat_errors

from standin import LEGACY_GEMINI_VEO, Behaviour, VeoStandIn
from tests.standin.support import FAST_RETRIES, gemini_client

OMNI = "gemini-omni-1.1-flash"


def test_the_default_client_sends_4_posts_to_a_503_and_the_one_post_client_sends_1(client, one_post, standin):
    standin.configure(interaction_fault_status=503, interaction_fault_count=100)
    with pytest.raises(compat_errors.InternalServerError) as got:
        client.interactions.create(model=OMNI, input="a kite")  # default retry options: ~3 s of backoff
    assert got.value.status_code == 503 and "overloaded" in got.value.message
    assert standin.stats().posts == {"interactions.create": 4}

    with pytest.raises(compat_errors.InternalServerError):
        one_post.interactions.create(model=OMNI, input="a kite")
    stats = standin.stats()
    assert stats.posts == {"interactions.create": 5} and stats.interactions_created == 0


@pytest.mark.parametrize(("status", "error"), [(409, compat_errors.ConflictError), (429, compat_errors.RateLimitError)])
def test_409_and_429_are_retried_too_and_counted(standin, one_post, status, error):
    standin.configure(interaction_fault_status=status, interaction_fault_count=100, retry_delay_seconds=9)
    retrying = gemini_client(standin, FAST_RETRIES)
    with pytest.raises(error) as got:
        retrying.interactions.create(model=OMNI, input="a kite")
    retrying.close()
    assert standin.stats().posts == {"interactions.create": 4}
    if status == 429:
        details = got.value.body["error"]["details"]
        assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "9s"} in details
    with pytest.raises(error):
        one_post.interactions.create(model=OMNI, input="a kite")
    assert standin.stats().posts == {"interactions.create": 5}


def test_the_fault_count_runs_down_and_the_retry_then_succeeds(standin):
    standin.configure(interaction_fault_status=504, interaction_fault_count=2)
    retrying = gemini_client(standin, FAST_RETRIES)
    assert retrying.interactions.create(model=OMNI, input="a kite", background=True).status == "in_progress"
    retrying.close()
    stats = standin.stats()
    assert (stats.posts, stats.interactions_created) == ({"interactions.create": 3}, 1)
    assert standin.behaviour.interaction_fault_count == 0


def test_a_lost_answer_still_creates_the_interaction_so_a_retry_pays_twice(standin, one_post):
    standin.configure(interaction_fault_status=500, interaction_fault_count=1, fault_after_create=True)
    retrying = gemini_client(standin, FAST_RETRIES)
    retrying.interactions.create(model=OMNI, input="a paid kite", background=True)
    retrying.close()
    stats = standin.stats()
    assert (stats.posts["interactions.create"], stats.interactions_per_prompt) == (2, {"a paid kite": 2})

    standin.configure(interaction_fault_status=503, interaction_fault_count=1)
    with pytest.raises(compat_errors.InternalServerError):
        one_post.interactions.create(model=OMNI, input="once", background=True)
    (lost,) = [j for j in standin.jobs() if j["prompt"] == "once"]
    assert lost["kind"] == "interaction"  # the caller never learnt its id


def test_webhook_creation_faults(standin, one_post):
    standin.configure(webhook_fault_status=503, webhook_fault_count=4)
    retrying = gemini_client(standin, FAST_RETRIES)
    with pytest.raises(compat_errors.InternalServerError):
        retrying.webhooks.create(subscribed_events=["video.generated"], uri="https://example.com/hook")
    retrying.close()
    assert standin.stats().posts == {"webhooks.create": 4}
    assert one_post.webhooks.list().webhooks is None  # none was made

    standin.configure(webhook_fault_status=429, webhook_fault_count=1, fault_after_create=True)
    with pytest.raises(compat_errors.RateLimitError):
        one_post.webhooks.create(subscribed_events=["video.generated"], uri="https://example.com/hook")
    assert len(one_post.webhooks.list().webhooks) == 1 and standin.stats().posts["webhooks.create"] == 5


def test_veo_submits_are_counted_per_route_and_never_retried_by_default():
    with VeoStandIn(behaviour=Behaviour(gemini_models=list(LEGACY_GEMINI_VEO), submit_5xx_count=1)) as server:
        c = gemini_client(server)
        with pytest.raises(errors.ServerError):
            c.models.generate_videos(
                model="veo-3.1-fast-generate-preview", source=types.GenerateVideosSource(prompt="x")
            )
        c.close()
        assert server.stats().posts == {"predictLongRunning": 1}


def test_fault_knobs_are_checked(standin):
    with pytest.raises(ValueError, match="interaction_fault_status must be one of 408, 409, 429, 500, 503, 504"):
        standin.configure(interaction_fault_status=418)
    with pytest.raises(ValueError, match="delivery_max_attempts"):
        standin.configure(delivery_max_attempts=0)
