"""The eval's scripted conversations hold for the deterministic flows, every one of them.

``make eval`` runs the same scenarios against the model; the flows are the fallback a caller
gets when the model fails, so they must not regress.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bench.eval import SCENARIOS, run_scenario
from services.gateway.dialogue.flows import FlowProvider
from shared.lines import load_lines

LINE = load_lines()["demo-retail"]
ALL = yaml.safe_load(SCENARIOS.read_text())["scenarios"]


def test_there_are_at_least_40_scenarios_with_unique_ids() -> None:
    assert len(ALL) >= 40
    assert len({s["id"] for s in ALL}) == len(ALL)


@pytest.mark.parametrize("scenario", ALL, ids=[s["id"] for s in ALL])
async def test_the_flows_pass_the_scenario(scenario: dict[str, Any]) -> None:
    result = await run_scenario(scenario, LINE, FlowProvider(LINE), fallback=False)
    assert result.passed, result.problems
