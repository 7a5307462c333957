"""The CRM's deterministic demo data (``python -m services.tools.seed``, ``make seed``)."""
