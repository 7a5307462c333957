"""``python -m services.analytics``: settings -> bootstrap -> run."""

from services.analytics.bootstrap import create_app
from services.analytics.settings import AnalyticsSettings
from shared.service_main import run_service

if __name__ == "__main__":
    run_service("analytics", AnalyticsSettings, create_app)
