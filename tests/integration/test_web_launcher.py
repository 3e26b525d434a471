"""The web launcher (web.py) as `veogen up` starts it: framing headers on every answer, and uploads
to Streamlit only from someone logged in (issue 9, points 9 and 10).

A real studio (`veogen up` on the embedded default) is driven with plain HTTP, as bench.upload_memory
plays a visitor: the XSRF cookie, a page session over the WebSocket, then PUTs to Streamlit's upload
endpoint. Login cookies are issued through the studio's own services (``studio.accounts``) against
the running studio's data, as the login form does.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import requests

from bench.upload_memory import SETTLE_SECONDS, Visitor, held_upload_mb
from core.images import MAX_IMAGE_BYTES
from core.studio import Studio, build_studio
from tests.support import RunningStudio, make_settings, veogen_up

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "launcher-admin-password-1"
COOKIE = "veogen_auth"
FRAMING = {"Content-Security-Policy": "frame-ancestors 'self'", "X-Frame-Options": "SAMEORIGIN"}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStudio]:
    with veogen_up(tmp_path_factory.mktemp("launcher"), VEOGEN_ADMIN_PASSWORD=ADMIN_PASSWORD) as studio:
        yield studio


@pytest.fixture(scope="module")
def studio(running: RunningStudio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """The running studio's services, in this process (same database, same cookie key)."""
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith(("VEOGEN_", "DATABASE_URL", "REDIS_URL")):
                env.delenv(name)
        built = build_studio(make_settings(tmp_path_factory.mktemp("unused"), data_dir=running.data_dir))
    yield built
    built.engine.dispose()


def login_cookie(studio: Studio, username: str) -> str:
    token, _ = studio.accounts.issue_cookie(username)
    return token


def held_mb(running: RunningStudio, visitor: Visitor) -> float:
    """What Streamlit's upload manager holds for every session of the process, in MB (its metrics are
    recomputed at most every 5 s). Sessions of earlier tests keep theirs for a while after they close."""
    time.sleep(SETTLE_SECONDS)
    return held_upload_mb(visitor.http, running.url) or 0.0


def assert_not_framable(response: requests.Response) -> None:
    for name, value in FRAMING.items():
        assert response.headers.get(name) == value, (response.request.method, response.url, response.status_code, name)


def test_every_answer_forbids_framing_by_other_sites(running: RunningStudio) -> None:
    for path in ("/", "/_stcore/health", "/_stcore/host-config", "/gallery", "/no/such/page", "/_stcore/nothing"):
        assert_not_framable(requests.get(f"{running.url}{path}", timeout=10))
    refused = requests.put(f"{running.url}/_stcore/upload_file/no-session/no-file", data=b"x", timeout=10)
    assert refused.status_code == 401
    assert_not_framable(refused)


def test_an_anonymous_upload_is_refused_and_nothing_is_held(running: RunningStudio, studio: Studio) -> None:
    visitor = Visitor(running.url)
    with visitor.page() as session_id:  # the login page, never logged in
        before = held_mb(running, visitor)
        picture = os.urandom(2**20)
        assert visitor.upload(session_id, picture) == 401
        # The answer, not a connection closed under the client while it still sends the largest image.
        assert visitor.upload(session_id, os.urandom(MAX_IMAGE_BYTES)) == 401
        # A cookie we did not sign, or one signed with another key, is no login either.
        visitor.http.cookies.set(COOKIE, "not-a-cookie")
        assert visitor.upload(session_id, picture) == 401
        forged = login_cookie(studio, "admin")
        visitor.http.cookies.set(COOKIE, forged[:-4] + ("AAAA" if not forged.endswith("AAAA") else "BBBB"))
        assert visitor.upload(session_id, picture) == 401
        assert held_mb(running, visitor) == before


def test_a_logged_in_upload_is_taken_where_an_anonymous_one_is_not(running: RunningStudio, studio: Studio) -> None:
    visitor = Visitor(running.url)
    with visitor.page() as session_id:
        before = held_mb(running, visitor)
        picture = os.urandom(2**20)
        assert visitor.upload(session_id, picture) == 401
        visitor.http.cookies.set(COOKIE, login_cookie(studio, "admin"))
        assert visitor.upload(session_id, picture) == 204
        assert held_mb(running, visitor) - before == pytest.approx(1.0, abs=0.01)


def test_a_revoked_cookie_uploads_nothing(running: RunningStudio, studio: Studio) -> None:
    admin = studio.accounts.by_username("admin")
    user, _ = studio.accounts.create_user(admin.id, "leaver", "creator")
    cookie = login_cookie(studio, "leaver")
    visitor = Visitor(running.url)
    with visitor.page() as session_id:
        visitor.http.cookies.set(COOKIE, cookie)
        assert visitor.upload(session_id, b"\0" * 1024) == 204
        time.sleep(0.01)
        studio.accounts.logout(user.id)  # every session of the user ends, copied cookies included
        assert visitor.upload(session_id, b"\0" * 1024) == 401
        visitor.http.cookies.set(COOKIE, login_cookie(studio, "leaver"))  # logging in again works
        assert visitor.upload(session_id, b"\0" * 1024) == 204
        studio.accounts.set_disabled(admin.id, user.id, True)
        assert visitor.upload(session_id, b"\0" * 1024) == 401


def test_a_page_session_holds_at_most_six_of_the_largest_images(running: RunningStudio, studio: Studio) -> None:
    visitor = Visitor(running.url)
    with visitor.page() as session_id:
        visitor.http.cookies.set(COOKIE, login_cookie(studio, "admin"))
        before = held_mb(running, visitor)
        largest = os.urandom(MAX_IMAGE_BYTES)
        answers = [visitor.upload(session_id, largest) for _ in range(7)]
        assert answers == [204] * 6 + [413]
        assert held_mb(running, visitor) - before == pytest.approx(6 * MAX_IMAGE_BYTES / 2**20, abs=0.01)
        # Removing a file (the browser's DELETE) makes room again.
        removed = visitor.http.delete(
            f"{running.url}/_stcore/upload_file/{session_id}/{visitor.uploaded[0]}",
            headers={"X-Xsrftoken": visitor.xsrf or ""},
            timeout=10,
        )
        assert removed.status_code == 204
        assert visitor.upload(session_id, largest) == 204
