"""Seed a PostgreSQL database with a year of history for the Analytics bench: users, generations, ledger.

Everything is generated inside PostgreSQL (``INSERT … SELECT FROM generate_series``),
in creation order as a live studio appends it, with a fixed random seed:

- ``--users`` users (default 50): one admin, the rest creators; a few heavy users
  make most of the generations; most have a budget of their own of about 1.2–2×
  what they commit in a typical month, the rest use the studio default.
- ``--n`` generations (default 1,000,000) over the ``--days`` days (default 365)
  before now, busier towards the present, with the model mix shifting from
  Veo 2/3 to Veo 3.1 over the year; 86% succeeded, 5% filtered, 6% failed
  (a third of those before reaching the provider), 3% canceled; the last
  minutes' generations are still open. Queue and provider times are drawn per
  model (exponential tails); prices follow core.catalog.
- Ledger entries as the services write them: a reserve per generation, then a
  settle (``charged_usd`` = real cost, now and then below the price) or a release.
  One extra generation per hundred is deleted afterwards, as a user would, so
  some entries have no generation left (their spend must still count).

No events or videos: the Analytics page reads neither. Then ``VACUUM (ANALYZE)``, and
the days that are over are sealed into the rollups (core.services.rollups.seal_history),
as a live studio would have done day by day; its time is printed (it is what the first
Analytics page load pays on a studio upgraded with a year of history).

The database (default ``veogen_bench`` on 127.0.0.1, created if missing and migrated
with core.db.upgrade_database) must have ``bench`` in its name: its tables are
emptied first. A database already seeded with the same parameters is left as it
is (the parameters are kept as the database's comment) unless ``--force``.

Run from the repository root::

    .venv/bin/python -m bench.seed_history [--n 1000000] [--users 50] [--days 365] [--force]
"""

from __future__ import annotations

import argparse
import time

import psycopg
from sqlalchemy.engine import URL, make_url

from core.db import make_engine, make_sessionmaker, upgrade_database
from core.services.rollups import seal_history

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/veogen_bench"
"""The bench's own database; dropped by nothing here, emptied on a (re)seed."""

RANDOM_SEED = 0.42
"""PostgreSQL ``setseed`` value, so two seeds with the same parameters hold the same rows."""

DELETED_PER_HUNDRED = 1
"""Extra generations per hundred that are written, charged and then deleted (their entries stay)."""

TABLES = (
    "ledger_entries, events, videos, generation_inputs, generations, login_throttle, app_secrets, users,"
    " rollup_generations, rollup_durations, rollup_spend, rollup_budget"
)

USERS_SQL = """
INSERT INTO users (id, username, name, email, password_hash, role, disabled, must_change_password, created_at)
SELECT u, CASE WHEN u = 1 THEN 'admin' ELSE format('creator-%%s', lpad(u::text, 2, '0')) END,
       format('Bench user %%s', u), format('user%%s@bench.example', u),
       '!', CASE WHEN u = 1 THEN 'admin' ELSE 'creator' END, false, false,
       %(anchor)s::timestamptz - interval '400 days'
FROM generate_series(1, %(users)s) AS u
"""

USERS_SEQUENCE_SQL = "SELECT setval(pg_get_serial_sequence('users', 'id'), %(users)s)"


# Columns drawn per row: r_* are uniform [0, 1); age is days before the anchor, busier towards now.
GENERATIONS_SQL = """
WITH drawn AS (
    SELECT g,
           1 + floor(%(users)s * power(random(), 1.8))::int AS user_id,
           %(days)s * power(random(), 1.25) AS age_days,
           random() AS r_model, random() AS r_status, random() AS r_res, random() AS r_dur,
           random() AS r_samples, random() AS r_cost, random() AS r_fail,
           -ln(1 - random()) AS e_queue, -ln(1 - random()) AS e_provider, -ln(1 - random()) AS e_post,
           random() AS r_backlog
    FROM generate_series(1, %(total)s) AS g
), modelled AS (
    SELECT d.*, %(anchor)s::timestamptz - d.age_days * interval '1 day' AS created,
           CASE
               WHEN d.r_model < 0.38 THEN CASE WHEN d.age_days > 240 THEN 'veo-3.0-fast-generate-001'
                                               ELSE 'veo-3.1-fast-generate-001' END
               WHEN d.r_model < 0.58 THEN CASE WHEN d.age_days > 240 THEN 'veo-3.0-generate-001'
                                               ELSE 'veo-3.1-generate-001' END
               WHEN d.r_model < 0.68 THEN CASE WHEN d.age_days > 240 THEN 'veo-2.0-generate-001'
                                               ELSE 'veo-3.1-lite-generate-preview' END
               WHEN d.r_model < 0.78 THEN 'veo-3.0-fast-generate-001'
               WHEN d.r_model < 0.86 THEN 'veo-3.0-generate-001'
               WHEN d.r_model < 0.91 THEN 'veo-2.0-generate-001'
               ELSE 'offline-preview'
           END AS model,
           CASE WHEN d.r_dur < 0.3 THEN 4 WHEN d.r_dur < 0.6 THEN 6 ELSE 8 END AS seconds,
           CASE WHEN d.r_samples < 0.9 THEN 1 ELSE 2 END AS samples
    FROM drawn d
), priced AS (
    SELECT m.*,
           CASE
               WHEN m.model = 'offline-preview' THEN CASE WHEN m.r_res < 0.7 THEN '240p' ELSE '360p' END
               WHEN m.model = 'veo-2.0-generate-001' THEN '720p'
               WHEN m.r_res < 0.60 THEN '720p'
               WHEN m.r_res < 0.95 OR m.model NOT IN ('veo-3.1-generate-001', 'veo-3.1-fast-generate-001') THEN '1080p'
               ELSE '4k'
           END AS res,
           CASE
               WHEN m.age_days * 1440 < 3 THEN
                   (ARRAY['queued', 'submitting', 'running', 'running'])[1 + floor(m.r_status * 4)::int]
               WHEN m.r_status < 0.86 THEN 'succeeded'
               WHEN m.r_status < 0.91 THEN 'filtered'
               WHEN m.r_status < 0.97 THEN 'failed'
               ELSE 'canceled'
           END AS status,
           (0.5 + m.e_queue * 8) * CASE WHEN m.r_backlog < 0.02 THEN 12 ELSE 1 END AS queue_s,
           CASE
               WHEN m.model = 'offline-preview' THEN 0.5 + m.e_provider
               WHEN m.model LIKE '%%lite%%' THEN 25 + m.e_provider * 15
               WHEN m.model LIKE '%%fast%%' THEN 35 + m.e_provider * 25
               WHEN m.model LIKE 'veo-2%%' THEN 60 + m.e_provider * 40
               ELSE 70 + m.e_provider * 60
           END AS provider_s,
           2 + m.e_post * 3 AS post_s
    FROM modelled m
), timed AS (
    SELECT p.*,
           round(p.seconds * p.samples * CASE p.model
               WHEN 'veo-3.1-generate-001' THEN CASE p.res WHEN '4k' THEN 0.60 ELSE 0.40 END
               WHEN 'veo-3.1-fast-generate-001' THEN
                   CASE p.res WHEN '720p' THEN 0.10 WHEN '1080p' THEN 0.12 ELSE 0.30 END
               WHEN 'veo-3.1-lite-generate-preview' THEN CASE p.res WHEN '720p' THEN 0.05 ELSE 0.08 END
               WHEN 'veo-3.0-generate-001' THEN 0.40
               WHEN 'veo-3.0-fast-generate-001' THEN 0.15
               WHEN 'veo-2.0-generate-001' THEN 0.35
               ELSE 0 END, 4) AS price,
           p.status = 'canceled' OR p.status = 'queued' OR (p.status = 'failed' AND p.r_fail < 0.33) AS unsent,
           p.status IN ('succeeded', 'filtered', 'failed') AND NOT (p.status = 'failed' AND p.r_fail < 0.33)
               AS provider_done
    FROM priced p
)
INSERT INTO generations (
    id, user_id, status, provider, model, prompt, negative_prompt, duration_seconds, aspect_ratio, resolution,
    seed, sample_count, idempotency_key, mode, request_hash, submitted_at, provider_done_at, operation_name,
    job_seq, poll_count, retry_count, price_usd, cost_usd, error_code, error_message, safety_reasons,
    created_at, updated_at, finished_at
)
SELECT md5('generation-' || t.g), t.user_id, t.status,
       CASE WHEN t.model = 'offline-preview' THEN 'offline' ELSE 'veo' END, t.model,
       format('Bench prompt %%s: a paper boat drifting down a rainy street at dusk, slow dolly, cinematic light', t.g),
       '', t.seconds, CASE WHEN t.r_res < 0.8 THEN '16:9' ELSE '9:16' END, t.res,
       NULL, t.samples, CASE WHEN t.g > %(n)s THEN 'deleted-' ELSE 'kept-' END || t.g,
       'text', md5('request-' || t.g) || md5('hash-' || t.g),
       CASE WHEN t.unsent THEN NULL ELSE t.created + t.queue_s * interval '1 second' END,
       CASE WHEN t.provider_done THEN t.created + (t.queue_s + t.provider_s) * interval '1 second' END,
       CASE WHEN t.unsent THEN NULL ELSE 'models/' || t.model || '/operations/' || md5('op-' || t.g) END,
       1, CASE WHEN t.unsent THEN 0 ELSE 1 + floor(t.provider_s / 10)::int END, 0,
       t.price,
       CASE WHEN t.status = 'succeeded' THEN CASE WHEN t.r_cost < 0.08 THEN round(t.price * 0.75, 4) ELSE t.price END
            WHEN t.status IN ('filtered', 'failed', 'canceled') THEN 0 END,
       CASE t.status WHEN 'failed' THEN CASE WHEN t.unsent THEN 'invalid_argument' ELSE 'provider_error' END END,
       CASE t.status WHEN 'failed' THEN 'The provider could not make this video.' END,
       CASE t.status WHEN 'filtered' THEN '["The prompt could not be submitted."]'::json END,
       t.created,
       t.created + (t.queue_s + t.provider_s + t.post_s) * interval '1 second',
       CASE
           WHEN t.status IN ('queued', 'submitting', 'running') THEN NULL
           WHEN t.status = 'canceled' THEN t.created + t.queue_s * interval '1 second'
           WHEN t.unsent THEN t.created + t.queue_s * interval '1 second'
           WHEN t.status = 'succeeded' THEN t.created + (t.queue_s + t.provider_s + t.post_s) * interval '1 second'
           ELSE t.created + (t.queue_s + t.provider_s) * interval '1 second'
       END
FROM timed t
ORDER BY t.created;
"""

LEDGER_SQL = """
INSERT INTO ledger_entries (generation_id, user_id, kind, period, amount_usd, model, charged_usd, created_at)
SELECT generation_id, user_id, kind, period, amount_usd, model, charged_usd, created_at FROM (
    SELECT id AS generation_id, user_id, 'reserve' AS kind, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS period,
           price_usd AS amount_usd, model, NULL::numeric AS charged_usd, created_at
    FROM generations
    UNION ALL
    SELECT id, user_id, 'settle', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM'),
           cost_usd - price_usd, model, cost_usd, finished_at
    FROM generations WHERE status = 'succeeded'
    UNION ALL
    SELECT id, user_id, 'release', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM'),
           -price_usd, model, NULL, finished_at
    FROM generations WHERE status IN ('filtered', 'failed', 'canceled')
) AS entries
ORDER BY created_at;
"""

# Most users get a budget of their own: 1.2–2× their typical month, in $50 steps; every seventh uses the default.
BUDGETS_SQL = """
UPDATE users SET monthly_budget_usd = b.budget
FROM (
    SELECT user_id, greatest(50, ceil(percentile_cont(0.5) WITHIN GROUP (ORDER BY spent)
                                     * (1.2 + (user_id %% 5) * 0.2) / 50) * 50) AS budget
    FROM (SELECT user_id, period, sum(amount_usd) AS spent FROM ledger_entries GROUP BY user_id, period) AS m
    GROUP BY user_id
) AS b
WHERE users.id = b.user_id AND users.id %% 7 <> 3;
"""


def seed_label(n: int, users: int, days: int) -> str:
    return f"veogen analytics seed: n={n} users={users} days={days} seed={RANDOM_SEED}"


def admin_url(url: URL) -> str:
    return url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


def libpq_url(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_database(url: URL) -> None:
    """Create the database if it does not exist, then migrate it to head."""
    name = url.database or ""
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
    upgrade_database(url.render_as_string(hide_password=False))


def current_label(url: URL) -> str | None:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (url.database,)
        ).fetchone()
    return row[0] if row else None


def seed(url: URL, *, n: int, users: int, days: int) -> dict[str, float]:
    """Empty the tables and write the history; return seconds per step."""
    params = {"n": n, "total": n + n * DELETED_PER_HUNDRED // 100, "users": users, "days": days}
    steps: dict[str, float] = {}
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET maintenance_work_mem = '256MB'")
        anchor = conn.execute("SELECT date_trunc('second', now())").fetchone()[0]  # type: ignore[index]
        params["anchor"] = anchor
        for step, sql in (
            ("empty tables", f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"),
            ("users", USERS_SQL),
            ("user id sequence", USERS_SEQUENCE_SQL),
            ("generations", GENERATIONS_SQL),
            ("ledger entries", LEDGER_SQL),
            ("deleted generations", "DELETE FROM generations WHERE idempotency_key LIKE 'deleted-%%'"),
            ("budgets", BUDGETS_SQL),
        ):
            started = time.perf_counter()
            if step == "generations":
                conn.execute("SELECT setseed(%s)", (RANDOM_SEED,))
            conn.execute(sql, params if "%" in sql else None)
            steps[step] = time.perf_counter() - started
            print(f"  {step:<20} {steps[step]:7.1f} s")
        conn.execute(f"COMMENT ON DATABASE \"{url.database}\" IS '{seed_label(n, users, days)}'")
        conn.commit()
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) users, generations, ledger_entries")
    steps["vacuum analyze"] = time.perf_counter() - started
    print(f"  {'vacuum analyze':<20} {steps['vacuum analyze']:7.1f} s")
    started = time.perf_counter()
    engine = make_engine(url.render_as_string(hide_password=False))
    with make_sessionmaker(engine)() as session, session.begin():
        seal_history(session=session)
    engine.dispose()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) rollup_generations, rollup_durations, rollup_spend, rollup_budget")
    steps["seal days"] = time.perf_counter() - started
    print(f"  {'seal days':<20} {steps['seal days']:7.1f} s")
    return steps


def counts(url: URL) -> tuple[int, int, int]:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM generations),"
            " (SELECT count(*) FROM ledger_entries)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL database whose name contains 'bench'")
    parser.add_argument("--n", type=int, default=1_000_000, help="generations to keep (default 1,000,000)")
    parser.add_argument("--users", type=int, default=50, help="users (default 50)")
    parser.add_argument("--days", type=int, default=365, help="days of history before now (default 365)")
    parser.add_argument("--force", action="store_true", help="reseed even if the database holds this seed")
    args = parser.parse_args(argv)

    url = make_url(args.database_url)
    if not url.drivername.startswith("postgresql") or "bench" not in (url.database or ""):
        raise SystemExit(f"--database-url must name a PostgreSQL database with 'bench' in its name: {url}")
    if args.n < 1 or args.users < 2 or args.days < 1:
        raise SystemExit("--n ≥ 1, --users ≥ 2 and --days ≥ 1, please")
    ensure_database(url)
    label = seed_label(args.n, args.users, args.days)
    if not args.force and current_label(url) == label:
        users, generations, entries = counts(url)
        print(
            f"{url.database} already holds this seed ({label}): {users} users, {generations} generations,"
            f" {entries} ledger entries. --force reseeds."
        )
        return 0
    print(f"seeding {url.database}: {label}")
    started = time.perf_counter()
    seed(url, n=args.n, users=args.users, days=args.days)
    users, generations, entries = counts(url)
    print(
        f"done in {time.perf_counter() - started:.1f} s: {users} users, {generations} generations,"
        f" {entries} ledger entries"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
