"""``python -m services.gateway``: settings -> bootstrap -> run."""

from services.gateway.bootstrap import create_app
from services.gateway.settings import GatewaySettings
from shared.service_main import run_service

if __name__ == "__main__":
    run_service("gateway", GatewaySettings, create_app)
