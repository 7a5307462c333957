"""``python -m services.tools.seed [--if-empty]``: load the CRM's demo data (``make seed``).

Without ``--if-empty`` it replaces whatever the CRM holds; ``make up`` passes ``--if-empty`` so
only the first start seeds. Uses ``DATABASE_URL`` and ``TOOLS_DB_SCHEMA`` like the service.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from services.tools.seed.loader import seed_crm
from services.tools.settings import ToolsSettings


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m services.tools.seed", description=__doc__)
    parser.add_argument("--if-empty", action="store_true", help="seed only an empty CRM")
    parser.add_argument("--seed", type=int, default=5, help="random seed (same seed, same data)")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=50_000)
    args = parser.parse_args()
    settings = ToolsSettings()
    report = asyncio.run(
        seed_crm(
            settings.postgres,
            settings.db_schema,
            seed=args.seed,
            if_empty=args.if_empty,
            customers=args.customers,
            orders=args.orders,
            now=datetime.now(UTC),
        )
    )
    if not report.seeded:
        print(f"CRM schema {settings.db_schema!r} already holds data; not seeded")
        return 0
    rows = ", ".join(f"{table} {count:,}" for table, count in report.counts.items())
    print(f"CRM schema {settings.db_schema!r} seeded in {report.seconds:.1f} s: {rows}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
