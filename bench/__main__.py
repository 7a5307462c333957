"""``make bench``: run every benchmark and print its figures (copy them into BENCHMARKS.md)."""

import asyncio

from bench import analytics, backbone, dashboard, echo, escalation, llm, soak, tools, voice

if __name__ == "__main__":
    asyncio.run(backbone.main())
    asyncio.run(tools.main())
    asyncio.run(analytics.main())
    asyncio.run(dashboard.main())
    asyncio.run(escalation.main())
    asyncio.run(voice.main())
    asyncio.run(echo.main())
    asyncio.run(soak.main(["--sessions", "20", "--minutes", "2"]))  # make soak: 10 min
    asyncio.run(llm.main())
