"""Where outgoing webhooks may go: the checks that keep them from becoming server-side request forgery.

A target must be ``http`` or ``https``, with a host, no credentials, no fragment, no spaces or control
characters, and at most ``MAX_URL_CHARS``; and every address its host resolves to must be public — not
loopback, private, link-local, shared, reserved, unspecified or multicast (an IPv4-mapped IPv6 address is
judged as the IPv4 one). The address rule is checked when a URL is registered (``check_target``) and again at
each delivery (``public_addresses``), because a name can be made to point elsewhere in between (DNS
rebinding); ``VEOGEN_OUTGOING_WEBHOOKS_ALLOW_PRIVATE`` lifts it. Pure functions (and DNS); no database.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from core.errors import ValidationError

MAX_URL_CHARS = 2048
"""Longest endpoint URL, in characters (the column's width)."""

REFUSED = (
    "The webhook URL points to a loopback, private, link-local or otherwise internal address; only public "
    "addresses are allowed (an administrator can allow private ones with VEOGEN_OUTGOING_WEBHOOKS_ALLOW_PRIVATE)."
)


def check_url(url: str) -> SplitResult:
    """The URL's parts; refuse anything but ``http``/``https`` with a host, or one carrying credentials."""
    text = (url or "").strip()
    if len(text) > MAX_URL_CHARS:
        raise ValidationError(f"The URL is {len(text)} characters long; the limit is {MAX_URL_CHARS}.", field="url")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        raise ValidationError("This is not a valid URL.", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("The webhook URL must be an http:// or https:// address.", field="url")
    if parts.username or parts.password or parts.fragment:
        raise ValidationError("The webhook URL must not carry a user, a password or a #fragment.", field="url")
    if any(ord(c) < 33 or ord(c) == 127 for c in text):
        raise ValidationError("The webhook URL must not contain spaces or control characters.", field="url")
    return parts


def refused_address(address: str) -> bool:
    """Whether an IP address is internal: loopback, private, link-local, shared, reserved, multicast."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def resolve(parts: SplitResult) -> list[str]:
    """Every address the URL's host resolves to (an IP literal is itself); ``OSError`` when it does not resolve,
    ``ValidationError`` when it cannot be a host name."""
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:  # an empty or over-long label: no name server is asked
        raise ValidationError(f"{host[:80]!r} is not a valid host name.", field="url") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def public_addresses(parts: SplitResult) -> list[str]:
    """The host's addresses, all public; ``ValidationError`` when any is internal, ``OSError`` when none resolve."""
    addresses = resolve(parts)
    if not addresses or any(refused_address(a) for a in addresses):
        raise ValidationError(REFUSED, field="url")
    return addresses


def check_target(url: str, *, allow_private: bool) -> str:
    """The URL to register, checked: its form always, its addresses unless private ones are allowed."""
    parts = check_url(url)
    if not allow_private:
        try:
            public_addresses(parts)
        except OSError:
            raise ValidationError(f"The host {parts.hostname!r} cannot be resolved.", field="url") from None
    return parts.geturl()
