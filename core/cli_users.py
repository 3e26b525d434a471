"""``veogen user …``: user management from the shell, for whoever runs the studio.

The shell is trusted like an administrator: each command acts as the first
enabled admin (``veogen init`` makes one) through the same services the Users
page uses, so the same rules and the same audit events apply.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from core.config import get_settings
from core.db import upgrade_database
from core.errors import NotFoundError, ValidationError
from core.models import User
from core.studio import Studio, build_studio


def _studio() -> Studio:
    settings = get_settings()
    upgrade_database(settings.resolved_database_url())
    return build_studio(settings)


def _operator(studio: Studio) -> int:
    with studio.sessions() as session:
        admin = session.execute(
            select(User.id).where(User.role == "admin", User.disabled.is_(False)).order_by(User.id).limit(1)
        ).scalar_one_or_none()
    if admin is None:
        raise NotFoundError("There is no enabled administrator; run `veogen init` first.")
    return int(admin)


def _target(studio: Studio, username: str) -> int:
    return studio.accounts.by_username(username.strip().lower()).id


def add(args: argparse.Namespace) -> int:
    from core.services.users import generate_password

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty() and not args.generate:
        password = getpass.getpass(f"Password for {args.username}: ")
    else:
        password = generate_password()
        print(f"password for {args.username}: {password}")
    user = _studio().accounts.add_user(args.username, password, role=args.role, email=args.email or "")
    print(f"created {user.role} {user.username}")
    return 0


def list_users(_args: argparse.Namespace) -> int:
    studio = _studio()
    for u in studio.accounts.list_users(_operator(studio)):
        flags = ",".join(
            f for f, on in (("disabled", u.disabled), ("must-change-password", u.must_change_password)) if on
        )
        budget = "default" if u.monthly_budget_usd is None else f"${u.monthly_budget_usd:.2f}"
        print(f"{u.username:<24} {u.role:<8} budget {budget:<10} {flags}")
    return 0


def invite(args: argparse.Namespace) -> int:
    studio = _studio()
    user, link = studio.accounts.invite_user(_operator(studio), args.username, args.role, args.email or "")
    print(
        f"invited {user.role} {user.username}; send them this one-time link (valid "
        f"{studio.settings.invite_ttl_hours} h):\n{link}"
    )
    return 0


def disable(args: argparse.Namespace) -> int:
    studio = _studio()
    studio.accounts.set_disabled(_operator(studio), _target(studio, args.username), True)
    print(f"disabled {args.username}; their sessions have ended")
    return 0


def enable(args: argparse.Namespace) -> int:
    studio = _studio()
    studio.accounts.set_disabled(_operator(studio), _target(studio, args.username), False)
    print(f"re-enabled {args.username}")
    return 0


def reset_password(args: argparse.Namespace) -> int:
    studio = _studio()
    _, password = studio.accounts.reset_password(_operator(studio), _target(studio, args.username))
    print(f"new password for {args.username} (must be changed at next login): {password}")
    return 0


def set_role(args: argparse.Namespace) -> int:
    studio = _studio()
    user = studio.accounts.set_role(_operator(studio), _target(studio, args.username), args.role)
    print(f"{user.username} is now {user.role}")
    return 0


def set_limits(args: argparse.Namespace) -> int:
    studio = _studio()
    try:
        budget = None if args.budget in (None, "default") else Decimal(args.budget)
    except InvalidOperation:
        raise ValidationError(f"Not an amount: {args.budget!r}", field="budget") from None
    cap = None if args.max_open in (None, "default") else int(args.max_open)
    user = studio.accounts.set_limits(_operator(studio), _target(studio, args.username), budget, cap)
    print(
        f"{user.username}: monthly budget {user.monthly_budget_usd or 'default'}, "
        f"open cap {user.max_open_generations or 'default'}"
    )
    return 0


def register_commands(user: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``veogen user`` subcommands to the parser."""
    p = user.add_parser("add", help="create a user")
    p.add_argument("username")
    p.add_argument("--role", choices=["creator", "admin"], default="creator")
    p.add_argument("--email", default="")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--generate", action="store_true", help="generate a password and print it once")
    p.set_defaults(func=add)
    user.add_parser("list", help="list users").set_defaults(func=list_users)
    p = user.add_parser("invite", help="create a user and print a one-time link to set their password")
    p.add_argument("username")
    p.add_argument("--role", choices=["creator", "admin"], default="creator")
    p.add_argument("--email", default="")
    p.set_defaults(func=invite)
    for name, func, text in (
        ("disable", disable, "disable a user and end their sessions"),
        ("enable", enable, "re-enable a user"),
        ("reset-password", reset_password, "give a user a new password they must change"),
    ):
        p = user.add_parser(name, help=text)
        p.add_argument("username")
        p.set_defaults(func=func)
    p = user.add_parser("set-role", help="make a user an admin or a creator")
    p.add_argument("username")
    p.add_argument("role", choices=["creator", "admin"])
    p.set_defaults(func=set_role)
    p = user.add_parser("set-limits", help="set a user's monthly budget (USD) and open-generation cap")
    p.add_argument("username")
    p.add_argument("--budget", help="US dollars per month, or 'default'")
    p.add_argument("--max-open", help="unfinished generations at once, or 'default'")
    p.set_defaults(func=set_limits)
