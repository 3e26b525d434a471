"""Models per surface in December 2026: what the Gemini API and Vertex list and serve, and the 404
"… is no longer available" of retired ids on every route that takes a model (part 2 §3)."""

from __future__ import annotations

import pytest
from google.genai import errors, types
from google.genai._gaos.lib import compat_errors

from standin import DEFAULT_VERTEX_MODELS, LEGACY_GEMINI_VEO, TEXT_MODELS, Behaviour, VeoStandIn
from tests.standin.support import gemini_client


def test_the_gemini_api_lists_omni_and_the_text_models_but_no_veo(client):
    names = [m.name for m in client.models.list()]
    assert names == ["models/gemini-omni-1.1-flash", *(f"models/{t}" for t in TEXT_MODELS)]
    omni = client.models.get(model="gemini-omni-1.1-flash")
    assert omni.display_name == "Gemini Omni 1.1 Flash" and omni.supported_actions  # the value itself is a guess


def test_the_models_pager_follows_page_tokens(client):
    pager = client.models.list(config={"page_size": 2})
    assert len(pager.page) == 2
    assert len(list(pager)) == 1 + len(TEXT_MODELS)


def test_vertex_lists_and_gets_its_publisher_models(vertex_global):
    models = list(vertex_global.models.list())
    assert [m.name for m in models] == [f"publishers/google/models/{m}" for m in DEFAULT_VERTEX_MODELS]
    veo = vertex_global.models.get(model="veo-3.1-generate-001")
    assert (veo.name, veo.version) == ("publishers/google/models/veo-3.1-generate-001", "001")
    with pytest.raises(errors.ClientError, match="no longer available"):
        vertex_global.models.get(model="veo-3.0-generate-001")


@pytest.mark.parametrize(
    ("model", "replacement"),
    [("veo-3.1-generate-preview", "gemini-omni-1.1-flash"), ("veo-3.0-fast-generate-001", "veo-3.1-fast-generate-001")],
)
def test_a_retired_id_is_404_no_longer_available_on_every_route(client, one_post, standin, model, replacement):
    with pytest.raises(errors.ClientError) as got:
        client.models.get(model=model)
    assert got.value.code == 404 and "is no longer available" in got.value.message and replacement in got.value.message
    with pytest.raises(errors.ClientError) as got:
        client.models.generate_videos(model=model, source=types.GenerateVideosSource(prompt="a boat"))
    assert got.value.code == 404 and "is no longer available" in got.value.message
    with pytest.raises(compat_errors.NotFoundError, match="is no longer available"):
        one_post.interactions.create(model=model, input="a boat")
    assert f"models/{model}" not in [m.name for m in client.models.list()]
    assert standin.stats().submissions == standin.stats().interactions_created == 0


def test_an_unknown_or_unserved_id_is_the_usual_not_found(client, one_post):
    for model in ("veo-9-imaginary", "veo-3.1-generate-001"):  # the GA id lives on Vertex only
        with pytest.raises(errors.ClientError) as got:
            client.models.generate_videos(model=model, source=types.GenerateVideosSource(prompt="a boat"))
        assert got.value.code == 404 and "not found" in got.value.message and "no longer" not in got.value.message
    with pytest.raises(compat_errors.NotFoundError, match="not found"):
        one_post.interactions.create(model="gemini-omni-1.2-flash", input="x")  # Vertex-only


def test_vertex_retires_old_veo_and_serves_the_ga_ids(vertex_global, standin):
    with pytest.raises(errors.ClientError, match="no longer available"):
        vertex_global.models.generate_videos(
            model="veo-2.0-generate-001", source=types.GenerateVideosSource(prompt="x")
        )
    op = vertex_global.models.generate_videos(
        model="veo-3.1-lite-generate-001",
        source=types.GenerateVideosSource(prompt="x"),
        config=types.GenerateVideosConfig(duration_seconds=4),
    )
    assert op.name.startswith("projects/p/locations/global/publishers/google/models/veo-3.1-lite-generate-001/")
    assert standin.stats().submissions == 1


def test_omni_ids_belong_to_the_interactions_api(client, vertex_global):
    with pytest.raises(errors.ClientError, match="only supported in the Interactions API"):
        client.models.generate_content(model="gemini-omni-1.1-flash", contents="x")
    with pytest.raises(errors.ClientError, match="only supported in the Interactions API"):
        vertex_global.models.generate_videos(
            model="gemini-omni-1.2-flash", source=types.GenerateVideosSource(prompt="x")
        )


def test_serving_an_old_id_brings_it_back_and_lists_it():
    with VeoStandIn(behaviour=Behaviour(gemini_models=list(LEGACY_GEMINI_VEO))) as server:
        c = gemini_client(server)
        names = {m.name for m in c.models.list()}
        assert {f"models/{m}" for m in LEGACY_GEMINI_VEO} <= names and "models/gemini-omni-1.1-flash" not in names
        op = c.models.generate_videos(
            model="veo-3.1-fast-generate-preview", source=types.GenerateVideosSource(prompt="x")
        )
        assert op.name.startswith("models/veo-3.1-fast-generate-preview/operations/")
        server.configure(retired_models={}, gemini_models=[])
        with pytest.raises(errors.ClientError, match="not found"):
            c.models.get(model="veo-3.1-fast-generate-preview")
        c.close()


def test_model_knobs_take_only_catalogue_ids():
    with pytest.raises(ValueError, match="no catalogue entry for veo-4"):
        VeoStandIn(behaviour=Behaviour(gemini_models=["veo-4"]))
    with pytest.raises(ValueError, match="retired_models"):
        VeoStandIn(behaviour=Behaviour(retired_models={"a": 1}))  # type: ignore[dict-item]
