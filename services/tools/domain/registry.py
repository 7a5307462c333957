"""The tool registry: every tool the service can run, with its compiled argument schema.

Shared specs (``config/tools/*.yaml``) are reachable by name; a line's tools are resolved on that
line (an inline HTTP tool of one line is not visible to another). A command from a known line may
only run the tools that line lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from shared.lines import SupportLine, ToolSpec

MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class RegisteredTool:
    spec: ToolSpec
    # Breakers and concurrency limits are per backend: the CRM as a whole; each HTTP tool.
    backend_key: str
    validator: Draft202012Validator

    @property
    def name(self) -> str:
        return self.spec.name

    def problem_with(self, arguments: object) -> str | None:
        """Why ``arguments`` do not fit the schema (a message for the model), or None."""
        error = best_match(self.validator.iter_errors(arguments))
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or "arguments"
        text = f"Invalid arguments for {self.name}: {where}: {error.message}"
        return text[:MAX_ERROR_CHARS] + ". Ask the caller for the missing or correct detail."


def _registered(spec: ToolSpec, line_id: str | None) -> RegisteredTool:
    key = "crm" if spec.backend == "crm" else f"http:{line_id or '*'}:{spec.name}"
    return RegisteredTool(spec, key, Draft202012Validator(spec.parameters))


class ToolRegistry:
    """Tools by name (shared) and by (line, name)."""

    def __init__(self, specs: dict[str, ToolSpec], lines: dict[str, SupportLine]) -> None:
        self._shared = {name: _registered(spec, None) for name, spec in specs.items()}
        self._lines: dict[str, dict[str, RegisteredTool]] = {}
        for line_id, line in lines.items():
            tools: dict[str, RegisteredTool] = {}
            for spec in line.tools:
                shared = self._shared.get(spec.name)
                tools[spec.name] = (
                    shared
                    if shared is not None and shared.spec == spec
                    else _registered(spec, line_id)
                )
            self._lines[line_id] = tools

    def resolve(self, name: str, line_id: str = "") -> RegisteredTool | None:
        """The tool ``name`` as line ``line_id`` may use it (shared specs for no/unknown line)."""
        line = self._lines.get(line_id)
        if line is not None:
            return line.get(name)
        return self._shared.get(name)

    def add(self, spec: ToolSpec) -> RegisteredTool:
        """Register one more shared tool (the bench's no-op tool, tests)."""
        tool = self._shared[spec.name] = _registered(spec, None)
        return tool

    def tools(self) -> list[RegisteredTool]:
        """Every distinct registered tool (shared first, then each line's own)."""
        seen: dict[str, RegisteredTool] = {t.backend_key + t.name: t for t in self._shared.values()}
        for line in self._lines.values():
            for tool in line.values():
                seen.setdefault(tool.backend_key + tool.name, tool)
        return list(seen.values())

    def lines_of(self, tool: RegisteredTool) -> list[str]:
        return sorted(lid for lid, tools in self._lines.items() if tools.get(tool.name) is tool)
