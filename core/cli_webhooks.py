"""``veogen webhooks …``: the project webhook from the shell, and the receiver process.

``serve`` runs the receiver (``veogen up`` starts it); ``register --url``,
``rotate``, ``status`` and ``ping`` manage the webhook at Google through
``studio.webhooks``. A new signing secret is printed once; VeoGen keeps it
encrypted like the provider keys. Gemini API only (an API key must be set).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from core.config import get_settings
from core.db import upgrade_database
from core.errors import REFUSED_CONFIGURATION_EXIT
from core.services.webhooks import SecretView, WebhookOverview
from core.studio import Studio, build_studio


def _studio() -> Studio:
    settings = get_settings()
    upgrade_database(settings.resolved_database_url())
    return build_studio(settings)


def serve(args: argparse.Namespace) -> int:
    """Run the receiver until SIGTERM/SIGINT."""
    from core import metrics
    from core.logs import configure_logging
    from core.webhook_receiver import PATH, bind
    from core.webhook_receiver import serve as run

    settings = get_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, process="webhooks")
    host = args.host or settings.webhook_host
    port = args.port or settings.webhook_port
    studio = build_studio(settings)
    try:
        sock = bind(host, port)
    except OSError as exc:
        print(
            f"error: the webhook receiver cannot listen on {host}:{port} ({exc}); set VEOGEN_WEBHOOK_PORT",
            file=sys.stderr,
        )
        return REFUSED_CONFIGURATION_EXIT
    metrics.serve(settings.metrics_host, [settings.webhook_metrics_port])
    print(f"webhook receiver on http://{host}:{port}{PATH}", flush=True)
    run(studio.webhooks, sock, log_level=settings.log_level)
    return 0


def register(args: argparse.Namespace) -> int:
    issued = _studio().webhooks.register(args.url)
    print(f"webhook {issued.webhook_id} ({issued.action}) delivers to {issued.uri}; state {issued.state}")
    if issued.secret:
        print(f"signing secret (shown once; VeoGen keeps it encrypted): {issued.secret}")
    else:
        print("signing secret unchanged (`veogen webhooks rotate` makes a new one)")
    return 0


def rotate(_args: argparse.Namespace) -> int:
    issued = _studio().webhooks.rotate()
    print(f"webhook {issued.webhook_id}: new signing secret (shown once; VeoGen keeps it encrypted): {issued.secret}")
    if issued.previous_expires_at:
        print(f"the previous secret keeps verifying deliveries until {_when(issued.previous_expires_at)}")
    return 0


def ping(_args: argparse.Namespace) -> int:
    _studio().webhooks.ping()
    print("Google was asked to send a test delivery (counted as unknown_type when it arrives)")
    return 0


def status(_args: argparse.Namespace) -> int:
    """Print Google's state (read now), the address, the secrets and the deliveries received."""
    print(describe(_studio().webhooks.status()))
    return 0


def describe(o: WebhookOverview) -> str:
    """The overview as ``veogen webhooks status`` prints it."""
    if not o.registered:
        lines = ["webhooks: not registered (polling only); `veogen webhooks register --url https://…/webhooks/google`"]
    else:
        lines = [
            f"webhook:   {o.webhook_id} -> {o.uri}",
            f"state:     {o.state} (Google's answer at {_when(o.checked_at)})",
            f"healthy:   {'yes: polls slow down to the safety interval' if o.healthy else 'no: polling as usual'}",
            f"secrets:   {_secrets(o.secrets)}",
            f"at Google: {_secrets(o.google_secrets)}",
        ]
    if o.error:
        lines.append(f"last check failed: {o.error}")
    lines.append(f"receiver:  {'running' if o.receiver_alive else 'not running'}")
    counts = ", ".join(f"{name} {count}" for name, count in o.events.items())
    lines.append(f"received:  {counts}; last at {_when(o.last_event_at)}, last accepted at {_when(o.last_accepted_at)}")
    return "\n".join(lines)


def _secrets(secrets: tuple[SecretView, ...]) -> str:
    if not secrets:
        return "none"
    return ", ".join(
        f"{s.truncated} ({'current' if s.expires_at is None else 'until ' + _when(s.expires_at)})" for s in secrets
    )


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


def register_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``webhooks serve | register | rotate | status | ping`` under ``sub``."""
    hooks = sub.add_parser("webhooks", help="Google's completion events (Gemini API): receiver and registration")
    commands = hooks.add_subparsers(dest="webhooks_command", required=True)
    run = commands.add_parser("serve", help="run the webhook receiver (veogen up starts it)")
    run.add_argument("--host", default="", help="address to listen on (default: VEOGEN_WEBHOOK_HOST)")
    run.add_argument("--port", type=int, default=0, help="port (default: VEOGEN_WEBHOOK_PORT)")
    run.set_defaults(func=serve)
    reg = commands.add_parser("register", help="create (or update) the project webhook; prints a new secret once")
    reg.add_argument(
        "--url", required=True, help="the public HTTPS address, e.g. https://studio.example.com/webhooks/google"
    )
    reg.set_defaults(func=register)
    commands.add_parser("rotate", help="new signing secret (the old one works 24 h more)").set_defaults(func=rotate)
    commands.add_parser("status", help="Google's state of the webhook and the deliveries received").set_defaults(
        func=status
    )
    commands.add_parser("ping", help="ask Google to send a test delivery").set_defaults(func=ping)
