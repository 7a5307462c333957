"""Support lines and tool specs: the config every service reads (``config/``)."""

from shared.lines.loading import (
    DEFAULT_LINES_DIR,
    DEFAULT_TOOLS_DIR,
    LineConfigError,
    load_lines,
    load_tool_specs,
)
from shared.lines.model import (
    DialogueSettings,
    EscalationRule,
    Flow,
    FlowSlot,
    HandoffSettings,
    HttpCall,
    SupportLine,
    ToolSpec,
)

__all__ = [
    "DEFAULT_LINES_DIR",
    "DEFAULT_TOOLS_DIR",
    "DialogueSettings",
    "EscalationRule",
    "Flow",
    "FlowSlot",
    "HandoffSettings",
    "HttpCall",
    "LineConfigError",
    "SupportLine",
    "ToolSpec",
    "load_lines",
    "load_tool_specs",
]
