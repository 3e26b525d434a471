"""core.services.users: what a user record may hold (names, emails)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.errors import ValidationError
from core.models import User
from core.studio import Studio


@pytest.fixture
def admin(studio: Studio) -> int:
    return studio.accounts.add_user("boss", "an admin's long secret", role="admin").id


@pytest.mark.parametrize(
    "email",
    [
        "dora@example.com\n",
        "dora@example.com\r\nBcc: x@example.com",
        "<script>alert(1)</script>@example.com",
        '"><img src=x onerror=alert(1)>@example.com',
        "dora@exa mple.com",
        "dora@@example.com",
        "dora@example",
        "dora@-example.com",
        "d" * 65 + "@example.com",
    ],
)
def test_emails_with_markup_spaces_or_line_breaks_are_refused_and_nothing_is_stored(
    studio: Studio, admin: int, email: str
):
    with pytest.raises(ValidationError, match="does not look like an email address") as refused:
        studio.accounts.create_user(admin, "dora", "creator", email=email)
    assert refused.value.field == "email"
    with studio.sessions() as s:
        assert s.execute(select(func.count()).select_from(User).where(User.username == "dora")).scalar_one() == 0


@pytest.mark.parametrize("email", ["dora@example.com", "dora.o'brien+films@studio.example.co.uk", "D_1%x@a-b.io"])
def test_ordinary_emails_are_accepted(studio: Studio, admin: int, email: str):
    view, _ = studio.accounts.create_user(admin, "dora", "creator", email=email)
    assert view.email == email


@pytest.mark.parametrize(
    ("budget", "cap", "words"),
    [
        (Decimal("1e30"), None, "The budget can be at most $99,999,999.00."),
        (Decimal("NaN"), None, "The budget must be a finite amount."),
        (Decimal("-1"), None, "A budget cannot be negative."),
        (None, 2**40, "The cap can be at most 100,000."),
        (None, 0, "The cap must be at least 1."),
    ],
)
def test_limits_the_columns_cannot_hold_are_refused_by_the_service(
    studio: Studio, admin: int, budget: Decimal | None, cap: int | None, words: str
):
    """`veogen user set-limits` reaches the service without the page's checks (on PostgreSQL a raw DataError)."""
    dora = studio.accounts.add_user("dora", "a long enough password").id
    with pytest.raises(ValidationError) as refused:
        studio.accounts.set_limits(admin, dora, budget, cap)
    assert str(refused.value) == words
    with studio.sessions() as s:
        row = s.get(User, dora)
        assert (row.monthly_budget_usd, row.max_open_generations) == (None, None)


@pytest.mark.parametrize(
    ("value", "words"),
    [("A" * 257, "is 257 characters long; the limit is 256"), ("AIza\x00key", "invisible or control character")],
)
def test_credentials_too_long_or_with_control_characters_are_refused_by_the_service(
    studio: Studio, admin: int, value: str, words: str
):
    with pytest.raises(ValidationError, match=words):
        studio.accounts.set_team_credential(admin, "gemini_api_key", value)
    with pytest.raises(ValidationError, match=words):
        studio.accounts.set_personal_key(admin, value)
    assert not studio.accounts.personal_key(admin).is_set
