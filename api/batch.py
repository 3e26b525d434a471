"""``veogen batch prompts.csv``: one generation per row, the total confirmed first, never paid twice.

The file's columns are ``BATCH_COLUMNS``; every row is checked before anything
is submitted (its form here, its model's rules by the API's quote), and the
first bad one is named. Each row is submitted under an Idempotency-Key made
from the file's name, the row's place and what it asks, so running the file
again (or after fixing one row) answers what was made instead of paying again.
The report lists each row's generation, status, price and cost. Exit codes as
in api/commands.py.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.commands import EXIT_BAD_INPUT, EXIT_NOT_MADE, EXIT_OK, EXIT_REFUSED, Stop, confirm, money, wait_for

if TYPE_CHECKING:
    from rich.console import Console

    from api.client import StudioClient, Submitted

BATCH_COLUMNS = ("prompt", "model", "seconds", "resolution", "aspect_ratio")
"""The columns of a batch file; ``prompt`` and ``model`` are required in every row."""

MAX_BATCH_ROWS = 500
"""Most rows one batch file may hold."""


@dataclass(frozen=True)
class Row:
    """One row of a batch file: its number (the first data row is 1), its request and its idempotency key."""

    number: int
    request: dict[str, Any]
    key: str


def read_batch(path: Path) -> list[Row]:
    """The batch file's rows as requests, each checked for form; a ``Stop`` names the first bad row."""
    if not path.is_file():
        raise Stop(EXIT_BAD_INPUT, f"There is no file {path}.")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            unknown = sorted(set(reader.fieldnames or ()) - set(BATCH_COLUMNS))
            missing = [c for c in ("prompt", "model") if c not in (reader.fieldnames or ())]
            if unknown or missing:
                raise Stop(
                    EXIT_BAD_INPUT,
                    f"{path.name}: the header must name the columns {', '.join(BATCH_COLUMNS)} "
                    f"(prompt and model required)"
                    + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                    + (f"; missing: {', '.join(missing)}" if missing else "")
                    + ".",
                )
            rows = [_row(path, number, raw) for number, raw in enumerate(reader, start=1)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise Stop(EXIT_BAD_INPUT, f"{path.name} is not a readable UTF-8 CSV file ({exc}).") from None
    if not rows:
        raise Stop(EXIT_BAD_INPUT, f"{path.name} has no rows.")
    if len(rows) > MAX_BATCH_ROWS:
        raise Stop(EXIT_BAD_INPUT, f"{path.name} has {len(rows)} rows; a batch holds at most {MAX_BATCH_ROWS}.")
    return rows


def _row(path: Path, number: int, raw: dict[str, Any]) -> Row:
    def bad(message: str) -> Stop:
        return Stop(EXIT_BAD_INPUT, f"{path.name}, row {number}: {message}")

    if None in raw:
        raise bad("it has more cells than the header has columns.")
    values = {k: (v or "").strip() for k, v in raw.items()}
    if not values.get("prompt"):
        raise bad("the prompt is empty.")
    if not values.get("model"):
        raise bad("the model is empty.")
    request: dict[str, Any] = {"model": values["model"], "prompt": values["prompt"]}
    if values.get("seconds"):
        if not values["seconds"].isdigit():
            raise bad(f"seconds must be a whole number, not {values['seconds'][:20]!r}.")
        request["duration_seconds"] = int(values["seconds"])
    for column in ("resolution", "aspect_ratio"):
        if values.get(column):
            request[column] = values[column]
    # The row's key: this file's name, the row's place and what it asks, so a re-run (or a run after
    # another row was fixed) answers what was made instead of paying again.
    identity = "\x1f".join([path.name, str(number), *(f"{k}={request[k]}" for k in sorted(request))])
    return Row(number, request, "batch-" + hashlib.sha256(identity.encode()).hexdigest()[:40])


def run_batch(client: StudioClient, args: argparse.Namespace, out: Console) -> int:
    """Check and price every row, show the total and ask, submit each row under its key, then report."""
    from rich.table import Table

    from api.client import ApiError

    rows = read_batch(args.file)
    prices = {}
    for row in rows:
        try:
            prices[row.number] = client.quote(row.request)
        except ApiError as exc:
            if exc.status != 422:
                raise
            raise Stop(EXIT_BAD_INPUT, f"{args.file.name}, row {row.number}: {exc.detail}") from None
    plan = Table(title=f"{args.file.name}: {len(rows)} generations")
    for column in ("row", "model", "seconds", "prompt", "price"):
        plan.add_column(column, justify="right" if column in ("row", "seconds", "price") else "left")
    for row in rows:
        plan.add_row(
            str(row.number),
            row.request["model"],
            str(row.request.get("duration_seconds", "")),
            row.request["prompt"][:60],
            money(prices[row.number]),
        )
    out.print(plan)
    total = sum(prices.values(), Decimal(0))
    out.print(f"Total: {money(total)} (rows made by an earlier run of this file are not paid again)")
    confirm(f"Submit {len(rows)} generations for {money(total)}?", args, out)
    results: dict[int, tuple[str, Submitted | None]] = {}
    for row in rows:
        try:
            try:
                made = client.submit(row.request, idempotency_key=row.key)
            except ApiError as exc:
                if exc.slug != "confirm-repeat":
                    raise
                # The total was confirmed with this row in it: paying for it again is what was asked.
                made = client.submit({**row.request, "confirm_repeat": True}, idempotency_key=row.key)
            results[row.number] = ("made" if made.created else "made before", made)
        except ApiError as exc:
            results[row.number] = (f"refused: {exc.detail}", None)
    ids = [m.generation["id"] for _, m in results.values() if m is not None]
    final = {g["id"]: g for g in wait_for(client, ids, out)} if args.wait and ids else {}
    return _report(args, rows, results, final, out)


def _report(
    args: argparse.Namespace,
    rows: list[Row],
    results: dict[int, tuple[str, Submitted | None]],
    final: dict[str, dict[str, Any]],
    out: Console,
) -> int:
    from rich.table import Table

    lines = []
    for row in rows:
        note, made = results[row.number]
        generation = final.get(made.generation["id"], made.generation) if made else None
        lines.append(
            {
                "row": row.number,
                "id": generation["id"] if generation else "",
                "status": generation["status"] if generation else "not submitted",
                "price_usd": generation["price_usd"] if generation else "",
                "cost_usd": (generation["cost_usd"] or "") if generation else "",
                "note": note,
            }
        )
    table = Table(title="What was made")
    for column in lines[0]:
        table.add_column(column, overflow="fold")  # an id is shown whole, to be copied
    for line in lines:
        shown = {**line, **{k: money(line[k]) for k in ("price_usd", "cost_usd") if line[k] != ""}}
        table.add_row(*(str(v) for v in shown.values()))
    out.print(table)
    if args.report:
        with args.report.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(lines[0]))
            writer.writeheader()
            writer.writerows(lines)
        out.print(f"Report written to {args.report}")
    if any(line["status"] == "not submitted" for line in lines):
        return EXIT_REFUSED
    if final and any(g["status"] != "succeeded" for g in final.values()):
        return EXIT_NOT_MADE
    return EXIT_OK
