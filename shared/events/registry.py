"""Decode envelopes into typed payloads by ``(type, version)``, upcasting old versions.

An upcaster turns the JSON payload of version N into that of version N+1. Decoding applies the
chain up to the latest registered version, so handlers only ever see the latest model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shared.events.catalog import CALL_EVENTS, upcast_escalation_requested_v1
from shared.events.commands import COMMANDS
from shared.events.control import CONTROL_COMMANDS, upcast_handoff_v1
from shared.events.envelope import Envelope, EventPayload

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventError(ValueError):
    """The record's type/version is not in the catalog (or newer than this consumer knows)."""


class EventRegistry:
    """Payload models by type and version, with upcasters between versions."""

    def __init__(self, models: Iterable[type[EventPayload]] = ()) -> None:
        self._models: dict[tuple[str, int], type[EventPayload]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for model in models:
            self.register(model)

    def register(self, model: type[EventPayload]) -> None:
        """Add a payload model; a (type, version) may be registered once."""
        key = (model.event_type, model.event_version)
        if key in self._models:
            raise ValueError(f"{key} is already registered")
        self._models[key] = model

    def register_upcaster(self, event_type: str, from_version: int, upcaster: Upcaster) -> None:
        """Register the function turning ``from_version`` payloads into ``from_version + 1``."""
        self._upcasters[(event_type, from_version)] = upcaster

    def latest_version(self, event_type: str) -> int | None:
        versions = [v for (t, v) in self._models if t == event_type]
        return max(versions) if versions else None

    def models(self) -> list[type[EventPayload]]:
        return sorted(self._models.values(), key=lambda m: (m.event_type, m.event_version))

    def knows(self, event_type: str) -> bool:
        return self.latest_version(event_type) is not None

    def decode(self, envelope: Envelope) -> EventPayload:
        """The envelope's payload as the latest model of its type.

        Raises ``UnknownEventError`` for an unknown type or a version newer than the catalog, and
        pydantic's ``ValidationError`` (a ``ValueError``) for a payload that does not fit.
        """
        latest = self.latest_version(envelope.type)
        if latest is None:
            raise UnknownEventError(f"unknown event type {envelope.type!r}")
        if envelope.version > latest:
            raise UnknownEventError(
                f"{envelope.type} v{envelope.version} is newer than this consumer (v{latest})"
            )
        payload = dict(envelope.payload)
        version = envelope.version
        while version < latest:
            upcaster = self._upcasters.get((envelope.type, version))
            if upcaster is None:
                raise UnknownEventError(f"no upcaster for {envelope.type} v{version}")
            payload = upcaster(payload)
            version += 1
        return self._models[(envelope.type, latest)].model_validate(payload)


def _default_registry() -> EventRegistry:
    registry = EventRegistry((*CALL_EVENTS, *COMMANDS, *CONTROL_COMMANDS))
    registry.register_upcaster("escalation.requested", 1, upcast_escalation_requested_v1)
    registry.register_upcaster("handoff", 1, upcast_handoff_v1)
    return registry


DEFAULT_REGISTRY = _default_registry()


def decode_envelope(
    raw: bytes, registry: EventRegistry = DEFAULT_REGISTRY
) -> tuple[Envelope, EventPayload]:
    """Parse a record value into its envelope and typed payload."""
    envelope = Envelope.from_json(raw)
    return envelope, registry.decode(envelope)
