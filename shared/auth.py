"""API keys by role, configured hashed and compared in constant time.

Keys are random 32-byte tokens (``secrets.token_urlsafe``), so a plain SHA-256 is a sound
stored form: there is no low-entropy password to brute-force, and lookups stay cheap on every
WebSocket upgrade. ``AUTH_KEY_HASHES`` holds ``role=sha256:<hex>`` entries, comma separated.
Roles nest: a ``supervisor`` may also do what an ``analyst`` may (read redacted call logs), and
``admin`` may do everything any role may.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["gateway", "analyst", "supervisor", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
# What each role may also do, beyond its own name.
IMPLIED: dict[Role, frozenset[Role]] = {
    "admin": frozenset(ROLES),
    "supervisor": frozenset({"analyst"}),
}


def new_key(role: Role) -> str:
    """A fresh API key; the role prefix makes a leaked key easy to recognise and revoke."""
    return f"sb_{role}_{secrets.token_urlsafe(32)}"


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def key_fingerprint(key: str) -> str:
    """The first 12 hex digits of the key's SHA-256 (as in ``AUTH_KEY_HASHES``): names a key in
    audit records without revealing it."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class KeyRing:
    """The configured key hashes, each with its role."""

    entries: tuple[tuple[Role, bytes], ...]

    @classmethod
    def from_spec(cls, spec: str) -> KeyRing:
        """Parse ``role=sha256:<hex>[,...]``; raises ``ValueError`` naming the bad entry."""
        entries: list[tuple[Role, bytes]] = []
        for index, raw in enumerate(p.strip() for p in spec.split(",") if p.strip()):
            role, sep, digest = raw.partition("=")
            algo, _, hexdigest = digest.partition(":")
            if not sep or role not in ROLES or algo != "sha256" or len(hexdigest) != 64:
                raise ValueError(f"AUTH_KEY_HASHES entry {index} must be role=sha256:<64 hex>")
            entries.append((role, bytes.fromhex(hexdigest)))
        return cls(tuple(entries))

    def roles_of(self, key: str | None) -> frozenset[Role]:
        """The roles a presented key holds (empty when it matches none)."""
        if not key:
            return frozenset()
        digest = hashlib.sha256(key.encode()).digest()
        roles: set[Role] = set()
        # Compare against every entry, always, so timing does not reveal which one matched.
        for role, stored in self.entries:
            if hmac.compare_digest(digest, stored):
                roles.add(role)
        return frozenset(roles)

    def allows(self, key: str | None, *wanted: Role) -> bool:
        """True when the key holds one of ``wanted``, itself or through a role that implies it."""
        held = set(self.roles_of(key))
        for role in list(held):
            held |= IMPLIED.get(role, frozenset())
        return bool(held.intersection(wanted))


def bearer_token(authorization: str | None) -> str | None:
    """The key of an ``Authorization`` header: ``Bearer <key>`` or a bare ``<key>``."""
    if not authorization:
        return None
    scheme, _, rest = authorization.strip().partition(" ")
    if rest and scheme.lower() == "bearer":
        return rest.strip() or None
    return authorization.strip() or None
