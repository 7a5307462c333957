"""``python -m services.session``: settings -> bootstrap -> run."""

from services.session.bootstrap import create_app
from services.session.settings import SessionSettings
from shared.service_main import run_service

if __name__ == "__main__":
    run_service("session", SessionSettings, create_app)
