"""``veogen dashboard``: rq-dashboard for operators, behind basic auth, bound to loopback unless told otherwise.

rq-dashboard's own basic auth compares passwords with ``!=`` and its CLI runs
Flask's development server; here the dashboard blueprint gets our check
(constant-time comparison, always on) and is served by waitress. Jobs are read
with RQ's JSON serializer, the one VeoGen writes. Requeueing a job from the
dashboard is safe: a job only carries a generation id and its fencing token,
jobs never submit to a paid provider (admission in the scheduler does), and a
stale token makes the job do nothing. Changes (requeue, delete, empty) are
refused when the browser says they come from another site, and no page of the
dashboard can be framed. Imports flask, rq_dashboard and
waitress, lazily from the CLI; never streamlit or worker code.
"""

from __future__ import annotations

import hmac
import logging

from flask import Flask, Response, request
from rq.serializers import JSONSerializer

from core.config import Settings
from core.errors import ConfigurationError

log = logging.getLogger("veogen.dashboard")

REALM = "VeoGen queue"


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CHANGING_GET_PREFIXES = ("/requeue/",)
"""rq-dashboard paths that change state even on GET (``/requeue/<queue>`` requeues every failed job)."""


def _same(given: str | None, expected: str) -> bool:
    return hmac.compare_digest((given or "").encode(), expected.encode())


def _cross_site() -> bool:
    """Whether the browser says this request comes from another site.

    A browser sends basic-auth credentials it remembers with any request, so a
    page elsewhere could make an operator's browser requeue or empty queues.
    ``Sec-Fetch-Site`` (every current browser) decides; without it, ``Origin``
    then ``Referer`` must name this host. A request with none of them is not from
    a browser page (curl, a script) and cannot be forged cross-site.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    here = request.host_url.rstrip("/")
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.rstrip("/") != here
    referer = request.headers.get("Referer")
    if referer is not None:
        return not (referer == here or referer.startswith(here + "/"))
    return False


def make_app(settings: Settings) -> Flask:
    """The rq-dashboard Flask app for this studio's Redis, with basic auth on every request."""
    from rq_dashboard.cli import make_flask_app
    from rq_dashboard.web import config as dashboard_config
    from rq_dashboard.web import setup_rq_connection

    username = settings.dashboard_username
    password = settings.resolved_dashboard_password()
    if not username or not password:
        raise ConfigurationError("veogen dashboard needs VEOGEN_DASHBOARD_USERNAME and VEOGEN_DASHBOARD_PASSWORD")
    app = make_flask_app(None, None, None, url_prefix="")
    dashboard_config.serializer = JSONSerializer
    app.config["RQ_DASHBOARD_REDIS_URL"] = settings.resolved_redis_url()

    @app.before_request
    def _basic_auth() -> Response | None:
        auth = request.authorization
        # Both comparisons always run, so a wrong user and a wrong password take the same time.
        user_ok = _same(auth.username if auth else None, username)
        password_ok = _same(auth.password if auth else None, password)
        if auth is None or not (user_ok and password_ok):
            return Response(
                "Log in to the VeoGen queue dashboard.", 401, {"WWW-Authenticate": f'Basic realm="{REALM}"'}
            )
        changes = request.method not in SAFE_METHODS or request.path.startswith(CHANGING_GET_PREFIXES)
        if changes and _cross_site():
            log.warning("refused a cross-site %s %s", request.method, request.path)
            return Response("Changes to the queue must come from the dashboard's own pages.", 403)
        return None

    @app.after_request
    def _no_framing(response: Response) -> Response:
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        return response

    setup_rq_connection(app)
    return app


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the dashboard until the process is stopped."""
    import waitress

    app = make_app(settings)
    log.info("rq-dashboard on http://%s:%s (user %s)", host, port, settings.dashboard_username)
    waitress.serve(app, host=host, port=port, threads=4, ident="veogen-dashboard")
