"""``veogen dashboard``: rq-dashboard for operators, behind basic auth, bound to loopback unless told otherwise.

rq-dashboard's own basic auth compares passwords with ``!=`` and its CLI runs
Flask's development server; here the dashboard blueprint gets our check
(constant-time comparison, always on) and is served by waitress. Jobs are read
with RQ's JSON serializer, the one VeoGen writes. Requeueing a job from the
dashboard is safe: a job only carries a generation id and its fencing token,
jobs never submit to a paid provider (admission in the scheduler does), and a
stale token makes the job do nothing. Imports flask, rq_dashboard and
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


def _same(given: str | None, expected: str) -> bool:
    return hmac.compare_digest((given or "").encode(), expected.encode())


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
        return None

    setup_rq_connection(app)
    return app


def serve(settings: Settings, host: str, port: int) -> None:
    """Serve the dashboard until the process is stopped."""
    import waitress

    app = make_app(settings)
    log.info("rq-dashboard on http://%s:%s (user %s)", host, port, settings.dashboard_username)
    waitress.serve(app, host=host, port=port, threads=4, ident="veogen-dashboard")
