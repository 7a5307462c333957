"""Support lines and tool specs: the config every service reads (``config/``)."""

from shared.lines.escalation import (
    SIGNALS,
    Condition,
    EscalationRule,
    InnerGroup,
    SignalSpec,
    When,
)
from shared.lines.loading import (
    DEFAULT_LINES_DIR,
    DEFAULT_TOOLS_DIR,
    LineConfigError,
    load_lines,
    load_tool_specs,
)
from shared.lines.model import (
    DialogueSettings,
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
    "SIGNALS",
    "Condition",
    "DialogueSettings",
    "EscalationRule",
    "Flow",
    "FlowSlot",
    "HandoffSettings",
    "HttpCall",
    "InnerGroup",
    "LineConfigError",
    "SignalSpec",
    "SupportLine",
    "ToolSpec",
    "When",
    "load_lines",
    "load_tool_specs",
]
