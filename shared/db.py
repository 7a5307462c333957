"""The async SQLAlchemy engine every Postgres-backed service uses, with every wait bounded."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.settings import PostgresSettings

# Errors that mean "the database is not there", as opposed to "this statement is wrong".
_OUTAGE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, OSError, TimeoutError)


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` says the database is unreachable (retry later, the data is fine)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, _OUTAGE_ERRORS)


def create_engine(settings: PostgresSettings, schema: str | None = None) -> AsyncEngine:
    """An engine whose unqualified tables live in ``schema`` (when given)."""
    options = {"schema_translate_map": {None: schema}} if schema else {}
    return create_async_engine(
        settings.url.get_secret_value(),
        pool_size=settings.pool_size,
        pool_timeout=settings.timeout_s,
        pool_pre_ping=True,  # a Postgres restart leaves dead pooled connections: replace them
        connect_args={"timeout": settings.timeout_s, "command_timeout": settings.timeout_s * 2},
        execution_options=options,
    )
