"""``make bench``: run every benchmark and print its figures (copy them into BENCHMARKS.md)."""

import asyncio

from bench import analytics, backbone, dashboard, echo, escalation, llm, tools, voice

if __name__ == "__main__":
    asyncio.run(backbone.main())
    asyncio.run(tools.main())
    asyncio.run(analytics.main())
    asyncio.run(dashboard.main())
    asyncio.run(escalation.main())
    asyncio.run(voice.main())
    asyncio.run(echo.main())
    asyncio.run(llm.main())
