"""What every socket of a gateway shares, built once by the composition root."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from services.gateway.dialogue.service import DialogueService
from services.gateway.entrypoints.call_metrics import CallMetrics
from services.gateway.entrypoints.control import CallControl
from services.gateway.pipeline.inference import InferencePool, SpeechModels
from services.gateway.ports import (
    BridgeTokenStore,
    CallTransfer,
    EventPublisher,
    PhoneGrantStore,
    SessionStore,
    TokenStore,
)
from services.gateway.settings import GatewaySettings
from shared.auth import KeyRing
from shared.events import EventPayload, new_event
from shared.lines import SupportLine

CALL_EVENTS_TOPIC = "cc.call-events.v1"


@dataclass
class GatewayContext:
    """What every socket needs, built once by the composition root."""

    settings: GatewaySettings
    keyring: KeyRing
    lines: dict[str, SupportLine]
    events: EventPublisher
    sessions: SessionStore
    tokens: TokenStore
    dialogue: DialogueService
    # Per-call secrets of answered phone calls (``/twilio/voice`` -> ``/twilio/media``).
    phone_grants: PhoneGrantStore
    # Redeems the human agents' bridge tokens; None: this gateway offers no bridge.
    bridge_tokens: BridgeTokenStore | None = None
    # Transfers phone calls out (Twilio REST); None: a dial handoff holds for the desk instead.
    transfer: CallTransfer | None = None
    # The speech models and their worker pool; None when the gateway runs without voice.
    speech: SpeechModels | None = None
    pool: InferencePool | None = None
    active: int = 0
    per_owner: dict[str, int] = field(default_factory=dict)
    # The live calls of this gateway by call id (call control and bridges find them here).
    calls: dict[str, CallControl] = field(default_factory=dict)
    # Calls waiting out their resume window; a drain waits for them, then shutdown cancels any.
    pending_ends: set[asyncio.Task[None]] = field(default_factory=set)
    # One future per connection held, done once its call is settled (``connection.hold_call``).
    held: set[asyncio.Future[None]] = field(default_factory=set)
    # Set on SIGTERM (``entrypoints/drain.py``): no new sessions, /readyz answers 503.
    draining: bool = False
    # Set at the drain timeout: the calls still live are being handed over or ended.
    handing_over: bool = False
    # Every published call event also moves the gateway's Prometheus metrics.
    metrics: CallMetrics = field(default_factory=CallMetrics)

    def publish(self, session_id: str, line_id: str, payload: EventPayload) -> None:
        self.metrics.observe(payload)
        self.events.publish(
            self.settings.kafka.topic(CALL_EVENTS_TOPIC),
            new_event(
                payload, call_id=session_id, line_id=line_id, source=self.settings.gateway_id
            ),
        )
