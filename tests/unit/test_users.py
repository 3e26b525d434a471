"""core.services.users: what a user record may hold (names, emails)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.errors import ValidationError
from core.models import User
from core.studio import Studio


@pytest.fixture
def admin(studio: Studio) -> int:
    return studio.create_user("boss", "an admin's long secret", role="admin").id


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
