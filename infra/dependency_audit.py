"""``python -m infra.dependency_audit``: known vulnerabilities in the installed dependencies.

Runs ``pip-audit`` (PyPI's vulnerability service) over the environment and decides:

- any known vulnerability: exit 1, listing each with its fix version;
- some dependencies checked, others not found: passes, listing what could not be checked;
- nothing could be checked at all (the service is unreachable, or the machine reaches packages
  only through a mirror that has no vulnerability data): says so loudly, ``NOT AUDITED``, and
  passes, unless ``AUDIT_REQUIRED=1`` (then exit 2). An unreachable service is never reported as
  "no known vulnerabilities": plain ``pip-audit`` does exactly that, which is why this wrapper
  exists.

``make lint`` runs it, so any machine that can reach the service fails lint on a vulnerable pin.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

TIMEOUT_S = float(os.environ.get("AUDIT_TIMEOUT_S", "300"))
# How pip-audit says it could not reach a vulnerability service at all.
UNREACHABLE_MARKS = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "timed out")


@dataclass
class Verdict:
    """What the audit found, and the exit code it deserves."""

    checked: int = 0
    unchecked: list[str] = field(default_factory=list)
    vulnerable: list[str] = field(default_factory=list)
    reachable: bool = True

    @property
    def audited(self) -> bool:
        return self.reachable and self.checked > 0

    def exit_code(self, *, required: bool) -> int:
        if self.vulnerable:
            return 1
        if not self.audited:
            return 2 if required else 0
        return 0

    def report(self) -> str:
        if self.vulnerable:
            return "known vulnerabilities:\n  " + "\n  ".join(self.vulnerable)
        if not self.audited:
            why = (
                f"none of {len(self.unchecked)} dependencies found on the service"
                if self.reachable
                else "the vulnerability service could not be reached"
            )
            return (
                f"dependency audit: NOT AUDITED ({why}). Run `make audit` where PyPI's "
                "vulnerability service is reachable; AUDIT_REQUIRED=1 makes this a failure."
            )
        lines = [f"dependency audit: {self.checked} dependencies checked, none vulnerable"]
        if self.unchecked:
            missing = ", ".join(self.unchecked)
            lines.append(f"not found on the service ({len(self.unchecked)}): {missing}")
        return "\n".join(lines)


def judge(report: dict[str, Any]) -> Verdict:
    """The verdict on pip-audit's JSON report (``-f json``)."""
    verdict = Verdict()
    for dep in report.get("dependencies", []):
        name = f"{dep.get('name')} {dep.get('version', '')}".strip()
        if dep.get("skip_reason"):
            verdict.unchecked.append(name)
            continue
        verdict.checked += 1
        for vuln in dep.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            verdict.vulnerable.append(f"{name}: {vuln.get('id')} (fixed in: {fixes})")
    return verdict


def run_audit() -> Verdict:
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--format",
        "json",
        "--vulnerability-service",
        "pypi",
        "--progress-spinner",
        "off",
        "--skip-editable",
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return Verdict(reachable=False)
    try:
        return judge(json.loads(done.stdout))
    except json.JSONDecodeError:
        if any(mark in done.stderr for mark in UNREACHABLE_MARKS):
            return Verdict(reachable=False)
        failure = f"pip-audit failed (exit {done.returncode}):\n{done.stderr[-2000:]}"
        raise SystemExit(failure) from None


def main() -> int:
    verdict = run_audit()
    print(verdict.report())
    return verdict.exit_code(required=os.environ.get("AUDIT_REQUIRED") == "1")


if __name__ == "__main__":
    sys.exit(main())
