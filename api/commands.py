"""``veogen generate`` and ``veogen batch``: the studio from a terminal or a script, over the REST API.

Both talk HTTP to the API (``--api-url``, by default ``http://VEOGEN_API_HOST:VEOGEN_API_PORT``)
with a personal access token (``--token``, or the ``VEOGEN_TOKEN`` environment
variable); prices come from the API (``POST /v1/quotes``), and every rule — model
limits, budget, cap, the repeat rule — is the studio's. Registered in core/cli.py
by import string (core never imports ``api``); httpx and rich load only when a
command runs.

Exit codes (``EXIT_*``): 0 done; 1 a generation ended without a video; 2 bad
arguments or a bad CSV row (named); 3 the API refused (token, budget, a model's
rules, rate limit), its sentence printed; 4 the API could not be reached; 5 not
confirmed (declined, or no terminal to ask and no ``--yes``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from api.client import StudioClient

EXIT_OK = 0
EXIT_NOT_MADE = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3
EXIT_UNREACHABLE = 4
EXIT_NOT_CONFIRMED = 5

TOKEN_VARIABLE = "VEOGEN_TOKEN"  # noqa: S105  (the variable's name, not a secret)
"""The environment variable the CLI reads the API token from when ``--token`` is not given."""

POLL_SECONDS = 1.0
"""How often a waiting command asks the API about its generations, in seconds."""

STAGES = ("queued", "submitting", "running", "fetching", "processing", "succeeded")
"""A generation's way to a video, in order: what the progress bar counts."""

FINAL = frozenset({"succeeded", "failed", "filtered", "canceled"})

EXIT_CODES = (
    "exit codes: 0 done; 1 a generation ended without a video; 2 bad arguments or a bad CSV row; "
    "3 refused by the studio (token, budget, a model's rules, rate limit); 4 the API could not be reached; "
    "5 not confirmed (add --yes in scripts)"
)
"""What ``--help`` says about the exit codes."""

MODES_BY_ROLES = {
    frozenset({"first_frame"}): "image",
    frozenset({"first_frame", "last_frame"}): "frames",
    frozenset({"reference"}): "reference",
}
"""The mode a set of image roles asks for (``--image ROLE=PATH``)."""


class Stop(Exception):
    """End the command with ``code`` after printing ``message``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def default_api_url() -> str:
    """Where ``veogen api`` listens by the settings (a wildcard host is reached on loopback)."""
    from core.config import get_settings

    settings = get_settings()
    host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "", "::") else settings.api_host  # noqa: S104
    return f"http://{host}:{settings.api_port}"


def _connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-url", default="", help="the API (default: http://VEOGEN_API_HOST:VEOGEN_API_PORT)")
    parser.add_argument("--token", default="", help=f"a personal access token (default, and safer: ${TOKEN_VARIABLE})")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask before paying (for scripts)")


def register_commands(sub: Any) -> None:
    """Add ``generate`` and ``batch`` to the ``veogen`` command's subparsers."""
    gen = sub.add_parser(
        "generate", help="make a video through the studio's API (prints the price first)", epilog=EXIT_CODES
    )
    gen.add_argument("prompt", help="what the video shows")
    gen.add_argument("--model", required=True, help="a model id (GET /v1/models)")
    gen.add_argument("--seconds", type=int, default=None, help="length in seconds (default: the model's)")
    gen.add_argument("--resolution", default=None, help="e.g. 720p")
    gen.add_argument("--aspect", default=None, help="aspect ratio, e.g. 16:9")
    gen.add_argument("--negative", default=None, help="what the video should not show")
    gen.add_argument("--samples", type=int, default=None, help="videos to make (default 1)")
    gen.add_argument(
        "--image", action="append", default=[], metavar="ROLE=PATH", help="first_frame, last_frame or reference"
    )
    gen.add_argument("--wait", action="store_true", help="wait for the video, with a progress bar")
    gen.add_argument("--out", type=Path, default=None, help="download the video here (implies --wait)")
    gen.add_argument("--idempotency-key", default="", help="the same key again returns the same generation")
    _connection(gen)
    gen.set_defaults(func=lambda args: _run(_generate, args))
    from api.batch import BATCH_COLUMNS, run_batch

    batch = sub.add_parser(
        "batch", help="one generation per CSV row; the total price is confirmed first", epilog=EXIT_CODES
    )
    batch.add_argument("file", type=Path, help=f"CSV with columns {', '.join(BATCH_COLUMNS)}")
    batch.add_argument("--wait", action="store_true", help="wait until every generation has ended")
    batch.add_argument("--report", type=Path, default=None, help="also write the report to this CSV file")
    _connection(batch)
    batch.set_defaults(func=lambda args: _run(run_batch, args))


def _run(command: Any, args: argparse.Namespace) -> int:
    from rich.console import Console

    from api.client import ApiError, StudioClient, Unreachable

    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    token = args.token or os.environ.get(TOKEN_VARIABLE, "")
    if not token:
        err.print(f"error: no token: pass --token or set {TOKEN_VARIABLE} (make one on your Account page)")
        return EXIT_BAD_INPUT
    try:
        with StudioClient(args.api_url or default_api_url(), token) as client:
            code: int = command(client, args, out)
            return code
    except Stop as stop:
        err.print(f"error: {stop}", markup=False)
        return stop.code
    except ApiError as exc:
        err.print(f"refused ({exc.status}): {exc.detail}", markup=False)
        return EXIT_REFUSED
    except Unreachable as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_UNREACHABLE


def money(value: Any) -> str:
    return f"${Decimal(value):,.2f}"


def confirm(question: str, args: argparse.Namespace, out: Console) -> None:
    """Go on if ``--yes`` was given or the person answers yes; else stop with EXIT_NOT_CONFIRMED."""
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise Stop(EXIT_NOT_CONFIRMED, f"{question} Not asked without a terminal: add --yes to go on.")
    from rich.prompt import Confirm

    if not Confirm.ask(question, console=out, default=False):
        raise Stop(EXIT_NOT_CONFIRMED, "Not confirmed; nothing was submitted.")


def _images(specs: list[str]) -> list[tuple[str, Path]]:
    images = []
    for spec in specs:
        role, _, path = spec.partition("=")
        if role not in ("first_frame", "last_frame", "reference") or not path:
            raise Stop(
                EXIT_BAD_INPUT, f"--image {spec!r}: write ROLE=PATH, ROLE one of first_frame, last_frame, reference."
            )
        if not Path(path).is_file():
            raise Stop(EXIT_BAD_INPUT, f"--image {spec!r}: there is no file {path}.")
        images.append((role, Path(path)))
    return images


def _generate(client: StudioClient, args: argparse.Namespace, out: Console) -> int:
    from api.client import ApiError

    images = _images(args.image)
    request: dict[str, Any] = {"model": args.model, "prompt": args.prompt}
    for field, value in (
        ("duration_seconds", args.seconds),
        ("resolution", args.resolution),
        ("aspect_ratio", args.aspect),
        ("negative_prompt", args.negative),
        ("sample_count", args.samples),
    ):
        if value is not None:
            request[field] = value
    if images:
        roles = frozenset(role for role, _ in images)
        if roles not in MODES_BY_ROLES:
            raise Stop(EXIT_BAD_INPUT, "Send a first_frame (and maybe a last_frame), or reference images alone.")
        request["mode"] = MODES_BY_ROLES[roles]
    out.print(f"Price: {money(client.quote(request, images))} ({args.model}), reserved from your budget on submit.")
    key = args.idempotency_key or hashlib.sha256(os.urandom(16)).hexdigest()[:32]
    try:
        made = client.submit(request, idempotency_key=key, images=images)
    except ApiError as exc:
        if exc.slug != "confirm-repeat":
            raise
        out.print(exc.detail, markup=False)
        confirm("Pay for another one?", args, out)
        made = client.submit({**request, "confirm_repeat": True}, idempotency_key=key, images=images)
    generation = made.generation
    out.print(f"{'Submitted' if made.created else 'Already submitted'}: {generation['id']} ({generation['status']})")
    if not (args.wait or args.out):
        return EXIT_OK
    generation = wait_for(client, [generation["id"]], out)[0]
    out.print(f"{generation['id']}: {generation['status']}, cost {money(generation['cost_usd'] or 0)}")
    if generation["status"] != "succeeded":
        out.print(generation.get("error_message") or ", ".join(generation.get("safety_reasons") or []), markup=False)
        return EXIT_NOT_MADE
    if args.out:
        for video in generation["videos"]:
            index = video["index"]
            target = args.out if index == 0 else args.out.with_name(f"{args.out.stem}-{index + 1}{args.out.suffix}")
            download(client, generation["id"], index, target, out)
    return EXIT_OK


def wait_for(client: StudioClient, ids: list[str], out: Console) -> list[dict[str, Any]]:
    """Poll the generations until each has ended, a progress bar per generation by stage; their final JSON."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    last: dict[str, dict[str, Any]] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=out,
    ) as bar:
        tasks = {gid: bar.add_task(gid[:12], total=len(STAGES) - 1, status="queued") for gid in ids}
        while len(last) < len(ids) or any(g["status"] not in FINAL for g in last.values()):
            for gid in ids:
                if gid in last and last[gid]["status"] in FINAL:
                    continue
                last[gid] = found = client.generation(gid)
                status = found["status"]
                done = STAGES.index(status) if status in STAGES else len(STAGES) - 1
                bar.update(tasks[gid], completed=done, status=status)
            if any(g["status"] not in FINAL for g in last.values()):
                time.sleep(POLL_SECONDS)
    return [last[gid] for gid in ids]


def download(client: StudioClient, generation_id: str, index: int, target: Path, out: Console) -> None:
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    with Progress(*Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(), console=out) as bar:
        task = bar.add_task(target.name, total=None)
        written = client.download(
            generation_id, index, target, lambda done, total: bar.update(task, completed=done, total=total or None)
        )
    out.print(f"Saved {target} ({written:,} bytes)")
