"""Single-use tokens that let one human agent's browser bridge into one live call's audio.

The session service issues a token when an agent accepts a call; the agent desk opens the
gateway's ``/v1/bridge?token=...`` with it, and the gateway redeems it (once: ``GETDEL``). Only
the token's SHA-256 is stored, under ``<prefix>bridge:<hex>``, with a short TTL: a token that is
not used in time is gone, and the handoff fails over to the next agent.
"""

from __future__ import annotations

import hashlib
import secrets

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

# How long an agent's browser has to open the bridge after accepting.
BRIDGE_TOKEN_TTL_S = 60


class BridgeGrant(BaseModel):
    """What a bridge token lets its single user do: hear and speak on one call."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    call_id: str = Field(min_length=1, max_length=200)
    agent_id: str = Field(min_length=1, max_length=100)
    queue: str = Field(default="", max_length=100)


def _key(prefix: str, token: str) -> str:
    return f"{prefix}bridge:{hashlib.sha256(token.encode()).hexdigest()}"


async def issue_bridge_token(
    redis: Redis, grant: BridgeGrant, *, prefix: str = "", ttl_s: int = BRIDGE_TOKEN_TTL_S
) -> str:
    """A fresh token for ``grant``, stored hashed with a TTL."""
    token = "brg_" + secrets.token_urlsafe(24)
    await redis.set(_key(prefix, token), grant.model_dump_json(), ex=max(1, ttl_s))
    return token


async def redeem_bridge_token(redis: Redis, token: str, *, prefix: str = "") -> BridgeGrant | None:
    """The token's grant, removing it; None when unknown, expired or already used."""
    if not token.startswith("brg_") or len(token) > 100:
        return None
    raw = await redis.getdel(_key(prefix, token))
    return BridgeGrant.model_validate_json(raw) if raw else None
