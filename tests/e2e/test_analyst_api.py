"""A call with personal data in it, end to end: nothing of the data is anywhere in Postgres (a
full dump is searched) or in any service's log; the analyst API then finds, pages, exports and
explains the call, with keys and roles enforced."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from infra.localstack.infrastructure import free_port
from services.tools.seed.loader import plain_dsn
from shared.settings import PostgresSettings
from tests.conftest import Keys
from tests.e2e.test_platform import get_json, platform, talk  # noqa: F401 (fixture)
from tests.support.processes import ServiceProcess, http_status

DIGITS = "zero one two three four five six seven eight nine".split()


def _luhn_card(rng: random.Random) -> str:
    body = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, digit in enumerate(reversed(body)):
        doubled = digit * 2 if i % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return "".join(map(str, [*body, (10 - total % 10) % 10]))


def _spoken(digits: str) -> str:
    return " ".join(DIGITS[int(d)] for d in digits)


def _request(url: str, key: str | None, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _dump(dsn: str) -> str:
    command = ["pg_dump", "--data-only", dsn]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout


def _read_logs(log_dir: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in log_dir.glob("**/*.log"))


def _squeezed(text: str) -> str:
    """Digits with the separators between them removed (how a number hides in a dump)."""
    return re.sub(r"(?<=\d)[\s().,-]+(?=\d)", "", text)


async def _stored_call(analytics: ServiceProcess, key: str, call_id: str, turns: int) -> Any:
    url = f"{analytics.url}/v1/calls/{call_id}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if http_status(url, headers={"Authorization": f"Bearer {key}"}) == 200:
            call = get_json(url, key)
            if call["ended_at"] and call["user_turns"] >= turns:
                return call
        await asyncio.sleep(0.2)
    raise AssertionError("the call did not reach the call log in 20 s")


@pytest.mark.slow
async def test_personal_data_said_on_a_call_is_nowhere_in_postgres_or_the_logs(
    platform: dict[str, ServiceProcess],  # noqa: F811
    keys: Keys,
    log_dir: Path,
    postgres: PostgresSettings,
) -> None:
    rng = random.Random()
    card = _luhn_card(rng)
    local = "".join(rng.choice("bcdfghjkmnpqrstvwxz") for _ in range(8))
    phone = f"415555{rng.randrange(1000, 9999)}"
    grouped_card = " ".join(card[i : i + 4] for i in range(0, 16, 4))
    split_card = _luhn_card(rng)  # said over two turns: the second half alone looks harmless
    utterances = [
        f"hi, my card number is {grouped_card}",
        f"and my email is {local}.miller@example.org",
        f"you can reach me on ({phone[:3]}) {phone[3:6]}-{phone[6:]}",
        f"the card again: {_spoken(card)}",
        f"email {local} dot miller at example dot org",
        f"my phone is {_spoken(phone)}",
        f"my other card number is {_spoken(split_card[:8])}",
        _spoken(split_card[8:]),
    ]
    call_id, _ = await talk(
        f"ws://127.0.0.1:{platform['gateway'].port}/v1/ws", keys.gateway, utterances
    )
    await _stored_call(platform["analytics"], keys.analyst, call_id, turns=len(utterances))

    dump = await asyncio.to_thread(_dump, plain_dsn(postgres))
    logs = await asyncio.to_thread(_read_logs, log_dir)
    assert call_id in dump  # the search looks where the call went
    assert logs.count("Application startup complete") == 4
    needles = [card, card[-8:], phone, phone[-7:], local, _spoken(card[:8]), _spoken(phone[-7:])]
    needles += [_spoken(split_card[:8]), _spoken(split_card[8:]), split_card[8:]]
    for name, haystack in (("postgres", dump), ("logs", logs)):
        flat = _squeezed(haystack).lower()
        for needle in needles:
            assert needle not in flat, f"{needle!r} found in {name}"


@pytest.mark.slow
async def test_the_analyst_api_finds_pages_explains_and_exports_calls(
    platform: dict[str, ServiceProcess],  # noqa: F811
    keys: Keys,
) -> None:
    gateway, base = platform["gateway"], platform["analytics"].url
    ids = []
    for words in ("where is my parcel", "I want a refund for my headphones", "store hours"):
        call_id, _ = await talk(f"ws://127.0.0.1:{gateway.port}/v1/ws", keys.gateway, [words])
        ids.append(call_id)
    for call_id in ids:
        await _stored_call(platform["analytics"], keys.analyst, call_id, turns=1)
    analyst = keys.analyst

    status, body = _request(f"{base}/v1/calls?q=refund+headphones", analyst)
    assert status == 200 and [c["call_id"] for c in json.loads(body)["calls"]] == [ids[1]]
    status, body = _request(f"{base}/v1/calls?limit=2&line_id=demo-retail", analyst)
    first = json.loads(body)
    assert [c["call_id"] for c in first["calls"]] == [ids[2], ids[1]]
    _, body = _request(f"{base}/v1/calls?limit=2&cursor={first['next_cursor']}", analyst)
    assert [c["call_id"] for c in json.loads(body)["calls"]] == [ids[0]]
    assert _request(f"{base}/v1/calls?cursor=bogus", analyst)[0] == 422
    assert _request(f"{base}/v1/calls?since=2026-01-01T00:00:00", analyst)[0] == 422  # no zone

    _, body = _request(f"{base}/v1/calls/{ids[0]}", analyst)
    call = json.loads(body)
    assert call["outcome"] == "contained" and call["channel"] == "voice_agent"
    # The line's keep_terms: the company in the greeting is not taken for a person.
    assert "Acme Outfitters" in call["turns"][0]["text"]
    assert [e["type"] for e in call["timeline"]].count("turn") == len(call["turns"]) >= 2

    _, body = _request(f"{base}/v1/stats", analyst)
    stats = json.loads(body)
    assert stats["total"]["calls"] >= 3 and stats["by_line"][0]["line_id"] == "demo-retail"
    assert stats["total"]["containment_rate"] == 1.0

    status, body = _request(f"{base}/v1/export/calls?format=csv&line_id=demo-retail", analyst)
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert status == 200 and [r["call_id"] for r in rows] == ids
    _, body = _request(f"{base}/v1/export/turns?format=jsonl", analyst)
    turns = [json.loads(line) for line in body.decode().splitlines()]
    assert {t["call_id"] for t in turns} == set(ids)

    status, body = _request(
        f"{base}/v1/redact", analyst, {"text": "card 4111 1111 1111 1111 for ORD-77315"}
    )
    redacted = json.loads(body)
    assert status == 200 and "4111" not in redacted["text"] and "ORD-77315" in redacted["text"]
    [entity] = redacted["entities"]
    assert "card 4111 1111 1111 1111 for ORD-77315"[entity["start"] : entity["end"]].startswith(
        "4111"
    )
    too_big = {"text": "x" * 20_001}
    assert _request(f"{base}/v1/redact", analyst, too_big)[0] == 422

    # Keys and roles: no key or an unknown key 401, a key of another role 403.
    for path in ("/v1/calls", f"/v1/calls/{ids[0]}", "/v1/stats", "/v1/export/calls"):
        assert _request(base + path, None)[0] == 401
        assert _request(base + path, "sb_analyst_not-a-key")[0] == 401
        assert _request(base + path, keys.gateway)[0] == 403
        assert _request(base + path, keys.supervisor)[0] == 200
    assert _request(f"{base}/openapi.json", None)[0] == 200


async def test_a_key_over_its_rate_limit_is_refused_with_429(
    service_env: dict[str, str], log_dir: Path, keys: Keys
) -> None:
    env = {**service_env, "AUTH_RATE_LIMIT": "5/minute"}
    proc = ServiceProcess("analytics", free_port(), env, log_dir).start()
    try:
        proc.wait_ready(90)
        url = f"{proc.url}/v1/calls"
        codes = [_request(url, keys.analyst)[0] for _ in range(7)]
        assert codes == [200] * 5 + [429] * 2
        assert _request(url, keys.supervisor)[0] == 200  # another key has its own budget
    finally:
        proc.stop()
