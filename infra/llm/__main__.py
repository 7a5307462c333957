"""``python -m infra.llm``: the embedded model server (settings -> bootstrap -> run)."""

from infra.llm.bootstrap import create_app
from infra.llm.settings import LlmSettings
from shared.service_main import run_service

if __name__ == "__main__":
    run_service("llm", LlmSettings, create_app)
