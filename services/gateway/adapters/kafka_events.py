"""``EventPublisher`` on the shared buffered Kafka producer."""

from __future__ import annotations

from shared.events import Envelope
from shared.kafka.producer import BufferedProducer


class KafkaEventPublisher:
    def __init__(self, producer: BufferedProducer) -> None:
        self._producer = producer

    def publish(self, topic: str, event: Envelope) -> bool:
        return self._producer.publish(topic, event)
