"""Reading a service's ``/metrics`` the way Prometheus does, for the e2e tests."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import ServiceProcess

Samples = list[tuple[str, dict[str, str], float]]


def exposition(proc: ServiceProcess) -> str:
    with urllib.request.urlopen(f"{proc.url}/metrics", timeout=5) as response:
        return str(response.read().decode())


def scrape(proc: ServiceProcess) -> Samples:
    """Every sample (name, labels, value) the process exposes now."""
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(exposition(proc))
        for s in family.samples
    ]


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(
        value
        for sample, have, value in samples
        if sample == name and labels.items() <= have.items()
    )


def declared(proc: ServiceProcess, name: str) -> bool:
    """``name`` is exposed, even with no labelled series yet (a counter nothing moved)."""
    return f"# TYPE {name} " in exposition(proc)
