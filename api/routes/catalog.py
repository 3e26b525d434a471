"""``GET /v1/models``: the models the caller may use now (the same offers as the Create page)."""

from __future__ import annotations

from fastapi import APIRouter

from api.problems import documented
from api.schemas import ModelList, model_of
from api.security import Reader, StudioDep

router = APIRouter(tags=["models"])


@router.get("/models", response_model=ModelList, responses=documented(401, 403))
def list_models(owner: Reader, studio: StudioDep) -> ModelList:
    """The caller's models, each with its limits, prices per second and the credential that serves it."""
    user_id = owner.user.id
    return ModelList(
        models=[model_of(offer) for offer in studio.generations.offers(user_id)],
        unavailable=studio.generations.unavailable_reasons(user_id),
    )
