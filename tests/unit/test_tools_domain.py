"""Pure rules of the tools service: order decisions, stats, registry resolution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.tools.domain.orders import (
    address_change_decision,
    cancel_decision,
    money,
    phone_digits,
    return_decision,
)
from services.tools.domain.registry import ToolRegistry
from services.tools.domain.stats import ToolStats, percentile
from shared.lines import HttpCall, SupportLine, ToolSpec, load_tool_specs

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def test_cancel_and_readdress_only_before_shipment() -> None:
    assert cancel_decision("processing").allowed and address_change_decision("placed").allowed
    assert cancel_decision("in_transit").reason == "already shipped"
    assert address_change_decision("delivered").reason == "already delivered"
    assert not cancel_decision("cancelled").allowed


def test_returns_within_thirty_days_of_delivery() -> None:
    assert return_decision("delivered", NOW - timedelta(days=29), NOW).allowed
    assert "30 days" in return_decision("delivered", NOW - timedelta(days=31), NOW).reason
    assert not return_decision("in_transit", None, NOW).allowed
    assert not return_decision("returned", NOW, NOW).allowed


def test_money_and_phone_formats() -> None:
    assert money(12900) == "$129.00" and money(123456) == "$1,234.56"
    assert phone_digits("+1 (415) 555-0142") == "4155550142"


def test_stats_count_statuses_and_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile(list(range(1, 101)), 95) == 95
    stats = ToolStats(window=3)
    for status, ms in (("ok", 5), ("error", 7), ("timeout", 4000), ("ok", 9)):
        stats.record("order_status", status, ms)
    snap = stats.snapshot()["order_status"]
    assert (snap["calls"], snap["ok"], snap["errors"], snap["timeouts"]) == (4, 2, 1, 1)
    assert snap["window"] == 3 and snap["p50_ms"] == 9


def test_a_line_sees_only_its_tools_and_its_inline_http_tool() -> None:
    specs = load_tool_specs()
    inline = ToolSpec(
        name="loyalty_points",
        description="Points balance",
        backend="http",
        http=HttpCall(url="http://127.0.0.1:1/points/{customer_id}"),
    )
    line = SupportLine(line_id="shop-b", name="B", tools=[specs["order_status"], inline])
    registry = ToolRegistry(specs, {"shop-b": line})
    assert registry.resolve("loyalty_points", "shop-b") is not None
    assert registry.resolve("loyalty_points", "") is None
    assert registry.resolve("cancel_order", "shop-b") is None
    assert registry.resolve("cancel_order", "") is not None
    status = registry.resolve("order_status", "shop-b")
    assert status is not None and status.backend_key == "crm"
    points = registry.resolve("loyalty_points", "shop-b")
    assert points is not None and points.backend_key == "http:shop-b:loyalty_points"
