"""``python -m services.tools``: settings -> bootstrap -> run."""

from services.tools.bootstrap import create_app
from services.tools.settings import ToolsSettings
from shared.service_main import run_service

if __name__ == "__main__":
    run_service("tools", ToolsSettings, create_app)
