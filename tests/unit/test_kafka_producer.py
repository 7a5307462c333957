"""The buffered producer's bounds, exercised with no broker at all."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from shared.events import TranscriptUser, new_event
from shared.kafka.producer import BACKOFF_MAX_S, BACKOFF_MIN_S, BufferedProducer, backoff_delay
from shared.settings import KafkaSettings

BUFFER = 5


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _dropped(topic: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "switchboard_events_dropped_total", {"topic": topic, "reason": reason}
    )
    return value or 0.0


@pytest.fixture
def topic() -> str:
    return f"t.{uuid.uuid4().hex}"


@pytest.fixture
async def producer() -> AsyncIterator[BufferedProducer]:
    settings = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{_closed_port()}", KAFKA_REQUEST_TIMEOUT_S=0.2
    )
    producer = BufferedProducer(settings, client_id="t", buffer_size=BUFFER)
    yield producer
    await producer.close(timeout_s=0.2)


def _fill(producer: BufferedProducer, topic: str, count: int) -> list[bool]:
    return [producer.publish_record(topic, key=b"k", value=b"v") for _ in range(count)]


async def test_publish_accepts_records_up_to_the_buffer_size(
    producer: BufferedProducer, topic: str
) -> None:
    assert _fill(producer, topic, BUFFER) == [True] * BUFFER
    assert producer.buffered == BUFFER
    assert producer.dropped == 0


async def test_publish_past_the_bound_drops_and_counts(
    producer: BufferedProducer, topic: str
) -> None:
    _fill(producer, topic, BUFFER)

    assert producer.publish_record(topic, key=b"k", value=b"v") is False

    assert producer.dropped == 1
    assert producer.buffered == BUFFER
    assert _dropped(topic, "buffer_full") == 1.0


async def test_publish_an_envelope_past_the_bound_drops_it(
    producer: BufferedProducer, topic: str
) -> None:
    event = new_event(TranscriptUser(item_id="i", text="t"), call_id="c", source="s")
    results = [producer.publish(topic, event) for _ in range(BUFFER + 2)]

    assert results == [True] * BUFFER + [False, False]
    assert _dropped(topic, "buffer_full") == 2.0


async def test_publish_never_blocks_even_when_full(producer: BufferedProducer, topic: str) -> None:
    started = time.monotonic()

    _fill(producer, topic, BUFFER + 1000)

    assert time.monotonic() - started < 0.5
    assert producer.dropped == 1000


async def test_close_drops_buffered_records_as_shutdown(
    producer: BufferedProducer, topic: str
) -> None:
    _fill(producer, topic, 3)

    started = time.monotonic()
    await producer.close(timeout_s=0.2)

    assert time.monotonic() - started < 2.0
    assert producer.dropped == 3
    assert producer.buffered == 0
    assert _dropped(topic, "shutdown") == 3.0


async def test_publish_after_close_is_refused_as_closed(
    producer: BufferedProducer, topic: str
) -> None:
    await producer.close(timeout_s=0.2)

    assert producer.publish_record(topic, key=None, value=b"v") is False

    assert producer.dropped == 1
    assert _dropped(topic, "closed") == 1.0


async def test_started_producer_without_broker_drops_unsent_records_on_close(
    producer: BufferedProducer, topic: str
) -> None:
    await producer.start()
    _fill(producer, topic, 3)

    started = time.monotonic()
    await producer.close(timeout_s=0.2)

    assert time.monotonic() - started < 3.0
    assert producer.broker_ok is False
    assert producer.dropped == 3
    assert _dropped(topic, "shutdown") == 3.0


async def test_flush_times_out_while_records_wait(producer: BufferedProducer, topic: str) -> None:
    _fill(producer, topic, 1)

    with pytest.raises(TimeoutError):
        await producer.flush(0.05)


async def test_flush_of_an_empty_producer_returns_at_once(producer: BufferedProducer) -> None:
    await producer.flush(0.05)

    assert producer.buffered == 0


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 8, 20, 100])
def test_backoff_delay_stays_within_bounds(attempt: int) -> None:
    for _ in range(200):
        assert BACKOFF_MIN_S <= backoff_delay(attempt) <= BACKOFF_MAX_S


def test_backoff_delay_respects_custom_bounds() -> None:
    for attempt in range(1, 30):
        assert 1.0 <= backoff_delay(attempt, low=1.0, high=3.0) <= 3.0


def test_backoff_delay_ceiling_grows_with_attempts() -> None:
    def largest(attempt: int) -> float:
        return max(backoff_delay(attempt) for _ in range(500))

    first, third, sixth = largest(1), largest(3), largest(6)

    assert first == pytest.approx(BACKOFF_MIN_S)
    assert first < third < sixth
    assert third <= BACKOFF_MIN_S * 4
    assert sixth > BACKOFF_MIN_S * 8  # the ceiling is 3.2 s; 500 draws below 0.8 are negligible


def test_backoff_delay_is_capped_for_late_attempts() -> None:
    assert max(backoff_delay(60) for _ in range(500)) <= BACKOFF_MAX_S
    assert max(backoff_delay(60) for _ in range(500)) > BACKOFF_MAX_S / 2
