"""``/v1/me``: the caller's account — who they are and their month, their tokens, their Gemini key, their password.

Each route is one call of the method the Account page makes, with its rules and
messages: ``studio.tokens.list_mine`` and ``revoke`` (another user's token answers
404, like one that does not exist), ``studio.accounts.personal_key`` and
``set_personal_key`` (shown by its last four characters only, never sent back),
``studio.accounts.change_password``. Making a token stays on the Account page, as
the product decided: the API lists and revokes tokens but never makes one.

Reading needs the ``read`` scope; a change (revoking a token, setting or clearing
the key, changing the password) needs ``generate`` and counts against the
submits rate limit. A password change ends every session and revokes every token
of the user, as on the page — the token the request was sent with too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.problems import blank_secret, core_problem, documented
from api.schemas import MeOut, me_of
from api.schemas_account import (
    PasswordIn,
    PersonalKeyIn,
    PersonalKeyOut,
    TokenList,
    TokenOut,
    personal_key_of,
    token_of,
)
from api.security import Generator, Reader, StudioDep
from core.errors import ValidationError
from core.studio import Studio

router = APIRouter(tags=["account"])

TokenId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A token's id from ``GET /v1/me/tokens``.")]

KEY_LABEL = "Personal Gemini API key"
"""What the key is called in its messages (core's and the Account page's name for it)."""

SENT_CHANGES = documented(400, 401, 403, 413, 422)  # a JSON body: 400 when it is not JSON, 413 over 64 KiB


@router.get("/me", response_model=MeOut, responses=documented(401, 403))
def me(owner: Reader, studio: StudioDep) -> MeOut:
    """The caller, the token in use, and this month's budget (the Account page's figures)."""
    return me_of(owner, studio.generations.budget(owner.user.id))


# -- tokens --------------------------------------------------------------------------


@router.get("/me/tokens", response_model=TokenList, responses=documented(401, 403))
def list_tokens(owner: Reader, studio: StudioDep) -> TokenList:
    """Your personal access tokens, newest first, active or not (never their secrets).

    Tokens are made on the Account page only (a product decision); here you can see and revoke them.
    ``current`` marks the token this request was sent with.
    """
    views = studio.tokens.list_mine(owner.user.id)
    return TokenList(items=[token_of(view, current_id=owner.token_id) for view in views])


@router.post("/me/tokens/{token_id}/revoke", response_model=TokenOut, responses=documented(401, 403, 404, 422))
def revoke_token(token_id: TokenId, owner: Generator, studio: StudioDep) -> TokenOut:
    """Revoke one of your tokens: it stops working at once. Revoking it again changes nothing.

    Another user's token answers 404, like one that does not exist. Revoking the token the request was sent
    with is allowed; the next request with it answers 401.
    """
    return token_of(studio.tokens.revoke(owner.user.id, token_id), current_id=owner.token_id)


# -- personal Gemini key -----------------------------------------------------------------


@router.get("/me/personal-key", response_model=PersonalKeyOut, responses=documented(401, 403))
def personal_key(owner: Reader, studio: StudioDep) -> PersonalKeyOut:
    """Whether you set a personal Gemini API key, and its last four characters (the key itself is never sent)."""
    return personal_key_of(studio.accounts.personal_key(owner.user.id))


def _store_key(studio: Studio, user_id: int, value: str) -> PersonalKeyOut:
    try:
        view = studio.accounts.set_personal_key(user_id, value)
    except ValidationError as exc:  # core's sentence, about the one input there is
        problem = core_problem(exc)
        problem.field = problem.field or "value"
        raise problem from None
    return personal_key_of(view)


@router.put("/me/personal-key", response_model=PersonalKeyOut, responses=SENT_CHANGES)
def set_personal_key(body: PersonalKeyIn, owner: Generator, studio: StudioDep) -> PersonalKeyOut:
    """Store your own Gemini API key, encrypted: only your generations use it, instead of the team's key.

    It replaces the one set before. An empty value is refused (send ``DELETE`` to clear the key), as the
    Account page's Save refuses it.
    """
    if not body.value.get_secret_value().strip():
        raise blank_secret(KEY_LABEL)
    return _store_key(studio, owner.user.id, body.value.get_secret_value())


@router.delete("/me/personal-key", response_model=PersonalKeyOut, responses=documented(401, 403))
def clear_personal_key(owner: Generator, studio: StudioDep) -> PersonalKeyOut:
    """Remove your personal Gemini API key: your generations use the team's key again. Removing none is no error."""
    return _store_key(studio, owner.user.id, "")


# -- password ------------------------------------------------------------------------


@router.post("/me/password", status_code=204, response_class=Response, responses=SENT_CHANGES)
def change_password(body: PasswordIn, owner: Generator, studio: StudioDep) -> Response:
    """Change your password, giving the current one; the new one is checked as on the Account page.

    As on the page, every session of yours ends and **every token of yours is revoked, the one this request
    was sent with included**: its next request answers 401. Log in again at ``/v1/token``, or make a new
    token on the Account page. 422 with the page's sentence (``field`` ``current_password`` or ``password``)
    for a wrong current password or a new one that is too short (VEOGEN_MIN_PASSWORD_CHARS), too long,
    common, your username or the current one.
    """
    studio.accounts.change_password(
        owner.user.id, body.current_password.get_secret_value(), body.password.get_secret_value()
    )
    return Response(status_code=204)
