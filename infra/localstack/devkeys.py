"""Development credentials: generated once into ``.switchboard/dev-keys.env`` (mode 0600).

They never enter the repository. Services receive only their hashes (``AUTH_KEY_HASHES``; the
demo desk agent's as ``DESK_KEY_HASH``, which ``config/agents.yaml`` refers to).
"""

from __future__ import annotations

import os
import secrets

from infra.localstack.paths import DEV_KEYS, STATE
from shared.auth import Role, hash_key, new_key

KEY_ROLES: dict[str, Role] = {
    "GATEWAY_KEY": "gateway",
    "ANALYST_KEY": "analyst",
    "SUPERVISOR_KEY": "supervisor",
    "ADMIN_KEY": "admin",
}


def new_desk_key() -> str:
    """A desk key for a human agent (not an API role: it opens only the agent desk)."""
    return "sb_desk_" + secrets.token_urlsafe(32)


def load_or_create() -> dict[str, str]:
    """The development keys, creating the file on first use (and adding keys it lacks)."""
    keys: dict[str, str] = {}
    if DEV_KEYS.exists():
        for line in DEV_KEYS.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not name.startswith("#"):
                keys[name.strip()] = value.strip()
        if all(k in keys for k in (*KEY_ROLES, "TWILIO_AUTH_TOKEN", "DESK_KEY")):
            return keys
    if not all(k in keys for k in (*KEY_ROLES, "TWILIO_AUTH_TOKEN")):
        keys = {name: new_key(role) for name, role in KEY_ROLES.items()}
        keys["TWILIO_AUTH_TOKEN"] = secrets.token_hex(16)
    keys.setdefault("DESK_KEY", new_desk_key())  # an older file keeps its other keys
    STATE.mkdir(parents=True, exist_ok=True)
    body = "# Switchboard development credentials, made by `make up`. Never commit them.\n"
    body += "".join(f"{name}={value}\n" for name, value in keys.items())
    fd = os.open(DEV_KEYS, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(body)
    return keys


def key_hashes(keys: dict[str, str]) -> str:
    """The ``AUTH_KEY_HASHES`` value for these keys."""
    return ",".join(f"{role}={hash_key(keys[name])}" for name, role in KEY_ROLES.items())


def desk_key_hash(keys: dict[str, str]) -> str:
    """The ``DESK_KEY_HASH`` value: the demo desk agent's key, hashed."""
    return hash_key(keys["DESK_KEY"])
