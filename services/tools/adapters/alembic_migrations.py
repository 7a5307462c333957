"""Bring the CRM schema to the latest migration (``infra/migrations/tools``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from shared.settings import PostgresSettings

SCRIPT_LOCATION = Path(__file__).resolve().parents[3] / "infra" / "migrations" / "tools"


def alembic_config(settings: PostgresSettings, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["schema"] = schema
    config.attributes["url"] = settings.url.get_secret_value()
    return config


async def upgrade_to_head(settings: PostgresSettings, schema: str, timeout_s: float = 60) -> None:
    """Run pending migrations (serialised across replicas by an advisory lock)."""
    config = alembic_config(settings, schema)
    # Alembic's env runs its own event loop, so it gets a thread of its own.
    await asyncio.wait_for(asyncio.to_thread(command.upgrade, config, "head"), timeout_s)
