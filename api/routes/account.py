"""``GET /v1/me``: who the token speaks for, and their budget and spend this month."""

from __future__ import annotations

from fastapi import APIRouter

from api.problems import documented
from api.schemas import MeOut, me_of
from api.security import Reader, StudioDep

router = APIRouter(tags=["account"])


@router.get("/me", response_model=MeOut, responses=documented(401, 403))
def me(owner: Reader, studio: StudioDep) -> MeOut:
    """The caller, the token in use, and this month's budget (the Account page's figures)."""
    return me_of(owner, studio.generations.budget(owner.user.id))
