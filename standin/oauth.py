"""Google's OAuth 2.0 token endpoint, as far as a service-account credential needs it, and a key file for it.

Vertex AI calls carry ``Authorization: Bearer <token>``. With application-default
credentials from a service-account key file, google-auth signs a JWT with the
file's private key and POSTs it to the file's ``token_uri`` for an access token
(RFC 7523). :func:`service_account_file` writes such a file whose ``token_uri`` is
this stand-in's ``/token``, so a studio configured only with a Vertex project —
``GOOGLE_APPLICATION_CREDENTIALS`` pointing at the file — runs unmodified against
the stand-in. The endpoint checks the grant's shape, not its signature. Not Google.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from urllib.parse import parse_qs

from standin.protocol import Fail, Reply, Request, bad, route

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_SECONDS = 3600


def token(request: Request) -> Reply:
    """``POST /token``: exchange a signed JWT assertion for an access token."""
    form = parse_qs(request.raw.decode("utf-8", "replace"))
    grant = (form.get("grant_type") or [""])[0]
    assertion = (form.get("assertion") or [""])[0]
    if grant != JWT_BEARER:
        raise bad(f"unsupported grant_type {grant!r}; the stand-in issues tokens for {JWT_BEARER} only")
    if assertion.count(".") != 2:
        raise Fail(400, "invalid_grant: the assertion is not a JWT")
    body = {"access_token": "standin-" + secrets.token_hex(16), "expires_in": TOKEN_SECONDS, "token_type": "Bearer"}
    return Reply(body=body)


def token_route():  # type: ignore[no-untyped-def]
    return route("POST", r"/token", token, "_standin")


def service_account_file(path: Path, standin_url: str, project: str = "p") -> Path:
    """Write a service-account key file (a fresh RSA key) whose tokens come from this stand-in; returns ``path``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": f"veogen-tests@{project}.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": standin_url.rstrip("/") + "/token",
    }
    path.write_text(json.dumps(info))
    path.chmod(0o600)
    return path
