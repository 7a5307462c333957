"""Create the backbone's topics from ``infra/kafka/topics.yaml``, idempotently.

``python -m shared.kafka.topics [--config PATH]`` creates what is missing and leaves existing
topics alone; it uses ``KAFKA_BOOTSTRAP_SERVERS`` and ``KAFKA_TOPIC_PREFIX`` like the services.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pydantic import BaseModel, Field

from shared.settings import KafkaSettings

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "infra" / "kafka" / "topics.yaml"
TOPIC_ALREADY_EXISTS = 36


class TopicSpec(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9._-]{1,200}$")
    partitions: int = Field(ge=1, le=1000)
    replication_factor: int = Field(ge=1, le=10)
    config: dict[str, str] = Field(default_factory=dict)


class TopicsFile(BaseModel):
    topics: list[TopicSpec]


def load_topic_specs(path: Path = DEFAULT_CONFIG) -> list[TopicSpec]:
    """The validated topic specs of a topics file."""
    return TopicsFile.model_validate(yaml.safe_load(path.read_text())).topics


async def ensure_topics(
    settings: KafkaSettings, specs: list[TopicSpec], *, timeout_s: float = 20.0
) -> list[str]:
    """Create the missing topics; returns the physical names created. Idempotent."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        request_timeout_ms=int(settings.request_timeout_s * 1000),
    )
    async with asyncio.timeout(timeout_s):
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [
                NewTopic(
                    settings.topic(spec.name),
                    spec.partitions,
                    spec.replication_factor,
                    topic_configs=spec.config,
                )
                for spec in specs
                if settings.topic(spec.name) not in existing
            ]
            if not wanted:
                return []
            response = await admin.create_topics(wanted)
            created = []
            for name, code, message in response.topic_errors:
                if code == 0:
                    created.append(name)
                elif code != TOPIC_ALREADY_EXISTS:
                    raise RuntimeError(f"creating topic {name} failed: {code} {message}")
            return created
        finally:
            await admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    args = parser.parse_args()
    created = asyncio.run(ensure_topics(KafkaSettings(), load_topic_specs(args.config)))
    print(f"topics created: {len(created)}", *created, sep="\n  ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
