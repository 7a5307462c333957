"""schemathesis against every service's OpenAPI spec, in-process (ASGI, lifespans started by
schemathesis on its own event-loop thread) on the real Postgres, Redis and broker, with an admin
key: no response is a 5xx, and every response conforms to the spec.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.openapi import from_asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from infra.localstack.infrastructure import Infrastructure, free_port
from services.analytics.bootstrap import create_app as create_analytics
from services.analytics.settings import AnalyticsSettings
from services.gateway.bootstrap import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from services.session.bootstrap import create_app as create_session
from services.session.settings import SessionSettings
from services.tools.bootstrap import create_app as create_tools
from services.tools.settings import ToolsSettings
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.settings import KafkaSettings
from tests.conftest import Keys, drop_schema
from tests.support.fuzzing import examples

EXAMPLES = examples(15)
# Operations whose documented 5xx says a dependency does not answer, not that the request broke
# the service: /readyz's 503 "not yet" (the consumers may still be joining their groups), and a
# backtest's 502 (the analytics API it reads is not running in this test). Their answers are
# still checked against the spec.
DEPENDENCY_5XX = {"/readyz", "/v1/rules/backtest"}
# Not checked: that every schema-valid request is accepted. Handlers check what a schema cannot
# say (a cursor this API issued, a date range of at most 366 days, rules naming a configured
# line) and answer 422 with a message, which the spec documents.


@pytest.fixture(scope="module")
async def api_env(infra: Infrastructure, keys: Keys) -> AsyncIterator[dict[str, str]]:
    """The services' environment: this module's own topics, schemas and Redis prefix."""
    unique = uuid.uuid4().hex[:10]
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": f"t{unique}.",
        "DATABASE_URL": infra.database_url,
        "REDIS_URL": infra.redis_url,
        "REDIS_KEY_PREFIX": f"t{unique}:",
        "ANALYTICS_DB_SCHEMA": f"t_{unique}",
        "TOOLS_DB_SCHEMA": f"t_{unique}_crm",
        "ANALYTICS_CONSUMER_GROUP": f"analytics-{unique}",
        "SESSION_CONSUMER_GROUP": f"session-{unique}",
        "TOOLS_CONSUMER_GROUP": f"tools-{unique}",
        "AUTH_KEY_HASHES": keys.hashes,
        "AUTH_RATE_LIMIT": "100000/minute",  # the fuzzer, not the rate limit, is under test
        "GATEWAY_ID": f"gw-{unique}",
        "GATEWAY_VOICE": "off",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        await ensure_topics(KafkaSettings(), load_topic_specs())
        yield env
    for schema in (env["ANALYTICS_DB_SCHEMA"], env["TOOLS_DB_SCHEMA"]):
        await drop_schema(infra.database_url, schema)


# Each service's app, made in the test (its settings read the module's environment).
APPS: dict[str, Callable[[], Any]] = {
    "gateway": lambda: create_gateway(GatewaySettings(GATEWAY_PORT=free_port())),
    "session": lambda: create_session(SessionSettings(SESSION_PORT=free_port())),
    "tools": lambda: create_tools(ToolsSettings(TOOLS_PORT=free_port())),
    "analytics": lambda: create_analytics(AnalyticsSettings(ANALYTICS_PORT=free_port())),
}


@pytest.fixture(scope="module", autouse=True)
def stop_lifespans() -> Iterator[None]:
    """The apps' shutdowns run at the end of the module, not at interpreter exit."""
    yield
    from schemathesis.python.asgi import shutdown_lifespans

    shutdown_lifespans()


@pytest.mark.parametrize("service", sorted(APPS))
def test_every_operation_answers_within_its_spec(
    service: str, api_env: dict[str, str], keys: Keys
) -> None:
    """Each operation, fuzzed (schemathesis' pytest loader needs a pytest private that pytest 9
    removed, so the operations' strategies are driven with hypothesis here)."""
    schema = from_asgi("/openapi.json", APPS[service]())
    headers = {"Authorization": f"Bearer {keys.admin}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, f"{service} publishes no operations"
    for operation in operations:
        failure = _fuzz(operation, headers)
        if failure is not None:
            failures.append(failure)
    assert not failures, "\n\n".join(failures)


def _fuzz(operation: Any, headers: dict[str, str]) -> str | None:
    """What schemathesis found wrong with ``operation``, or None."""
    excluded = [positive_data_acceptance]
    if operation.path in DEPENDENCY_5XX:
        excluded.append(not_a_server_error)

    @settings(max_examples=EXAMPLES)
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # every operation runs; failures listed
        return f"{operation.label}: {str(exc)[:700]}"
    return None


def test_regressions_refusals_and_metrics_say_their_content_type(api_env: dict[str, str]) -> None:
    """Found by schemathesis: the Twilio webhook's refusals had no Content-Type, and the spec
    called /metrics JSON and left out /readyz's 503 and the 401/403/404/429 answers."""
    app = APPS["gateway"]()
    refused = TestClient(app).post("/twilio/voice", content=b"")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/plain")
    paths = app.openapi()["paths"]
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    assert "503" in paths["/readyz"]["get"]["responses"]
    assert {"401", "403", "404", "429"} <= set(paths["/v1/token"]["get"]["responses"])
