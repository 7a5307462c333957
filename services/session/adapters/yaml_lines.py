"""The support lines as the session service sees them: loaded, validated, reloaded on change.

Teams tune escalation rules while calls run, so a changed line file takes effect without a
restart. A file that fails validation is refused whole: the lines loaded before stay in force,
the error is kept for ``GET /v1/rules`` and counted, and the next change is tried again.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from prometheus_client import Counter

from services.session.domain.line_files import fingerprint
from shared.lines import SupportLine, load_lines

log = logging.getLogger(__name__)

RELOADS = Counter(
    "switchboard_rules_reloads_total", "Line (rule) reloads by the session service.", ["result"]
)


class LineBook:
    """The current lines; ``reload_if_changed`` swaps them when the files change and validate."""

    def __init__(self, lines_dir: Path) -> None:
        self._lines_dir = lines_dir
        self._tools_dir = lines_dir.parent / "tools"  # where ``load_lines`` resolves tools
        self._fingerprint = fingerprint(lines_dir, self._tools_dir)
        self.lines: dict[str, SupportLine] = load_lines(lines_dir)
        self.loaded_at = time.time()
        self.last_error: str | None = None

    def reload_if_changed(self) -> bool:
        """Load the files again if they changed; True when new lines took effect."""
        now = fingerprint(self._lines_dir, self._tools_dir)
        if now == self._fingerprint:
            return False
        self._fingerprint = now
        try:
            lines = load_lines(self._lines_dir)
        except Exception as exc:  # a bad file: keep serving the lines that validated
            self.last_error = str(exc)[:2000]
            RELOADS.labels("refused").inc()
            log.error("line files changed but do not validate; keeping the previous rules")
            return False
        self.lines = lines
        self.loaded_at = time.time()
        self.last_error = None
        RELOADS.labels("loaded").inc()
        log.info("line files reloaded", extra={"lines": len(lines)})
        return True
