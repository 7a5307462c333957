"""The dependency audit's verdict on pip-audit's JSON report (infra/dependency_audit.py)."""

from __future__ import annotations

from infra.dependency_audit import Verdict, judge


def _dep(name: str, *vulns: str, skipped: bool = False) -> dict:  # type: ignore[type-arg]
    if skipped:
        return {"name": name, "skip_reason": f"Dependency not found on PyPI: {name}"}
    return {
        "name": name,
        "version": "1.0",
        "vulns": [{"id": v, "fix_versions": ["1.1"]} for v in vulns],
    }


def test_a_known_vulnerability_fails_even_when_others_were_not_checked() -> None:
    verdict = judge({"dependencies": [_dep("a"), _dep("b", "GHSA-x"), _dep("c", skipped=True)]})
    assert verdict.exit_code(required=False) == 1
    assert "b 1.0: GHSA-x (fixed in: 1.1)" in verdict.report()


def test_nothing_checked_is_never_reported_as_clean() -> None:
    verdict = judge({"dependencies": [_dep("a", skipped=True), _dep("b", skipped=True)]})
    assert not verdict.audited
    assert "NOT AUDITED" in verdict.report() and "none of 2" in verdict.report()
    assert verdict.exit_code(required=False) == 0
    assert verdict.exit_code(required=True) == 2


def test_an_unreachable_service_is_not_audited() -> None:
    verdict = Verdict(reachable=False)
    assert "could not be reached" in verdict.report()
    assert verdict.exit_code(required=True) == 2


def test_checked_and_clean_passes_and_lists_what_was_not_found() -> None:
    verdict = judge({"dependencies": [_dep("a"), _dep("b"), _dep("private", skipped=True)]})
    assert verdict.audited and verdict.exit_code(required=True) == 0
    assert "2 dependencies checked" in verdict.report() and "private" in verdict.report()
